"""The window's queue (``QueueController``) on the engines of ``fake_engines.py``: its rules in unit tests.

The model files are the tiny synthetic pair, installed in the test's store (the queue needs a default model);
nothing loads them. Captions are made by the fake's scripts, so each test knows what each image gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytestqt.qtbot import QtBot

from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.queue_controller import QueueController
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.settings import AppSettings
from tests.support.fake_engines import FakeEngines

WAIT_MS = 10_000  # the fake answers at once: this only bounds a test that went wrong


@contextmanager
def fake_queue(engines: FakeEngines, store: ModelStore, *, start_when_added: bool = True,
               **settings: object) -> Iterator[QueueController]:
    """A queue as the window makes it, its engine prepared; closed (threads ended) after the block."""
    chosen = AppSettings()
    chosen.language = "en"
    chosen.max_tokens = 32
    chosen.seed = 7
    chosen.start_when_added = start_when_added
    for name, value in settings.items():
        setattr(chosen, name, value)
    queue = QueueController(chosen, store, engines=engines)
    queue.engine.prepare()
    try:
        yield queue
    finally:
        engines.let_go()
        queue.shutdown()
        queue.deleteLater()


def loaded(qtbot: QtBot, queue: QueueController) -> None:
    qtbot.waitUntil(lambda: queue.engine_info is not None, timeout=WAIT_MS)


def all_finished(queue: QueueController, count: int) -> bool:
    entries = queue.queue.entries
    return len(entries) == count and not queue.running and all(e.state in (State.DONE, State.FAILED)
                                                                 for e in entries)


def wait_finished(qtbot: QtBot, queue: QueueController, count: int) -> None:
    qtbot.waitUntil(lambda: all_finished(queue, count), timeout=WAIT_MS)


def states(queue: QueueController) -> dict[str, State]:
    return {e.item.file_name: e.state for e in queue.queue.entries}


def row_of(queue: QueueController, path: Path) -> int:
    row = queue.queue.row_of(path)
    assert row is not None, path
    return row
