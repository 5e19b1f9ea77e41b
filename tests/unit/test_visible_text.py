"""Control characters in outside text are shown, not obeyed; everything a reader should see stays as it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from caprl_desktop.core.visible_text import visible


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\x07"),  # OSC 52: writes the clipboard
    ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC 0: the window title
    ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clears the screen
    ("\x9b2J \x9d0;t\x9c", "\\x9b2J \\x9d0;t\\x9c"),  # the same as C1 codes
    ("done\rfailed", "done\\x0dfailed"),  # a carriage return would write over the line shown
    ("\x00\x08\x7f", "\\x00\\x08\\x7f"),
    ("photo\u202egpj.exe", "photo\\u202egpj.exe"),  # a right-to-left override shows "exe.jpg"
    ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
])
def test_control_characters_are_written_as_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_bytes_of_a_name_that_are_not_utf8_show_as_those_bytes() -> None:
    name = os.fsdecode(b"\xff\xfe photo.png")
    assert visible(name) == "\\xff\\xfe photo.png"
    assert visible("\ud800") == "\\ud800"  # any other lone surrogate, which no terminal could print
    visible(name).encode("utf-8")  # printable on any UTF-8 stream


@pytest.mark.parametrize("text", [
    "A dog on a beach.\n\nSecond paragraph\twith a tab.",
    "夕暮れの海辺を歩く犬。",
    "🎉 party 👨‍👩‍👧 (a family joined with zero-width joiners)",
    "a\\x1b that is already text",
])
def test_what_a_reader_should_see_is_left_alone(text: str) -> None:
    assert visible(text) == text


def test_any_object_is_shown_by_its_text() -> None:
    assert visible(Path("/tmp") / "a\x1bb.png") == "/tmp/a\\x1bb.png"
    assert visible(ValueError("bad \x07 bell")) == "bad \\x07 bell"
