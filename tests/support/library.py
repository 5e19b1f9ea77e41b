"""Captions made and journaled as a run of the app makes them, on the fake engine, for the tests of what the app
does later with the captions on disk (exports, descriptions, history); and the window that shows them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.journal import Journal, journaled
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.settings import AppSettings
from tests.support.fake_engine import FakeEngine, Script
from tests.support.fake_engines import FakeEngines, engine_info
from tests.support.fake_queue import WAIT_MS
from tests.support.jobs import options


def made_engine(tmp_path: Path, scripts: dict[str, Script] | None = None) -> FakeEngine:
    """A fake engine that says it loaded a (tiny, real) model pair, so its records carry provenance."""
    weights = tmp_path / "weights"
    weights.mkdir(exist_ok=True)
    model, mmproj = weights / "CapRL-3B.Q4_K_M.gguf", weights / "CapRL-3B.mmproj-f16.gguf"
    model.write_bytes(b"model")
    mmproj.write_bytes(b"projector")
    return FakeEngine(scripts=scripts if scripts is not None else {},
                      info=engine_info(EngineConfig(str(model), str(mmproj))))


def caption(journal: Journal, engine: FakeEngine, items: list[ImageItem], *, overwrite: bool = False) -> int:
    """Caption ``items`` as one journaled run (Japanese prompt, model label "tiny"); returns its number."""
    chosen = options(overwrite=overwrite)
    job = journal.create(items, chosen)
    list(journaled(run_job(items, chosen, engine), journal, job))
    return job


@contextmanager
def library_window(qtbot: QtBot, engines: FakeEngines, store: ModelStore, **settings: object) -> Iterator[MainWindow]:
    """A window on the fake engines, shown, as a user opens it another day: images added wait for Start (the
    folder is the library, not a run); closed, its threads ended, after the block."""
    chosen = AppSettings()
    chosen.language = "en"
    chosen.max_tokens = 32
    chosen.seed = 7
    chosen.start_when_added = False
    for name, value in settings.items():
        setattr(chosen, name, value)
    window = MainWindow(chosen, store, engines=engines)
    qtbot.addWidget(window)
    window.resize(1100, 760)
    window.show()
    try:
        yield window
    finally:
        engines.let_go()
        window.close()


def select(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    """Click the image's row in the list, as a user does."""
    row = window.queue.row_of(path)
    assert row is not None, path
    index = window.proxy.mapFromSource(window.queue.index(row))
    window.list_view.scrollTo(index)
    rect = window.list_view.visualRect(index)
    qtbot.mouseClick(window.list_view.viewport(), Qt.MouseButton.LeftButton,  # type: ignore[no-untyped-call]
                     pos=rect.center())
    assert window.panel.path == path


def type_caption(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Replace the caption on display by typing, and let it be saved (as the save delay would)."""
    editor = window.panel.editor
    qtbot.waitUntil(lambda: not editor.isReadOnly(), timeout=WAIT_MS)
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)  # type: ignore[no-untyped-call]
    qtbot.keyClicks(editor, text)  # type: ignore[no-untyped-call]
    window.panel.flush()
