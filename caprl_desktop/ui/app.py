"""Starting the desktop app: the QApplication, the one error dialog for anything unexpected, the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QObject, QTranslator
from PySide6.QtGui import QFileOpenEvent, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from caprl_desktop import __version__
from caprl_desktop.core.app_log import log_path, previous_crash, start_logging
from caprl_desktop.core.integration import ICONS
from caprl_desktop.core.integration.windows_process import set_taskbar_identity
from caprl_desktop.ui import language as language_module
from caprl_desktop.ui.errors import ErrorReporter
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.single_instance import SingleInstance

TRANSLATIONS = Path(__file__).resolve().parent / "i18n"


def show_error(summary: str, details: str) -> None:
    """The one dialog for an unexpected error; runs on the GUI thread (``ErrorReporter.reported``)."""
    box = QMessageBox(QMessageBox.Icon.Critical, "CapRL Desktop",
                      QCoreApplication.translate("app", "Something went wrong: {}").format(summary))
    box.setInformativeText(QCoreApplication.translate("app", "The details are in {}").format(log_path("gui")))
    box.setDetailedText(details)
    box.exec()


def interface_language(choice: str) -> str:
    """"en" or "ja": the setting, or for "system" the system's UI language when we have it, else English."""
    if choice in ("en", "ja"):
        return choice
    languages = QLocale.system().uiLanguages() or [QLocale.system().name()]
    return "ja" if languages[0].lower().startswith("ja") else "en"


def install_translators(app: QApplication, choice: str = "system") -> str:
    """Translate the interface (ours, and Qt's own buttons and file dialogs); returns the language used."""
    language = interface_language(choice)
    language_module.remember(app, "en")
    if language == "en":
        return language
    ours = QTranslator(app)
    if not ours.load(str(TRANSLATIONS / f"caprl_desktop_{language}.qm")):
        return "en"
    app.installTranslator(ours)
    language_module.remember(app, language)
    qt = QTranslator(app)
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
    return language


class FileOpenForwarder(QObject):
    """macOS hands files dropped on the Dock icon (or opened with the app from Finder) to the application as
    ``QFileOpenEvent``s, not as arguments: they join the window's queue like a drop."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self._window.add_paths([Path(path)])
            return True
        return False


def run_gui(arguments: Sequence[str] = ()) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("CapRL Desktop")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("caprl-desktop")
    app.setDesktopFileName("caprl-desktop")  # Wayland/X11 match the window to the installed menu entry
    app.setWindowIcon(QIcon(str(ICONS / "caprl-desktop-256.png")))
    set_taskbar_identity()  # before the first window: Windows reads it when the taskbar button is made
    start_logging("gui")
    reporter = ErrorReporter(app)
    reporter.reported.connect(show_error)
    reporter.install()
    instance = SingleInstance(app)
    if not instance.claim():
        # A window is running: it takes the paths (joining its queue) and this launch ends here.
        if instance.hand_over(list(arguments)):
            return 0
        message = QCoreApplication.translate(
            "app", "CapRL Desktop is already running but does not answer, so these images were not added: {}. "
                   "Close it (or wait for it to finish starting) and try again.").format(", ".join(arguments) or "-")
        if sys.stderr is not None:
            print(f"caprl-desktop: {message}", file=sys.stderr)
        # Under pythonw (a file-manager launch on Windows) there is no stderr: a dialog is all the user sees.
        QMessageBox.warning(None, "CapRL Desktop", message)
        return 1
    # Listen at once: Explorer starts one process per selected file, and those arriving while the window is
    # still being built must not wait past their time-out. What arrives early waits in ``early``.
    early: list[Path] = []

    def keep_early(paths: list[Path]) -> None:
        early.extend(paths)

    instance.pathsReceived.connect(keep_early)
    instance.listen()
    settings = AppSettings()
    install_translators(app, settings.interface_language)
    window = MainWindow(settings)
    app.installEventFilter(FileOpenForwarder(window))
    instance.pathsReceived.disconnect(keep_early)
    instance.pathsReceived.connect(window.receive_paths)
    window.show()
    crash = previous_crash()
    if crash is not None:
        window.offer_crash_report(crash)
    window.add_paths([Path(a) for a in arguments], start=True)  # asked for from the command line or a file manager
    if early:
        window.receive_paths(early)
    if not window.controller.uses_servers and window.controller.engine_config() is None:
        window.show_models()  # first run
    return app.exec()
