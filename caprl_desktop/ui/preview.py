"""The selected image, large: scaled to fit, loaded off the GUI thread, redrawn when the window resizes.

The label never asks for the picture's size (its size policy ignores the pixmap), so moving a splitter can make
it smaller and the picture follows, instead of spilling past the window's edge. On a high-DPI screen the picture
is loaded and scaled in device pixels, so it stays sharp."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from caprl_desktop.ui.queue_model import ImageLoader

PREVIEW_SIZE = 720


class Preview(QLabel):
    def __init__(self, loader: ImageLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(200, 150)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.path: Path | None = None
        self._loader = loader
        loader.loaded.connect(self._loaded)

    def show_image(self, path: Path | None) -> None:
        self.path = path
        if path is None:
            self.clear()
            return
        pixmap = self._loader.get(path, self._load_size())
        if pixmap is None:
            self.setText(self.tr("Loading…"))  # until ``loaded`` says it is there
        elif pixmap.isNull():
            self.setText(self.tr("This image cannot be shown."))
        else:
            ratio = self.devicePixelRatioF()
            scaled = pixmap.scaled(self.size() * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
            scaled.setDevicePixelRatio(ratio)
            self.setPixmap(scaled)

    def _load_size(self) -> int:
        return PREVIEW_SIZE * max(1, math.ceil(self.devicePixelRatioF()))

    def _loaded(self, path: str, size: int) -> None:
        if size == self._load_size() and self.path is not None and str(self.path) == path:
            self.show_image(self.path)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.path is not None:
            self.show_image(self.path)
