"""Desktop conventions checked on Linux: "Show in file manager" selects the file on each system."""

from __future__ import annotations

from pathlib import Path

import pytest

from caprl_desktop.ui.reveal import reveal_command


def test_explorer_and_finder_select_the_file() -> None:
    photo = Path("C:/Users/me/Pictures/旅行 2024/IMG 0001.JPG")
    assert reveal_command(photo, "win32") == ["explorer", f"/select,{photo}"]  # one argument, spaces and all
    assert reveal_command(Path("/Users/me/写真/a b.jpg"), "darwin") == ["open", "-R", "/Users/me/写真/a b.jpg"]


def test_linux_file_managers_are_asked_through_freedesktop_filemanager1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/" + name)
    command = reveal_command(Path("/home/me/写真/a b.jpg"), "linux")
    assert command is not None and command[0] == "dbus-send"
    assert "org.freedesktop.FileManager1.ShowItems" in command
    assert "array:string:file:///home/me/%E5%86%99%E7%9C%9F/a%20b.jpg" in command  # a URL, not shell text
    comma = reveal_command(Path("/home/me/a,b.jpg"), "linux")
    assert comma is not None and "array:string:file:///home/me/a%2Cb.jpg" in comma  # one item, not two
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert reveal_command(Path("/home/me/a.jpg"), "linux") is None  # then the folder is opened
