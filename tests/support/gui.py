"""Driving the window in tests: real drag-and-drop events, waiting for captions, reading rows, answering
the window's questions with real clicks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import State

CAPTION_TIMEOUT_MS = 60_000


def open_window(qtbot: QtBot) -> MainWindow:
    """A window as the app opens it, shown, once its engine has loaded the default model."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.controller.engine_info is not None, timeout=CAPTION_TIMEOUT_MS)
    return window


def drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def wait_all_finished(qtbot: QtBot, window: MainWindow, count: int) -> None:
    def finished() -> bool:
        entries = window.queue.entries
        return len(entries) == count and all(e.state in (State.DONE, State.FAILED) for e in entries) \
            and not window.controller.running
    qtbot.waitUntil(finished, timeout=CAPTION_TIMEOUT_MS)


def shown(text: str) -> str:
    """How a text edit shows ``text``: random-weight captions can hold a CR, which Qt shows as a line break."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n")


def states(window: MainWindow) -> dict[str, State]:
    return {e.item.file_name: e.state for e in window.queue.entries}


T = TypeVar("T")


class Seen(list[T]):
    """What a look at the next dialog found; ``stop()`` ends the look at once (a test that expects no dialog
    stops it as soon as the dialog would have been shown, rather than waiting out the deadline)."""

    stopped = False

    def stop(self) -> None:
        self.stopped = True


def on_next_dialog(kind: type[QDialog], act: Callable[[QDialog], None], *, within_s: float = 30.0,
                   stop_with: Seen[str] | None = None) -> Seen[QDialog]:
    """Call ``act`` on the next modal dialog of ``kind`` the window opens (``exec`` blocks the test until it is
    answered, so the answer is given from the event loop). Returns a list that holds the dialog once acted on;
    it stays empty when none opened within ``within_s`` or before ``stop()`` (of it, or of ``stop_with``)."""
    seen: Seen[QDialog] = Seen()
    deadline = time.monotonic() + within_s

    def look() -> None:
        if seen.stopped or (stop_with is not None and stop_with.stopped):
            return
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind) or not dialog.isVisible():
            # Looking stops at the deadline: a look still going later could answer the next test's dialog.
            if time.monotonic() < deadline:
                QTimer.singleShot(20, look)
            return
        seen.append(dialog)
        try:
            act(dialog)
        except BaseException:
            dialog.reject()  # a failed check must end the test, not leave it waiting on the dialog for ever
            raise

    QTimer.singleShot(0, look)
    return seen


def answer(qtbot: QtBot, button: str, *, within_s: float = 30.0) -> Seen[str]:
    """Click ``button`` (by its text) in the next message box the window opens, as a user would.

    Returns a list that holds the box's text and informative text once it was answered; it stays empty
    when no box opened within ``within_s`` or before ``stop()`` (so a test can say that none was asked)."""
    seen: Seen[str] = Seen()

    def click(box: QDialog) -> None:
        assert isinstance(box, QMessageBox)
        [chosen] = [b for b in box.buttons() if b.text() == button]
        seen.extend([box.text(), box.informativeText()])
        qtbot.mouseClick(chosen, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]

    on_next_dialog(QMessageBox, click, within_s=within_s, stop_with=seen)
    return seen
