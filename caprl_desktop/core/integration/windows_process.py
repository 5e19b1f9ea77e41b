"""What a process of the app tells Windows about itself: its taskbar identity, and leave for another to come forward.

Both are no-ops elsewhere. They take the DLL as a parameter so tests can see the calls on any OS.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from caprl_desktop.core.integration.windows import APP_ID

ASFW_ANY = -1  # (DWORD)-1: any process may take the foreground


def _dll(name: str) -> Any:
    if sys.platform == "win32":
        return getattr(ctypes.windll, name)
    return None


def set_taskbar_identity(shell32: Any = None) -> bool:
    """Give the window the AppUserModelID the Start-menu entry carries.

    Started through pythonw, the window would otherwise be grouped with (and show the icon of) Python, and a
    pinned CapRL Desktop button would open a second button beside it."""
    shell32 = shell32 if shell32 is not None else _dll("shell32")
    if shell32 is None:
        return False
    return bool(shell32.SetCurrentProcessExplicitAppUserModelID(APP_ID) == 0)  # S_OK


def allow_foreground_handover(user32: Any = None) -> bool:
    """Let the running window bring itself forward when this launch hands it paths.

    Windows gives the foreground only to the process the user last acted in: that is the launch Explorer just
    started, not the window, whose ``activateWindow`` would only flash its taskbar button."""
    user32 = user32 if user32 is not None else _dll("user32")
    if user32 is None:
        return False
    return bool(user32.AllowSetForegroundWindow(ASFW_ANY))
