"""The whole window on the engines of ``fake_engines.py``: its rows, bars, status bar and questions, driven by real
events, in unit tests (no llama.cpp; the captions are the fake's scripts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.settings import AppSettings
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS


@contextmanager
def fake_window(qtbot: QtBot, engines: FakeEngines, store: ModelStore, *, start_when_added: bool = True,
                **settings: object) -> Iterator[MainWindow]:
    """A window as the app opens it (shown, 1000×700), its engine loaded; closed (threads ended) after the block."""
    chosen = AppSettings()
    chosen.language = "en"
    chosen.max_tokens = 32
    chosen.seed = 7
    chosen.start_when_added = start_when_added
    for name, value in settings.items():
        setattr(chosen, name, value)
    chosen.sync()
    window = MainWindow(chosen, store, engines=engines)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitUntil(lambda: window.controller.engine_info is not None, timeout=WAIT_MS)
    try:
        yield window
    finally:
        engines.let_go()
        window.close()


def row_text(window: MainWindow, row: int) -> str:
    """What a row says under its name ("Paused", "Done · cut off", "Failed: …")."""
    return window.queue.state_text(window.queue.entry(row))


def click_toolbar(qtbot: QtBot, window: MainWindow, action: QAction) -> None:
    """Click an action's button on the toolbar (Start, Pause, Cancel), as a user would."""
    toolbar = window.findChild(QToolBar, "captionToolbar")
    assert toolbar is not None
    button = toolbar.widgetForAction(action)
    assert button is not None and button.isEnabled(), action.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
