"""Paste: the files on the clipboard, or an image on it saved as a PNG in the app's data folder."""

from __future__ import annotations

import datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication, QImage

from caprl_desktop.core import paths


class PasteError(Exception):
    """What to tell the user: nothing to paste, or the image could not be saved."""


def pasted_paths() -> list[Path]:
    clipboard = QGuiApplication.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasUrls():
        return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
    image: QImage = clipboard.image()
    if image.isNull():
        raise PasteError(QCoreApplication.translate("clipboard", "The clipboard holds no image."))
    # A file of its own, so the caption has an image beside it and the list a path like any other.
    folder = paths.data_dir() / "pasted"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"pasted-{datetime.datetime.now():%Y%m%d-%H%M%S-%f}.png"
    if not image.save(str(target), b"PNG"):
        raise PasteError(QCoreApplication.translate(
            "clipboard", "The pasted image could not be saved in {}").format(folder))
    return [target]
