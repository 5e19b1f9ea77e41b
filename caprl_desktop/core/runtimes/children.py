"""Starting a program as a child that ends with the app, however the app ends (closed, crashed or killed).

A runtime's server holds gigabytes of (GPU) memory: one left running after the app was killed would hold it
until the next reboot. So each platform's own way of tying a child to its parent is used:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in the child before it runs the program (ctypes; the function is
  looked up before the fork, so the child calls only it). The kernel sends the signal when the *thread* that
  started the child ends, so start it from a thread that lives as long as the engine (the command line's main
  thread, the window's caption worker).
- Windows: the child is put in a job object made with ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``; the app holds the
  job's only handle, which the system closes when the app ends in any way, and that ends the job's processes.
- Elsewhere (macOS): a watcher, ``/bin/sh`` in a loop, that kills the child once the app is gone.

On POSIX the child also gets a session of its own, so a Ctrl+C typed at the terminal reaches only the app,
which then stops the child itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def start_child(args: Sequence[str], *, env: Mapping[str, str], output: IO[bytes], cwd: Path | None = None,
                platform: str = sys.platform) -> subprocess.Popen[bytes]:
    """Start ``args`` with its output (both streams) in ``output``, tied to the app's life as the module says."""
    if platform.startswith("linux"):
        return subprocess.Popen(list(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                preexec_fn=_die_with_parent())
    if platform == "win32":
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window flashes up for it
        child = subprocess.Popen(list(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, cwd=cwd, creationflags=flags)
        _windows_job().add(child)
        return child
    child = subprocess.Popen(list(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                             stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    _watch(child.pid)
    return child


def _die_with_parent() -> Callable[[], None]:
    """What the child runs between fork and exec: ask for SIGKILL when the parent goes; if the parent went
    already (between fork and here), go at once."""
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return in_child


def _watch(child: int) -> None:
    """A watcher that kills ``child`` once this process is gone, and ends by itself when the child ends. The
    shell started here puts the loop in the background and exits: the loop belongs to no one, so nothing of
    this process waits on it."""
    loop = (f"while kill -0 {os.getpid()} 2>/dev/null && kill -0 {child} 2>/dev/null; do sleep 1; done; "
            f"kill -9 {child} 2>/dev/null")
    subprocess.run(["/bin/sh", "-c", f"({loop}) </dev/null >/dev/null 2>&1 &"], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, check=False)


class _WindowsJob:
    """A job object whose processes end when its last handle closes (with the app)."""

    def __init__(self) -> None:
        from ctypes import wintypes

        kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p,
                                                     wintypes.DWORD]
        kernel32.SetInformationJobObject.restype = wintypes.BOOL
        kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
        kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
        self._kernel32 = kernel32
        self._handle = kernel32.CreateJobObjectW(None, None)
        if not self._handle:
            raise OSError(ctypes.get_last_error(), "CreateJobObjectW failed")  # type: ignore[attr-defined,unused-ignore]
        info = _ExtendedLimits()
        info.BasicLimitInformation.LimitFlags = _JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not kernel32.SetInformationJobObject(self._handle, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
                                                ctypes.byref(info), ctypes.sizeof(info)):
            raise OSError(ctypes.get_last_error(), "SetInformationJobObject failed")  # type: ignore[attr-defined,unused-ignore]

    def add(self, child: subprocess.Popen[bytes]) -> None:
        handle = int(child._handle)  # type: ignore[attr-defined]  # Popen's process handle on Windows
        if not self._kernel32.AssignProcessToJobObject(self._handle, handle):
            error = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
            child.kill()
            raise OSError(error, "the runtime's server could not be tied to the app (AssignProcessToJobObject)")


_JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9


class _IoCounters(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "ReadOperationCount", "WriteOperationCount", "OtherOperationCount", "ReadTransferCount",
        "WriteTransferCount", "OtherTransferCount")]


class _BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_longlong),
        ("PerJobUserTimeLimit", ctypes.c_longlong),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class _ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


_job: _WindowsJob | None = None


def _windows_job() -> _WindowsJob:
    """The app's one job (made on first use and never closed: its handle closes with the app)."""
    global _job
    if _job is None:
        _job = _WindowsJob()
    return _job
