"""The app's own log: a rotating file per face (``cli.log``, ``gui.log``) in the log folder, and its native crashes.

Expected problems are ``CaprlError`` sentences shown to the user and need no log. What is unexpected (a bug,
an ``OSError`` nobody foresaw) goes here with its traceback, and the user is shown one line naming this file.

A native crash of the app process (a segfault in Qt, a fatal error in the interpreter) cannot be logged by the
process it kills: ``faulthandler`` writes its stack to ``<face>-native-crash.log`` instead, a file opened at start
and empty unless such a crash happened. The next start finds it non-empty, moves it aside
(``<face>-native-crash-<time>.log``, the newest few kept) and hands its text to the face (``previous_crash``): the
window offers a report of it, as qutebrowser does, instead of letting the crash pass unseen. The engine process
keeps its own log (``engine-<pid>.log``); its crashes are reported by the run that saw them.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from caprl_desktop import __version__
from caprl_desktop.core import paths

Face = Literal["cli", "gui"]
LOGGER = logging.getLogger("caprl_desktop")
_MAX_BYTES = 1 << 20
_BACKUPS = 3
_handler: logging.Handler | None = None
_fault_file: IO[str] | None = None  # kept open for the life of the process: faulthandler writes to it on a crash
CRASHES_KEPT = 3
_crash: CrashReport | None = None


@dataclass(frozen=True)
class CrashReport:
    """What faulthandler wrote when the app last ended in a native crash, and where it was moved to."""

    path: Path
    text: str


def start_logging(face: Face) -> Path | None:
    """Log to ``<log folder>/<face>.log``; returns its path, or None when the folder cannot be written."""
    global _handler, _fault_file, _crash
    path = log_path(face)
    if _handler is not None and getattr(_handler, "baseFilename", None) == str(path.absolute()):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS,
                                                       encoding="utf-8", delay=True)
        crash_file = native_crash_path(face)
        _crash = _set_aside(crash_file)
        if not faulthandler.is_enabled():  # a test runner that has its own keeps it
            _fault_file = open(crash_file, "a", encoding="utf-8")  # noqa: SIM115
            faulthandler.enable(file=_fault_file)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    if _handler is not None:  # the log folder moved (tests point it at a new home each time)
        LOGGER.removeHandler(_handler)
        _handler.close()
    _handler = handler
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    return path


def log_path(face: Face) -> Path:
    return paths.log_dir() / f"{face}.log"


def native_crash_path(face: Face) -> Path:
    return paths.log_dir() / f"{face}-native-crash.log"


def previous_crash() -> CrashReport | None:
    """The native crash that ended this face's previous process, found by ``start_logging``; None if it ended well."""
    return _crash


def _set_aside(crash_file: Path) -> CrashReport | None:
    """Move a crash file that holds a crash out of the way (so it is reported once), keeping the newest few."""
    try:
        text = crash_file.read_text(encoding="utf-8", errors="replace")
        if not text.strip():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(crash_file.stat().st_mtime))
        kept = crash_file.with_name(f"{crash_file.stem}-{stamp}.log")
        crash_file.replace(kept)
        for stale in sorted(crash_file.parent.glob(f"{crash_file.stem}-*.log"))[:-CRASHES_KEPT]:
            stale.unlink(missing_ok=True)
    except FileNotFoundError:
        return None
    except OSError as exc:  # (held open by a window still running, on Windows) not worth failing a start for
        LOGGER.warning("could not set aside %s: %s", crash_file, exc)
        return None
    return CrashReport(kept, text)


def log_unexpected(kind: type[BaseException], value: BaseException, tb: TracebackType | None,
                   where: str = "") -> None:
    """Record an unexpected error with its traceback (from any thread)."""
    LOGGER.error("unexpected error%s (CapRL Desktop %s)", f" in {where}" if where else "", __version__,
                 exc_info=(kind, value, tb))
    for handler in LOGGER.handlers:
        handler.flush()
