"""The app's own log: a rotating file per face (``cli.log``, ``gui.log``) in the log folder, native crashes included.

Expected problems are ``CaprlError`` sentences shown to the user and need no log. What is unexpected (a bug,
an ``OSError`` nobody foresaw) goes here with its traceback, and the user is shown one line naming this file;
``faulthandler`` writes a native crash of the app process (a segfault in Qt) to the same file. The engine
process keeps its own log (``engine-<pid>.log``).
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
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


def start_logging(face: Face) -> Path | None:
    """Log to ``<log folder>/<face>.log``; returns its path, or None when the folder cannot be written."""
    global _handler, _fault_file
    path = log_path(face)
    if _handler is not None and getattr(_handler, "baseFilename", None) == str(path.absolute()):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS,
                                                       encoding="utf-8", delay=True)
        if not faulthandler.is_enabled():  # a test runner that has its own keeps it
            _fault_file = open(path.with_name(f"{face}-native-crash.log"), "a", encoding="utf-8")  # noqa: SIM115
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


def log_unexpected(kind: type[BaseException], value: BaseException, tb: TracebackType | None,
                   where: str = "") -> None:
    """Record an unexpected error with its traceback (from any thread)."""
    LOGGER.error("unexpected error%s (CapRL Desktop %s)", f" in {where}" if where else "", __version__,
                 exc_info=(kind, value, tb))
    for handler in LOGGER.handlers:
        handler.flush()
