"""Starting the desktop app: the QApplication, the one error dialog for anything unexpected, the window."""

from __future__ import annotations

import datetime
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QApplication, QMessageBox

from caprl_desktop import __version__
from caprl_desktop.core import paths
from caprl_desktop.ui.main_window import MainWindow

TRANSLATIONS = Path(__file__).resolve().parent / "i18n"


def write_crash_log(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> Path | None:
    folder = paths.log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"gui-error-{datetime.datetime.now():%Y%m%d-%H%M%S}.log"
        path.write_text(f"CapRL Desktop {__version__}\n" + "".join(traceback.format_exception(kind, value, tb)),
                        encoding="utf-8")
        return path
    except OSError:
        return None


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An unexpected error ends in one dialog with the details and a log file, not a silent exit."""
    log = write_crash_log(kind, value, tb)
    details = "".join(traceback.format_exception(kind, value, tb))
    if sys.__stderr__ is not None:
        sys.__stderr__.write(details)
    app = QApplication.instance()
    if app is None:
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "CapRL Desktop",
                      QCoreApplication.translate("app", "Something went wrong: {}").format(value))
    if log is not None:
        box.setInformativeText(QCoreApplication.translate("app", "The details are in {}").format(log))
    box.setDetailedText(details)
    box.exec()


def install_translator(app: QApplication, language: str | None = None) -> QTranslator | None:
    """Load the interface translation for ``language`` (default: the system's); None for English."""
    name = language or QLocale.system().name()
    if not name.startswith("ja"):
        return None
    translator = QTranslator(app)
    if translator.load(str(TRANSLATIONS / "caprl_desktop_ja.qm")):
        app.installTranslator(translator)
        return translator
    return None


def run_gui(arguments: Sequence[str] = ()) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("CapRL Desktop")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("caprl-desktop")
    sys.excepthook = _excepthook
    install_translator(app)
    window = MainWindow()
    window.show()
    window.add_paths([Path(a) for a in arguments])
    if window.engine_config() is None:
        window.show_models()  # first run
    return app.exec()
