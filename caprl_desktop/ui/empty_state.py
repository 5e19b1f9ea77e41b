"""What the list shows before any image is added: what to do, and two buttons to do it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from caprl_desktop.core.images.formats import FORMAT_NAMES


class EmptyState(QWidget):
    openFiles = Signal()
    openFolder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.label = QLabel(self.tr("Drop images or folders here"))
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)  # wraps in a narrow list instead of holding the window wide
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.label.setFont(font)
        hint = QLabel(self.tr("{formats} · captions are saved beside each image as .txt").format(
            formats=FORMAT_NAMES))  # from the one list, so a new type shows here too
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setEnabled(False)
        open_files = QPushButton(self.tr("Open images…"))
        open_files.clicked.connect(self.openFiles)
        open_folder = QPushButton(self.tr("Open folder…"))
        open_folder.clicked.connect(self.openFolder)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_files)
        buttons.addWidget(open_folder)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        layout.addStretch(1)
