"""The window's one path for unexpected errors: logged with their traceback, reported on the GUI thread.

An exception nobody foresaw may be raised on any thread: the GUI thread's event handlers, the caption
worker's thread, a plain Python thread. Whatever the thread, it is written to the app log first
(``core/app_log.py``), then handed to the GUI thread through a queued signal, where the window shows one
dialog; no other thread ever touches a widget. Worker slots catch what they can and end their job with the
error shown on the items (``describe()``), so the window is never left "running".
"""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from caprl_desktop.core.app_log import log_path, log_unexpected


def describe(exc: BaseException, where: str) -> str:
    """Log ``exc`` and return the one line the user sees in its place."""
    log_unexpected(type(exc), exc, exc.__traceback__, where=where)
    return f"unexpected error ({type(exc).__name__}: {exc}); the details are in {log_path('gui')}"


class ErrorReporter(QObject):
    """Installed as ``sys.excepthook`` and ``threading.excepthook``; lives on the GUI thread."""

    reported = Signal(str, str)  # the sentence, the traceback

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log_unexpected(kind, value, tb, where=threading.current_thread().name)
        details = "".join(traceback.format_exception(kind, value, tb))
        if sys.__stderr__ is not None:
            sys.__stderr__.write(details)
        # Emitted from any thread; delivered on the GUI thread (this object's), where the dialog is made.
        self.reported.emit(f"{type(value).__name__}: {value}", details)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)
