"""The interface's language as the app installed it, for texts that come as data in both languages.

Qt's translators cover the strings in the code; a model family's description lives in the catalog (data),
in English and Japanese, and is picked with this.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

_PROPERTY = "caprlInterfaceLanguage"


def remember(app: QCoreApplication, language: str) -> None:
    app.setProperty(_PROPERTY, language)


def current() -> str:
    """"ja" when the Japanese interface is installed, else "en"."""
    app = QCoreApplication.instance()
    value = app.property(_PROPERTY) if app is not None else None
    return value if value in ("en", "ja") else "en"
