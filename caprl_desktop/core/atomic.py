"""Writes files so that a reader sees the old content or the new one, never half of either.

The data goes to a temporary file in the same folder, is synced to disk, then renamed over the target, and
the folder is synced so the rename itself survives a power cut; a crash or a full disk leaves the previous
file untouched and no stray temporary behind.

A new file gets the permissions any file the user makes gets (the umask decides, as with ``open()``), not
the owner-only mode of ``tempfile.mkstemp``: captions are read by training jobs in containers, by other
accounts and over shares. A file replaced keeps its mode, and its owner where the OS allows.

A target that is a link is written through to the file it leads to, as an editor does (the link stays a link),
but only when that file is in the link's own folder or below: a caption's ``a.txt`` placed as a link to
``~/.bashrc`` is refused with a sentence, not followed. A target that is not a file (a folder, a named pipe,
a device) is refused, never replaced by a file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from caprl_desktop.core.errors import CaprlError, Reason, reason
from caprl_desktop.core.long_paths import for_os

_DISK_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})  # quota: "full" to the user
WriteProblem = Literal["full", "read_only", "other"]


class WriteError(CaprlError):
    """A file could not be written; the message says why in the user's terms.

    ``problem`` tells a full disk and a folder that cannot be written to (both stop a run: every later
    file would fail the same way) from a problem with this one file.
    """

    def __init__(self, message: str, problem: WriteProblem = "other", folder: Path | None = None, *,
                 why: Reason | None = None) -> None:
        """``why``: the sentence's kind and parameters, when it has them (``os_error_reason``)."""
        super().__init__(message)
        if why is not None:
            self.reason = why
        self.problem: WriteProblem = problem
        self.folder = folder


def write_error(exc: OSError, path: Path) -> WriteError:
    problem: WriteProblem = "other"
    if exc.errno in _DISK_FULL:
        problem = "full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        problem = "read_only"
    why = os_error_reason(exc, path)
    return WriteError(why.text, problem, path.parent, why=why)


def explain_os_error(exc: OSError, path: Path) -> str:
    return os_error_reason(exc, path).text


def os_error_reason(exc: OSError, path: Path) -> Reason:
    """Why ``path`` could not be written, in the user's terms."""
    if exc.errno in _DISK_FULL:
        return reason("write_disk_full", f"the disk is full; {path.name} was not written", name=path.name)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return reason("write_no_permission", f"no permission to write in {path.parent}", folder=str(path.parent))
    if exc.errno == errno.EROFS:
        return reason("write_read_only", f"{path.parent} is on a read-only disk", folder=str(path.parent))
    if exc.errno == errno.ENAMETOOLONG:
        return reason("write_name_too_long", f"the name {path.name!r} is too long for this disk", name=path.name)
    detail = exc.strerror or str(exc)
    return reason("write_failed", f"{path.name} could not be written: {detail}", name=path.name, detail=detail)


@dataclass(frozen=True)
class WriteTarget:
    """Where a write to a path lands: ``path`` is the file itself, or the one its link leads to; ``mode`` is what
    is there now (``os.stat``'s, following links), None when nothing is."""

    path: Path
    mode: int | None

    @property
    def kind(self) -> str | None:
        """What is there when it is not a file ("a folder", "a named pipe", ...); None for a file or nothing."""
        if self.mode is None or stat.S_ISREG(self.mode):
            return None
        if stat.S_ISDIR(self.mode):
            return "a folder"
        if stat.S_ISFIFO(self.mode):
            return "a named pipe"
        if stat.S_ISCHR(self.mode):
            return "a device"
        if stat.S_ISBLK(self.mode):
            return "a disk device"
        return "a socket" if stat.S_ISSOCK(self.mode) else "not a regular file"

    @property
    def stream(self) -> bool:
        """A named pipe or a character device (``/dev/null``, a terminal, ``/dev/stdout``): it can be written to in
        place, and replacing it would break it."""
        return self.mode is not None and (stat.S_ISFIFO(self.mode) or stat.S_ISCHR(self.mode))


def write_target(path: Path, *, inside: Path | None = None) -> WriteTarget:
    """Where a write to ``path`` lands. A link is written through to the file it leads to; with ``inside``, only
    when that file is in the folder ``inside`` or below (``WriteError`` otherwise: a hostile folder's link must not
    make the app write elsewhere)."""
    try:
        linked = path.is_symlink()
        real = Path(os.path.realpath(path)) if linked else path
        if linked and inside is not None and not real.is_relative_to(os.path.realpath(inside)):
            raise WriteError(f"{path.name} could not be written: it is a link to {real}, outside its folder, and "
                             "nothing is written through such a link", "other", path.parent)
        # The kind from the path as given: the kernel follows /dev/stdout's links to a pipe that realpath cannot.
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None  # nothing there yet, or a link to a file not made yet: the write makes it
    except OSError as exc:
        raise write_error(exc, path) from exc
    return WriteTarget(real, mode)


def _temp_prefix(name: str) -> str:
    # Hidden, and short enough that a sidecar of a name near the 255-byte limit still gets a temp file; a byte of
    # the name that is not UTF-8 (``os.fsdecode``'s surrogate) is left out of it.
    return "." + name.encode(errors="ignore")[:40].decode(errors="ignore") + "."


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
    target = write_target(path, inside=path.parent)
    if target.kind is not None:
        raise WriteError(f"{shown.name} could not be written: it is {target.kind}, not a file, and was left as it is",
                         "other", shown.parent)
    path = target.path
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
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:  # a lone surrogate (a server's JSON can carry one): this file's problem
        raise WriteError(f"{path.name} was not written: its text holds {text[exc.start:exc.end]!a}, which "
                         f"{encoding} cannot hold", "other", path.parent) from exc
    atomic_write_bytes(path, data)


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
