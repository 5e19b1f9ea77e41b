"""The window's remembered choices, in an INI file in the app's config folder (tests point it at tmp).

The captioning choices are the core's ``CaptionSettings`` (``choices``), stored key by key; the window's own
(layout, interface language, idle unloading, last folder, starting when images are added) are only here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from caprl_desktop.core import paths
from caprl_desktop.core.jobs.options import EXISTING_CHOICES, METADATA_MODES, ExistingChoice, MetadataMode
from caprl_desktop.core.params import DEFAULT_IMAGE_BUDGET, IMAGE_BUDGET_PRESETS, GenerationParams
from caprl_desktop.core.prompts import LANGUAGES, PRESETS, Language, PresetName, default_language
from caprl_desktop.core.settings import CaptionSettings

T = TypeVar("T")
MAX_TEMPERATURE = 2.0
INTERFACE_LANGUAGES = ("system", "en", "ja")


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


def _int_in(low: int, high: int) -> Callable[[str], int | None]:
    def parse(text: str) -> int | None:
        try:
            return min(high, max(low, int(text)))
        except ValueError:
            return None
    return parse


def _optional_int(text: str) -> int | None:
    """"" (stored for None) and anything unreadable give None: the setting's automatic choice."""
    try:
        return int(text)
    except ValueError:
        return None


def _optional_count(text: str) -> int | None:
    """At least 1, or None (automatic): a hand-edited 0 must not stop the window from starting."""
    value = _optional_int(text)
    return value if value is not None and value >= 1 else None


def _temperature(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= MAX_TEMPERATURE else None


def _fraction(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 < value <= 1.0 else None


def _positive(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _store_optional(value: int | None) -> str:
    return "" if value is None else str(value)


def _names(text: str) -> tuple[str, ...]:
    """Saved server names, space-separated (an INI value with commas would come back as a list)."""
    return tuple(text.split())



class AppSettings:
    language: _Setting[Language] = _Setting("caption/language", default_language, _one_of(LANGUAGES))
    _preset: _Setting[str] = _Setting("caption/preset", lambda: "detailed", str)
    custom_prompt: _Setting[str] = _Setting("caption/custom_prompt", str, str)
    detail: _Setting[str] = _Setting("caption/detail", lambda: DEFAULT_IMAGE_BUDGET,
                                     _one_of(tuple(IMAGE_BUDGET_PRESETS)))
    max_tokens: _Setting[int] = _Setting("caption/max_tokens", lambda: GenerationParams().max_tokens,
                                     _int_in(1, 1 << 20))
    overwrite: _Setting[bool] = _Setting("caption/overwrite", lambda: False, lambda text: text.lower() == "true",
                                         store=lambda value: "true" if value else "false")
    temperature: _Setting[float] = _Setting("caption/temperature", lambda: GenerationParams().temperature,
                                            _temperature)
    top_p: _Setting[float] = _Setting("caption/top_p", lambda: GenerationParams().top_p, _fraction)
    repeat_penalty: _Setting[float] = _Setting("caption/repeat_penalty", lambda: GenerationParams().repeat_penalty,
                                               _positive)
    seed: _Setting[int | None] = _Setting("caption/seed", lambda: None, _optional_int, _store_optional)
    gpu_layers: _Setting[int | None] = _Setting("engine/gpu_layers", lambda: None, _optional_int, _store_optional)
    threads: _Setting[int | None] = _Setting("engine/threads", lambda: None, _optional_int, _store_optional)
    parallel: _Setting[int | None] = _Setting("engine/parallel", lambda: None, _optional_count, _store_optional)
    idle_unload_minutes: _Setting[int] = _Setting("engine/idle_unload_minutes", lambda: 15, _int_in(0, 24 * 60))
    # The saved caption servers (``caprl-desktop engines``) captions go to, by name; none: this computer.
    # Only names: addresses are in the saved list, and keys never in a settings file.
    engine_servers: _Setting[tuple[str, ...]] = _Setting("engine/servers", tuple, _names, store=" ".join)
    interface_language: _Setting[str] = _Setting("window/interface_language", lambda: "system",
                                                 _one_of(INTERFACE_LANGUAGES))
    last_folder: _Setting[str] = _Setting("window/last_folder", str, str)
    # Off: images added wait for Start, so the caption language and preset can be chosen first. Paths given
    # on the command line (the file manager's "Caption with CapRL") start at once whatever this says.
    start_when_added: _Setting[bool] = _Setting("window/start_when_added", lambda: False,
                                                lambda text: text.lower() == "true",
                                                store=lambda value: "true" if value else "false")
    last_export_folder: _Setting[str] = _Setting("window/last_export_folder", str, str)  # "": the images' own
    caption_folder: _Setting[str] = _Setting("caption/caption_folder", str, str)  # "": beside the images
    metadata: _Setting[MetadataMode] = _Setting("caption/metadata", lambda: "off", _one_of(METADATA_MODES))
    metadata_existing: _Setting[ExistingChoice] = _Setting("caption/metadata_existing", lambda: "keep",
                                                _one_of(EXISTING_CHOICES))

    def __init__(self) -> None:
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)

    @classmethod
    def default(cls, name: str) -> Any:
        """What setting ``name`` is when nothing is stored (Restore defaults)."""
        setting = cls.__dict__[name]
        assert isinstance(setting, _Setting)
        return setting.default()

    @property
    def preset(self) -> PresetName | None:
        """None stands for the custom prompt."""
        value = self._preset
        return value if value in PRESETS else None

    @preset.setter
    def preset(self, value: PresetName | None) -> None:
        self._preset = value or "custom"

    @property
    def choices(self) -> CaptionSettings:
        """The captioning choices as the core takes them (the same type the command line fills)."""
        return CaptionSettings(
            language=self.language, preset=self.preset, custom_prompt=self.custom_prompt, detail=self.detail,
            max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
            repeat_penalty=self.repeat_penalty, seed=self.seed, gpu_layers=self.gpu_layers, threads=self.threads,
            parallel=self.parallel, overwrite=self.overwrite, caption_folder=self.caption_folder,
            metadata=self.metadata, metadata_existing=self.metadata_existing,
        )

    def bytes_value(self, key: str) -> QByteArray | None:
        value = self.qsettings.value(key)
        return value if isinstance(value, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()
