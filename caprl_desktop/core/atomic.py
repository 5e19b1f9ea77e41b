"""Writes files so that a reader sees the old content or the new one, never half of either.

The data goes to a temporary file in the same folder, is flushed to disk, then renamed over the target;
a crash or a full disk leaves the previous file untouched and no stray temporary behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from caprl_desktop.core.errors import CaprlError


class WriteError(CaprlError):
    """A file could not be written; the message says why in the user's terms."""


def explain_os_error(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the disk is full; {path.name} was not written"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {path.parent}"
    if exc.errno == errno.EROFS:
        return f"{path.parent} is on a read-only disk"
    return f"{path.name} could not be written: {exc.strerror or exc}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp_name).replace(path)
        tmp_name = None
    except OSError as exc:
        raise WriteError(explain_os_error(exc, path)) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))
