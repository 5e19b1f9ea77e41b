"""A bar above the image list that says one thing, offers one action and can be hidden (resume, cannot save)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class MessageBar(QFrame):
    """Hidden until ``show_message``; ``button`` is the action, the other button only hides the bar."""

    def __init__(self, name: str, action: str, dismiss: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton(action)
        self.dismiss_button = QPushButton(dismiss)
        self.dismiss_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def show_message(self, text: str, tooltip: str = "") -> None:
        self.label.setText(text)
        self.label.setToolTip(tooltip)
        self.show()
