"""The window's remembered choices, in an INI file in the app's config folder (tests point it at tmp)."""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from caprl_desktop.core import paths
from caprl_desktop.core.params import DEFAULT_IMAGE_BUDGET, IMAGE_BUDGET_PRESETS, GenerationParams
from caprl_desktop.core.prompts import LANGUAGES, PRESETS, Language, PresetName, default_language

T = TypeVar("T")


class AppSettings:
    def __init__(self) -> None:
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)

    def _get(self, key: str, default: T, kind: type[T]) -> T:
        value: Any = self.qsettings.value(key, default)
        try:
            return kind(value)  # type: ignore[call-arg]
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value: object) -> None:
        self.qsettings.setValue(key, value)

    # --- caption choices ---------------------------------------------------------------------

    @property
    def language(self) -> Language:
        value = str(self.qsettings.value("caption/language", default_language()))
        return value if value in LANGUAGES else default_language()

    @language.setter
    def language(self, value: Language) -> None:
        self._set("caption/language", value)

    @property
    def preset(self) -> PresetName | None:
        """None means the custom prompt."""
        value = str(self.qsettings.value("caption/preset", "detailed"))
        return value if value in PRESETS else None

    @preset.setter
    def preset(self, value: PresetName | None) -> None:
        self._set("caption/preset", value or "custom")

    @property
    def custom_prompt(self) -> str:
        return str(self.qsettings.value("caption/custom_prompt", ""))

    @custom_prompt.setter
    def custom_prompt(self, value: str) -> None:
        self._set("caption/custom_prompt", value)

    @property
    def detail(self) -> str:
        value = str(self.qsettings.value("caption/detail", DEFAULT_IMAGE_BUDGET))
        return value if value in IMAGE_BUDGET_PRESETS else DEFAULT_IMAGE_BUDGET

    @detail.setter
    def detail(self, value: str) -> None:
        self._set("caption/detail", value)

    @property
    def max_tokens(self) -> int:
        return max(1, self._get("caption/max_tokens", GenerationParams().max_tokens, int))

    @max_tokens.setter
    def max_tokens(self, value: int) -> None:
        self._set("caption/max_tokens", value)

    @property
    def overwrite(self) -> bool:
        return str(self.qsettings.value("caption/overwrite", "false")).lower() == "true"

    @overwrite.setter
    def overwrite(self, value: bool) -> None:
        self._set("caption/overwrite", "true" if value else "false")

    # --- window ------------------------------------------------------------------------------

    def bytes_value(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self._set(key, value)

    @property
    def last_folder(self) -> str:
        return str(self.qsettings.value("window/last_folder", ""))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._set("window/last_folder", value)

    def sync(self) -> None:
        self.qsettings.sync()
