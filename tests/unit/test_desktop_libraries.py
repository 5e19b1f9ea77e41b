"""A bare Linux desktop without Qt's xcb libraries gets a sentence and the install command, not Qt's abort."""

from __future__ import annotations

import sys

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core import desktop_libraries
from caprl_desktop.core.desktop_libraries import missing_xcb_libraries, uses_xcb
from caprl_desktop.ui import app


def test_which_sessions_start_the_xcb_plugin() -> None:
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "darwin") and not uses_xcb({}, "linux")


def test_the_window_does_not_start_without_them_and_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(desktop_libraries, "_loads", lambda soname: soname != "libxcb-cursor.so.0")

    def window_started(arguments: object) -> int:
        raise AssertionError("the window started: Qt would abort here")

    monkeypatch.setattr(app, "run_gui", window_started)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "missing: libxcb-cursor.so.0." in err
    assert "sudo apt install libxcb-cursor0" in err and "sudo dnf install xcb-util-cursor" in err


def test_the_report_lists_every_missing_library_once_per_package() -> None:
    missing = missing_xcb_libraries(lambda soname: not soname.startswith("libxcb-r"))
    assert [m.soname for m in missing] == ["libxcb-render-util.so.0", "libxcb-randr.so.0"]
    assert "sudo dnf install xcb-util-renderutil libxcb\n" in desktop_libraries.explain_missing(missing)



@pytest.mark.skipif(sys.platform != "linux", reason="sonames are Linux's")
def test_the_loader_check_tells_a_library_that_loads_from_one_that_does_not() -> None:
    """The real check, without asking whether this machine has Qt's libraries: the C library always loads."""
    assert desktop_libraries._loads("libc.so.6")
    assert not desktop_libraries._loads("libcaprl-no-such-library.so.7")
