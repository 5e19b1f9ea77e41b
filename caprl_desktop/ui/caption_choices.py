"""The caption's language, preset and prompt, above the caption they shape; each change is remembered.

Language and preset share a row; the custom prompt, when chosen, has a line of its own below them, so the row
never runs off the edge of a narrow window."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from caprl_desktop.core.prompts import LANGUAGES, PRESETS, Language
from caprl_desktop.ui.settings import AppSettings

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


class CaptionChoices(QWidget):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        lines = QVBoxLayout(self)
        lines.setContentsMargins(4, 0, 4, 0)  # in line with the caption panel below
        row = QHBoxLayout()
        lines.addLayout(row)
        row.addWidget(QLabel(self.tr("Caption language")))
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("languageCombo")
        for code in LANGUAGES:
            self.language_combo.addItem(LANGUAGE_NAMES[code], code)
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(settings.language)))
        self.language_combo.currentIndexChanged.connect(self._changed)
        row.addWidget(self.language_combo)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        names = {"detailed": self.tr("Detailed description"), "short": self.tr("One sentence"),
                 "text": self.tr("Transcribe text")}
        for preset in PRESETS:
            self.preset_combo.addItem(names[preset], preset)
        self.preset_combo.addItem(self.tr("Custom prompt"), "custom")
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(settings.preset or "custom")))
        self.preset_combo.currentIndexChanged.connect(self._changed)
        row.addWidget(self.preset_combo)
        row.addStretch(1)
        self.prompt_edit = QLineEdit(settings.custom_prompt)
        self.prompt_edit.setObjectName("customPrompt")
        self.prompt_edit.setPlaceholderText(self.tr("Your prompt"))
        self.prompt_edit.editingFinished.connect(self._changed)
        lines.addWidget(self.prompt_edit)
        self._changed()

    @property
    def language(self) -> Language:
        value: Language = self.language_combo.currentData()
        return value

    def _changed(self) -> None:
        preset = self.preset_combo.currentData()
        self.prompt_edit.setVisible(preset == "custom")
        # The next job reads them from the settings (as ``AppSettings.choices``), so they are stored at once.
        self._settings.language = self.language
        self._settings.preset = None if preset == "custom" else preset
        self._settings.custom_prompt = self.prompt_edit.text()
