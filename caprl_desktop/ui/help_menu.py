"""The Help menu: About (versions and the backend in use), the keyboard shortcuts, and "Report a problem".

"Report a problem" copies what ``caprl-desktop doctor`` prints to the clipboard, ready to paste into a report
(after a native crash, the crash's stack with it: ``report_problem(crash=...)``).
Gathering it asks a probe process which backend llama.cpp has (a few seconds), so it runs on a pool thread;
model checksums are left out (minutes for large files; the command line's ``doctor`` has them).
"""

from __future__ import annotations

import html
import importlib.metadata
import platform
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox

from caprl_desktop import __version__
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import EngineInfo


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class _Signals(QObject):
    done = Signal(str)


class _Report(QRunnable):
    def __init__(self, signals: _Signals, crash: str) -> None:
        super().__init__()
        self._signals = signals
        self._crash = crash

    def run(self) -> None:
        # Imported here: the report's modules (huggingface-hub among them) would slow every start of the window.
        from caprl_desktop.core.diagnostics import report

        lines = [f"[{section}] {line}" for section, line in report(checksums=False)]
        if self._crash:
            lines += ["", "[crash] how CapRL Desktop ended last time:", self._crash.rstrip()]
        self._signals.done.emit("\n".join(lines))


class HelpMenu(QObject):
    reportCopied = Signal(str)  # the report, once it is on the clipboard

    def __init__(self, window: QMainWindow, engine_info: Callable[[], EngineInfo | RemoteInfo | None]) -> None:
        super().__init__(window)
        self._window = window
        self._engine_info = engine_info
        self._pool = QThreadPool(self)
        self._signals = _Signals(self)
        self._signals.done.connect(self._copy)
        menu = window.menuBar().addMenu(self.tr("&Help"))
        self.about_action = QAction(self.tr("About CapRL Desktop"), window)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(
            lambda: QMessageBox.about(window, self.tr("About CapRL Desktop"), self.about_text()))
        self.shortcuts_action = QAction(self.tr("Keyboard shortcuts"), window)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.report_action = QAction(self.tr("Report a problem (copy a report)"), window)
        self.report_action.triggered.connect(lambda: self.report_problem())
        for action in (self.about_action, self.shortcuts_action, self.report_action):
            menu.addAction(action)

    def about_text(self) -> str:
        info = self._engine_info()
        backend = self.tr("no model loaded yet") if info is None else info.line if isinstance(info, RemoteInfo) \
            else info.backend_line
        return "\n".join([
            self.tr("CapRL Desktop {}: image captions with CapRL on this computer.").format(__version__),
            "",
            f"llama-cpp-python {_version('llama-cpp-python')} · PySide6 {_version('PySide6-Essentials')} · "
            f"Python {platform.python_version()}",
            self.tr("Engine: {}").format(backend),
        ])

    def shortcuts(self) -> list[tuple[str, str]]:
        """Every action of the window that has a shortcut, as the menus show it (never a list kept by hand):
        (keys, what it does)."""
        rows = []
        for action in self._window.actions():
            keys = action.shortcut()
            if not keys.isEmpty():
                rows.append((keys.toString(QKeySequence.SequenceFormat.NativeText),
                             action.text().replace("&", "").rstrip("…")))
        return rows

    def shortcuts_text(self) -> str:
        """The shortcuts as a table, keys in one column and what they do in the next (a tab in a message box's
        plain text ran them together)."""
        cells = "".join(f"<tr><td style='padding-right: 16px'><b>{html.escape(keys)}</b></td>"
                        f"<td>{html.escape(name)}</td></tr>" for keys, name in self.shortcuts())
        return f"<table>{cells}</table>"

    def show_shortcuts(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.NoIcon, self.tr("Keyboard shortcuts"), self.shortcuts_text(),
                          QMessageBox.StandardButton.Ok, self._window)
        box.setObjectName("shortcutsBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()  # (not modal to the app: the shortcuts can be tried while it is open)
        return box

    def report_problem(self, crash: str = "") -> None:
        self._window.statusBar().showMessage(self.tr("Gathering a report for a problem…"), 10000)
        self._pool.start(_Report(self._signals, crash))

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self._window.statusBar().showMessage(
            self.tr("The report is on the clipboard: paste it into your problem report."), 15000)
        self.reportCopied.emit(text)

    def wait(self) -> None:
        self._pool.waitForDone()
