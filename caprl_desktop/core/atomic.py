"""Writes files so that a reader sees the old content or the new one, never half of either.

The data goes to a temporary file in the same folder, is synced to disk, then renamed over the target, and
the folder is synced so the rename itself survives a power cut; a crash or a full disk leaves the previous
file untouched and no stray temporary behind.

A new file gets the permissions any file the user makes gets (the umask decides, as with ``open()``), not
the owner-only mode of ``tempfile.mkstemp``: captions are read by training jobs in containers, by other
accounts and over shares. A file replaced keeps its mode, and its owner where the OS allows.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Literal

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.long_paths import for_os

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


def _open_temp(folder: Path, prefix: str) -> tuple[int, Path]:
    """A new file in ``folder``, created with mode 0o666 so that the umask applies as for any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(4)}.tmp"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def _keep_mode_and_owner(fd: int, target: Path) -> None:
    """The replacement gets the replaced file's mode (an 0640 caption stays 0640) and, if allowed, owner."""
    try:
        old = target.stat()
    except OSError:
        return  # a new file: the umask decided at creation
    if not stat.S_ISREG(old.st_mode):
        return
    if os.name == "nt":
        return  # only a read-only flag there, which the app clears on purpose when it replaces its own files
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):  # only root (or the owner, for the group) may; then it stays ours
            os.fchown(fd, old.st_uid, old.st_gid)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable: on POSIX the new directory entry is on disk only once the folder is synced.

    Best effort: the file is in place already, so a folder that cannot be opened for reading (write-only
    permissions) or a file system that cannot sync folders loses only the guarantee against a power cut."""
    if os.name == "nt":
        return  # NTFS journals the rename itself; folders cannot be opened for fsync there
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        logging.getLogger(__name__).warning("could not sync %s after a rename: %s", folder, exc)


REPLACE_TRIES = 6  # about 1.5 s in all: long enough for an antivirus or a sync client to let go of a file


def _replace(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` over ``target``, waiting a little for another program to let go of it.

    On Windows a rename fails while Excel has the CSV open, while Defender or OneDrive reads the new file, or
    when the old caption is read-only: Python reports each as a permission error, which would otherwise read
    as "the folder is read-only" and stop a whole run. The file is tried again with a short back-off; a
    read-only attribute on the old file is cleared (only ever a file the app replaces on purpose); if it
    still fails, that one file is reported, not the folder."""
    for attempt in range(REPLACE_TRIES):
        try:
            tmp.replace(target)
            return
        except PermissionError as exc:
            if attempt == REPLACE_TRIES - 1:
                raise WriteError(f"{target.name} is in use by another program (a spreadsheet, an antivirus, a "
                                 "sync client) and was not replaced; close it and try again", "other",
                                 target.parent) from exc
            _clear_read_only(target)
            time.sleep(0.05 * 2**attempt)


def _clear_read_only(target: Path) -> None:
    with contextlib.suppress(OSError):
        mode = target.stat().st_mode
        if not mode & stat.S_IWRITE:
            target.chmod(mode | stat.S_IWRITE)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp: Path | None = None
    shown, path = path, for_os(path)  # the \\?\ form past MAX_PATH on Windows; messages name the path given
    try:
        fd, tmp = _open_temp(path.parent, _temp_prefix(path.name))
        with os.fdopen(fd, "wb") as f:
            _keep_mode_and_owner(f.fileno(), path)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
        tmp = None
        _sync_folder(path.parent)
    except OSError as exc:
        raise write_error(exc, shown) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


def probe_writable(folder: Path) -> WriteError | None:
    """Whether a file can be created in ``folder`` (made if missing): the error a write would meet, or None.

    Asking the file system beats ``os.access``, which says yes to root on a read-only share and knows
    nothing of a full disk.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = _open_temp(folder, ".caprl-probe.")
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        problem = write_error(exc, folder / ".caprl-probe")
        if problem.problem == "full":
            return WriteError(f"the disk holding {folder} is full", "full", folder)
        if problem.problem == "other":
            return WriteError(f"{folder} cannot be written to: {exc.strerror or exc}", "other", folder)
        return problem
    return None
