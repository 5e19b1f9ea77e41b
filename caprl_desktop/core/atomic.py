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
from typing import Literal

from caprl_desktop.core.errors import CaprlError

_DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})  # quota: "full" to the user
WriteProblem = Literal["full", "read_only", "other"]


class WriteError(CaprlError):
    """A file could not be written; the message says why in the user's terms.

    ``problem`` tells a full disk and a folder that cannot be written to (both stop a run: every later
    file would fail the same way) from a problem with this one file.
    """

    def __init__(self, message: str, problem: WriteProblem = "other", folder: Path | None = None) -> None:
        super().__init__(message)
        self.problem: WriteProblem = problem
        self.folder = folder


def write_error(exc: OSError, path: Path) -> WriteError:
    problem: WriteProblem = "other"
    if exc.errno in _DISK_FULL:
        problem = "full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        problem = "read_only"
    return WriteError(explain_os_error(exc, path), problem, path.parent)


def explain_os_error(exc: OSError, path: Path) -> str:
    if exc.errno in _DISK_FULL:
        return f"the disk is full; {path.name} was not written"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"no permission to write in {path.parent}"
    if exc.errno == errno.EROFS:
        return f"{path.parent} is on a read-only disk"
    if exc.errno == errno.ENAMETOOLONG:
        return f"the name {path.name!r} is too long for this disk"
    return f"{path.name} could not be written: {exc.strerror or exc}"


def _temp_prefix(name: str) -> str:
    # Hidden, and short enough that a sidecar of a name near the 255-byte limit still gets a temp file.
    return "." + name.encode()[:40].decode(errors="ignore") + "."


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path.name), suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp_name).replace(path)
        tmp_name = None
    except OSError as exc:
        raise write_error(exc, path) from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


def probe_writable(folder: Path) -> WriteError | None:
    """Whether a file can be created in ``folder`` (made if missing): the error a write would meet, or None.

    Asking the file system beats ``os.access``, which says yes to root on a read-only share and knows
    nothing of a full disk.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".caprl-probe.", suffix=".tmp")
        os.close(fd)
        Path(name).unlink()
    except OSError as exc:
        problem = write_error(exc, folder / ".caprl-probe")
        if problem.problem == "full":
            return WriteError(f"the disk holding {folder} is full", "full", folder)
        if problem.problem == "other":
            return WriteError(f"{folder} cannot be written to: {exc.strerror or exc}", "other", folder)
        return problem
    return None
