"""The caption's history under the caption panel's editor: Undo, Revert to the model's caption, the caption a
re-caption replaced beside the new one, and every version the journal keeps (``core/jobs/history.py``).

It only shows and asks: ``putBack`` hands the panel a caption to save (with the kind of change it is, which the
journal records), and the history comes from the journal off the GUI thread (``ui/caption_history.py``), so
Undo works the same after switching images or restarting the app.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.jobs.history import CaptionHistory, Version

PREVIEW_CHARS = 90  # of each version in the list (the whole text is its tooltip)


def when_text(iso: str) -> str:
    """An ISO time as a date and time on this computer's clock, "2026-11-03 14:05" ("" for none): one form read
    the same in every language."""
    moment = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    return moment.toLocalTime().toString("yyyy-MM-dd HH:mm") if moment.isValid() else ""


class CaptionVersions(QWidget):
    putBack = Signal(str, str)  # the caption to save, and its kind ("undo", "revert")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: CaptionHistory | None = None
        self.undo_button = QPushButton(self.tr("Undo change"))
        self.undo_button.setObjectName("captionUndo")
        self.undo_button.clicked.connect(self._undo)
        self.revert_button = QPushButton(self.tr("Revert to the model's caption"))
        self.revert_button.setObjectName("captionRevert")
        self.revert_button.clicked.connect(self._revert)
        self.edited = QLabel()  # "Edited by hand · 3 Nov 14:05"
        self.edited.setObjectName("captionEdited")

        self.replaced_label = QLabel(self.tr("Before the re-caption:"))
        self.replaced = QPlainTextEdit()
        self.replaced.setObjectName("captionReplaced")
        self.replaced.setReadOnly(True)
        self.replaced.setMaximumHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.put_back_button = QPushButton(self.tr("Put it back"))
        self.put_back_button.setObjectName("captionPutBack")
        self.put_back_button.clicked.connect(self._undo)

        self.list_button = QToolButton()
        self.list_button.setObjectName("captionHistoryToggle")
        self.list_button.setText(self.tr("History"))
        self.list_button.setCheckable(True)
        self.list_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.list_button.setArrowType(Qt.ArrowType.RightArrow)
        self.list_button.toggled.connect(self._toggle_list)
        self.versions = QListWidget()
        self.versions.setObjectName("captionHistory")
        self.versions.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        self.versions.hide()

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.edited)
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.revert_button)
        replaced_row = QHBoxLayout()
        replaced_row.setContentsMargins(0, 0, 0, 0)
        replaced_row.addWidget(self.replaced, 1)
        replaced_row.addWidget(self.put_back_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.replaced_label)
        layout.addLayout(replaced_row)
        layout.addWidget(self.list_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.versions)
        self.show_history(None)

    def show_history(self, history: CaptionHistory | None) -> None:
        """Show ``history`` (None: not known, or no caption): the buttons are offered only where they do
        something."""
        self.history = history
        previous = history.previous if history is not None else None
        model = history.model_caption if history is not None else None
        edited = history is not None and history.edited_by_hand
        self.undo_button.setEnabled(previous is not None)
        self.undo_button.setToolTip(self.tr("Put back the caption before the last change: {}").format(
            _short(previous)) if previous is not None else "")
        self.revert_button.setVisible(edited)
        self.revert_button.setToolTip(self.tr("The model's caption: {}").format(_short(model)) if model else "")
        when = when_text(history.edited_at) if history is not None and edited else ""
        self.edited.setText((self.tr("Edited by hand · {}").format(when) if when else self.tr("Edited by hand"))
                            if edited else "")
        replaced = history.replaced if history is not None else None
        for widget in (self.replaced_label, self.replaced, self.put_back_button):
            widget.setVisible(replaced is not None)
        self.replaced.setPlainText(replaced or "")
        self.versions.clear()
        for version in reversed(history.versions if history is not None else ()):
            entry = QListWidgetItem(f"{self.kind_text(version)} — {_short(version.caption, PREVIEW_CHARS)}")
            entry.setToolTip(version.caption)
            self.versions.addItem(entry)
        self.list_button.setEnabled(self.versions.count() > 0)

    def kind_text(self, version: Version) -> str:
        """"Made by the model · run 4 · 3 Nov 14:02", "Edited by hand · 14:05", …"""
        kinds = {"model": self.tr("Made by the model"), "edit": self.tr("Edited by hand"),
                 "revert": self.tr("Reverted to the model's caption"), "undo": self.tr("Put back"),
                 "disk": self.tr("Found on disk")}
        parts = [kinds[version.kind]]
        if version.kind == "model" and version.job_id is not None:
            parts.append(self.tr("run {}").format(version.job_id))
        if when := when_text(version.when):
            parts.append(when)
        return " · ".join(parts)

    def _undo(self) -> None:
        previous = self.history.previous if self.history is not None else None
        if previous is not None:
            self.putBack.emit(previous, "undo")

    def _revert(self) -> None:
        model = self.history.model_caption if self.history is not None else None
        if model is not None:
            self.putBack.emit(model, "revert")

    def _toggle_list(self, shown: bool) -> None:
        self.versions.setVisible(shown)
        self.list_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


def _short(text: str | None, limit: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
