"""Keep the computer awake while a job runs: a folder of thousands of images takes hours, and sleep stops it.

Each system has its own way, each released when the job ends (or the process dies):
Windows ``SetThreadExecutionState`` (for the thread that runs the job, which is the one that enters and
leaves), macOS ``caffeinate -i -w <pid>``, and on Linux desktops ``systemd-inhibit`` (logind's sleep and
idle lock) holding a child that ends with us. Where none is there, the job simply runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

ES_CONTINUOUS = 0x80000000
ES_SYSTEM_REQUIRED = 0x00000001


def inhibitor_command(reason: str, platform: str | None = None, pid: int | None = None) -> list[str] | None:
    """The command that holds the machine awake while it runs (macOS, Linux); None where there is none."""
    platform = platform or sys.platform
    pid = pid or os.getpid()
    if platform == "darwin":
        return ["caffeinate", "-i", "-w", str(pid)]  # ends by itself with our process
    if platform.startswith("linux") and shutil.which("systemd-inhibit"):
        # The held command ends when we do (tail --pid), so a killed app never leaves the lock behind.
        return ["systemd-inhibit", "--what=idle:sleep", "--who=CapRL Desktop", f"--why={reason}", "--mode=block",
                "tail", f"--pid={pid}", "-f", "/dev/null"]
    return None


@contextlib.contextmanager
def keep_awake(reason: str = "Captioning images") -> Iterator[None]:
    if sys.platform == "win32":
        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
        kernel32.SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)
        try:
            yield
        finally:
            kernel32.SetThreadExecutionState(ES_CONTINUOUS)
        return
    command = inhibitor_command(reason)
    holder: subprocess.Popen[bytes] | None = None
    if command is not None:
        with contextlib.suppress(OSError):
            holder = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        if holder is not None:
            holder.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                holder.wait(timeout=5)
            if holder.poll() is None:
                holder.kill()
                holder.wait()
