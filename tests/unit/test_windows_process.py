"""The Windows calls a process makes about itself, seen through stand-ins for the DLLs."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from caprl_desktop.core.integration import windows_process
from caprl_desktop.core.integration.windows import APP_ID


class Recorder:
    def __init__(self, result: int) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.result = result

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> int:
            self.calls.append((name, args))
            return self.result
        return call


def test_the_window_takes_the_start_menu_entrys_taskbar_identity() -> None:
    shell32 = Recorder(result=0)  # S_OK
    assert windows_process.set_taskbar_identity(shell32)
    assert shell32.calls == [("SetCurrentProcessExplicitAppUserModelID", (APP_ID,))]


def test_a_hand_over_lets_the_running_window_come_forward() -> None:
    user32 = Recorder(result=1)
    assert windows_process.allow_foreground_handover(user32)
    assert user32.calls == [("AllowSetForegroundWindow", (0xFFFFFFFF - (1 << 32),))]  # ASFW_ANY, (DWORD)-1


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_both_are_no_ops_off_windows() -> None:
    assert not windows_process.set_taskbar_identity()
    assert not windows_process.allow_foreground_handover()
