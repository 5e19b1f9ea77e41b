"""Caption prompts in Japanese and English, and the language the user most likely wants.

The English detailed prompt is CapRL's own evaluation prompt; the Japanese pair (system prompt plus
"画像について詳しく説明して。") is known to give fluent Japanese descriptions with CapRL-3B.
"""

from __future__ import annotations

import contextlib
import locale
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "en")

PresetName = Literal["detailed", "short", "text"]
PRESETS: tuple[PresetName, ...] = ("detailed", "short", "text")

PRESET_PROMPTS: dict[PresetName, dict[Language, str]] = {
    "detailed": {
        "en": "Please describe this image in detail.",
        "ja": "画像について詳しく説明して。",
    },
    "short": {
        "en": "Write a one-sentence caption for this image.",
        "ja": "この画像を一文で説明して。",
    },
    "text": {
        "en": "What is the text in the image?",
        "ja": "画像の中の文字をすべて書き出して。",
    },
}

SYSTEM_PROMPTS: dict[Language, str] = {
    # CapRL-3B's model card.
    "en": "You are a helpful assistant.",
    "ja": "あなたは親切な日本語のアシスタントです。",
}


@dataclass(frozen=True)
class PromptSpec:
    """The two messages sent with an image, and what they were built from (for exports)."""

    system: str
    user: str
    language: Language
    preset: str  # a preset name, or "custom"


def build_prompt(
    language: Language,
    preset: PresetName = "detailed",
    *,
    custom_prompt: str | None = None,
    system_prompt: str | None = None,
) -> PromptSpec:
    """A preset's prompt in ``language``, or the user's own; the system prompt follows the language."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    custom = (custom_prompt or "").strip()
    user = custom or PRESET_PROMPTS[preset][language]
    system = (system_prompt if system_prompt is not None else SYSTEM_PROMPTS[language]).strip()
    return PromptSpec(system=system, user=user, language=language, preset="custom" if custom else preset)


def default_language(environ: Mapping[str, str] | None = None) -> Language:
    """Japanese when the user's locale is Japanese, English otherwise.

    Apps started from Finder get no ``LANG``: on macOS the system's preferred languages (``AppleLanguages``)
    decide then, as they decide for every other app there."""
    env = os.environ if environ is None else environ
    candidates = [env.get(name, "") for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")]
    if environ is None:
        with contextlib.suppress(ValueError):
            # On Windows the environment is usually empty and the locale reads "Japanese_Japan".
            candidates.append(locale.getlocale()[0] or "")
        if not any(candidates) and sys.platform == "darwin":
            candidates.extend(apple_languages()[:1])
    for value in candidates:
        if value:
            lowered = value.lower()
            return "ja" if lowered.startswith(("ja", "japanese")) else "en"
    return "en"


def apple_languages() -> list[str]:
    """macOS's preferred languages, first first ("ja-JP", "en-US"); empty where they cannot be read."""
    try:
        out = subprocess.run(["defaults", "read", "-g", "AppleLanguages"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    # The old-style plist array: ( "ja-JP", "en-JP" )
    return [item.strip().strip('"') for item in out.strip().strip("()").split(",") if item.strip().strip('"')]


def parse_language(value: str) -> Language:
    lowered = value.strip().lower()
    if lowered in ("ja", "jp", "japanese", "日本語"):
        return "ja"
    if lowered in ("en", "english"):
        return "en"
    raise ValueError(f"unknown language {value!r}: use ja or en")


def as_preset(value: str) -> PresetName:
    if value not in PRESETS:
        raise ValueError(f"unknown prompt preset {value!r}: use one of {', '.join(PRESETS)}")
    return value
