"""Prompts and language choice, and the rules that keep the core Qt-free and llama.cpp in its process."""

from __future__ import annotations

import locale
import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.core import prompts
from caprl_desktop.core.engine._llama.chat_template import render_prompt
from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.prompts import PRESET_PROMPTS, SYSTEM_PROMPTS, build_prompt, default_language
from tests.support.synthetic_gguf import CHATML_TEMPLATE


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LC_ALL": "ja_JP.eucJP", "LANG": "en_US.UTF-8"}, "ja"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "Japanese_Japan.932"}, "ja"),
        ({}, "en"),
    ],
)
def test_default_language_follows_locale(environ: dict[str, str], expected: str) -> None:
    assert default_language(environ) == expected


def test_presets_in_both_languages() -> None:
    assert build_prompt("en").user == "Please describe this image in detail."  # CapRL's evaluation prompt
    assert build_prompt("ja").user == "画像について詳しく説明して。"
    assert build_prompt("ja").system == SYSTEM_PROMPTS["ja"]
    assert build_prompt("en", "text").user == "What is the text in the image?"
    for preset in PRESET_PROMPTS.values():
        assert set(preset) == {"ja", "en"}


def test_custom_prompt_and_system_prompt() -> None:
    spec = build_prompt("ja", "short", custom_prompt="  グラフの数値を読んで。 ", system_prompt="")
    assert spec.user == "グラフの数値を読んで。"
    assert spec.preset == "custom"
    assert spec.system == ""
    rendered = render_prompt(CHATML_TEMPLATE, spec.system, spec.user, "<__media__>")
    # With no system message, Qwen's template supplies its default one.
    assert rendered.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert "<__media__>グラフの数値を読んで。" in rendered


def test_app_process_modules_do_not_load_llama_cpp() -> None:
    code = (
        "import sys\n"
        "import caprl_desktop.cli.main, caprl_desktop.core.engine.client, caprl_desktop.core.jobs.scheduler\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('llama_cpp', 'PySide6'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.system('touch {canary}') }}",
    "{{ raise_exception.__globals__['__builtins__']['open']('{canary}', 'w') }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "{{ 1 / 0 }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
])
def test_a_hostile_chat_template_in_a_downloaded_model_runs_nothing(tmp_path: Path, attack: str) -> None:
    """The template travels inside the GGUF, a downloaded file: it is rendered sandboxed, never executed."""
    canary = tmp_path / "pwned"
    with pytest.raises(ModelFileError, match="chat template cannot be used"):
        render_prompt(attack.replace("{canary}", str(canary)), "system", "user", "<__media__>")
    assert not canary.exists()


def test_an_app_started_from_finder_without_lang_follows_macos_preferred_languages(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(locale, "getlocale", lambda: (None, None))
    monkeypatch.setattr(sys, "platform", "darwin")
    asked: list[list[str]] = []

    def defaults(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        asked.append(command)
        return subprocess.CompletedProcess(command, 0, '(\n    "ja-JP",\n    "en-JP"\n)\n', "")

    monkeypatch.setattr(subprocess, "run", defaults)
    assert prompts.default_language() == "ja"
    assert asked == [["defaults", "read", "-g", "AppleLanguages"]]
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # a LANG that is set still wins
    assert prompts.default_language() == "en"
