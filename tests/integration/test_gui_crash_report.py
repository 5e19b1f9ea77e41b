"""The window's previous process ended in a native crash: the next start says so and copies a report of it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caprl_desktop.ui import app
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.single_instance import SingleInstance

_CRASH = "from caprl_desktop.core.app_log import start_logging; start_logging('gui'); " \
         "import faulthandler; faulthandler._sigsegv()"


def test_the_start_after_a_crash_offers_a_report_with_the_crash_in_it(
    qtbot: QtBot, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = subprocess.run([sys.executable, "-c", _CRASH], capture_output=True, timeout=60, env=os.environ.copy())
    assert crashed.returncode != 0
    windows: list[MainWindow] = []

    class Window(MainWindow):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            windows.append(self)

    # The app's own start, up to its event loop: the window it makes is the one looked at here.
    monkeypatch.setattr(app, "MainWindow", Window)
    monkeypatch.setattr(QApplication, "exec", lambda *args: 0)
    # What the start installs for the app's life is put back for the tests after this one.
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    assert app.run_gui([]) == 0
    [window] = windows
    qtbot.addWidget(window)
    bar = window.crash_bar
    assert bar.isVisible() and "closed unexpectedly last time" in bar.label.text()
    assert "gui-native-crash-" in bar.label.toolTip()

    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(window.help.reportCopied, timeout=60_000) as copied:
        qtbot.mouseClick(bar.button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    report = copied.args[0]
    assert "Fatal Python error: Segmentation fault" in report and "[crash]" in report
    assert "[llama.cpp]" in report  # the doctor report is there too
    assert QGuiApplication.clipboard().text() == report
    assert not bar.isVisible()
    window.close()
    for instance in QApplication.instance().findChildren(SingleInstance):  # type: ignore[union-attr]
        instance.deleteLater()
