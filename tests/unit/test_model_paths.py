"""Model paths as llama.cpp can open them: on Windows its C runtime needs an ASCII (8.3) name for a Japanese path."""

from __future__ import annotations

from pathlib import Path

import pytest

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.paths import llama_openable

JAPANESE = Path("C:/Users/山田/Downloads/CapRL-3B.Q4_K_M.gguf")


def test_elsewhere_and_for_ascii_paths_nothing_changes() -> None:
    assert llama_openable(JAPANESE, platform="linux") == JAPANESE  # bytes: opened as they are
    plain = Path("C:/Models/CapRL-3B.Q4_K_M.gguf")
    assert llama_openable(plain, platform="win32", short_name=lambda p: None) == plain


def test_a_japanese_path_on_windows_goes_by_its_short_name() -> None:
    asked: list[str] = []

    def short(path: str) -> str:
        asked.append(path)
        return "C:\\Users\\D49E~1\\DOWNLO~1\\CAPRL-~1.GGU"

    expected = Path("C:\\Users\\D49E~1\\DOWNLO~1\\CAPRL-~1.GGU")
    assert llama_openable(JAPANESE, platform="win32", short_name=short) == expected
    assert asked == [str(JAPANESE)]


@pytest.mark.parametrize("short", [None, str(JAPANESE)])  # no 8.3 names on the drive: nothing, or the same path
def test_without_a_short_name_it_says_what_to_do(short: str | None) -> None:
    with pytest.raises(ModelFileError, match=r"path is ASCII only, for example C:\\Models"):
        llama_openable(JAPANESE, platform="win32", short_name=lambda p: short)
