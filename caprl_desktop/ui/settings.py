"""The window's remembered choices, in an INI file in the app's config folder (tests point it at tmp)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from caprl_desktop.core import paths
from caprl_desktop.core.params import DEFAULT_IMAGE_BUDGET, IMAGE_BUDGET_PRESETS, GenerationParams
from caprl_desktop.core.prompts import LANGUAGES, PRESETS, Language, PresetName, default_language

T = TypeVar("T")


class _Setting(Generic[T]):
    """One key of the INI file: ``parse`` turns what is stored (text in an INI file) back into a value,
    falling back to the default for anything it does not accept; ``store`` is what gets written."""

    def __init__(self, key: str, default: Callable[[], T], parse: Callable[[str], T | None],
                 store: Callable[[T], object] = str) -> None:
        self.key, self.default, self.parse, self.store = key, default, parse, store

    def __get__(self, owner: AppSettings, kind: type | None = None) -> T:
        raw = owner.qsettings.value(self.key)
        value = self.parse(str(raw)) if raw is not None else None
        return self.default() if value is None else value

    def __set__(self, owner: AppSettings, value: T) -> None:
        owner.qsettings.setValue(self.key, self.store(value))


def _one_of(choices: tuple[str, ...]) -> Callable[[str], Any]:
    return lambda text: text if text in choices else None


def _positive_int(text: str) -> int | None:
    try:
        return max(1, int(text))
    except ValueError:
        return None


class AppSettings:
    language: _Setting[Language] = _Setting("caption/language", default_language, _one_of(LANGUAGES))
    _preset: _Setting[str] = _Setting("caption/preset", lambda: "detailed", str)
    custom_prompt: _Setting[str] = _Setting("caption/custom_prompt", str, str)
    detail: _Setting[str] = _Setting("caption/detail", lambda: DEFAULT_IMAGE_BUDGET,
                                     _one_of(tuple(IMAGE_BUDGET_PRESETS)))
    max_tokens: _Setting[int] = _Setting("caption/max_tokens", lambda: GenerationParams().max_tokens, _positive_int)
    overwrite: _Setting[bool] = _Setting("caption/overwrite", lambda: False, lambda text: text.lower() == "true",
                                         store=lambda value: "true" if value else "false")
    last_folder: _Setting[str] = _Setting("window/last_folder", str, str)

    def __init__(self) -> None:
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)

    @property
    def preset(self) -> PresetName | None:
        """None stands for the custom prompt."""
        value = self._preset
        return value if value in PRESETS else None

    @preset.setter
    def preset(self, value: PresetName | None) -> None:
        self._preset = value or "custom"

    def bytes_value(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()
