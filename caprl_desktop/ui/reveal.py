"""Show an image in the system's file manager with the file selected, as every photo app's "Show in …" does.

Explorer takes ``/select,<path>``, Finder ``open -R``; on Linux the freedesktop ``FileManager1`` D-Bus
interface (Nautilus, Dolphin, Nemo, Thunar) selects the file, and where it is missing the folder opens.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def reveal_command(path: Path, platform: str | None = None) -> list[str] | None:
    """The command that selects ``path`` in the file manager; None where only opening the folder is possible."""
    platform = platform or sys.platform
    if platform == "win32":
        # One argument: Explorer parses "/select,<path>" itself (a path with spaces must not be split).
        return ["explorer", f"/select,{path}"]
    if platform == "darwin":
        return ["open", "-R", str(path)]
    if shutil.which("dbus-send") is None:
        return None
    # Percent-encoded, commas too: dbus-send splits an array's items at commas.
    uri = bytes(QUrl.fromLocalFile(str(path)).toEncoded().data()).decode("ascii").replace(",", "%2C")
    return ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.FileManager1",
            "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1.ShowItems", f"array:string:{uri}",
            "string:"]


def reveal(path: Path) -> None:
    command = reveal_command(path)
    if command is not None:
        try:
            done = subprocess.run(command, capture_output=True, timeout=10)
            # Explorer answers 1 even when it shows the file; elsewhere a failure falls back to the folder.
            if done.returncode == 0 or sys.platform == "win32":
                return
        except (OSError, subprocess.SubprocessError):
            pass
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
