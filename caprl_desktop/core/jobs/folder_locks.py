"""One captioning run per folder at a time, across app windows and CLI runs of the same user.

Two runs writing the same sidecars would interleave (and each would count the other's captions as its
own). A run holds a lock per folder it captions; a second run on that folder, or on a folder inside it
or around it, is refused with a message naming the process that holds it. The locks live in the app's
data folder, not in the user's folders, and are released when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import filelock

from caprl_desktop.core import paths
from caprl_desktop.core.errors import CaprlError


class FolderBusyError(CaprlError):
    pass


def _locks_dir() -> Path:
    folder = paths.data_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _identity(folder: Path) -> str:
    """The folder as the file system knows it (device and file number), whatever the spelling: a symlink, a
    different case on a case-insensitive disk, an 8.3 or UNC name of one folder all give the same identity.
    The path itself stands in for a folder that cannot be looked at."""
    try:
        info = folder.stat()
    except OSError:
        return "path:" + str(folder)
    return f"id:{info.st_dev}:{info.st_ino}" if info.st_ino else "path:" + str(folder.resolve())


def _lineage(folder: Path) -> list[str]:
    """The identities of ``folder`` and every folder above it."""
    return [_identity(p) for p in (folder, *folder.parents)]


def _key(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _overlap(mine: list[str], other: list[str]) -> bool:
    """One folder is the other, or inside it: its identity is in the other's lineage."""
    return mine[0] in other or other[0] in mine


def _held_by_other(lock_path: Path) -> bool:
    probe = filelock.FileLock(str(lock_path), timeout=0)
    try:
        probe.acquire()
    except filelock.Timeout:
        return True
    probe.release()
    return False


def _holder(info_path: Path) -> tuple[str, dict[str, str | int]]:
    """Who holds a folder, in words and as the parameters of a reason (``pid`` and ``what``; none when unknown)."""
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        pid, what = int(info["pid"]), str(info.get("what", "captioning"))
        return f"process {pid} ({what})", {"pid": pid, "what": what}
    except (OSError, ValueError, KeyError, TypeError):
        return "another CapRL Desktop window or command", {}


@contextlib.contextmanager
def folder_locks(roots: Iterable[Path], what: str = "captioning") -> Iterator[None]:
    """Hold the folders ``roots`` for the duration; ``FolderBusyError`` if another run has one of them."""
    wanted = sorted({Path(r).absolute() for r in roots})
    lineages = {root: _lineage(root) for root in wanted}
    folder = _locks_dir()
    held: list[tuple[filelock.FileLock, Path]] = []
    try:
        for root in wanted:
            lock_path = folder / f"{_key(lineages[root][0])}.lock"
            info_path = lock_path.with_suffix(".json")
            lock = filelock.FileLock(str(lock_path), timeout=0)
            try:
                lock.acquire()
            except filelock.Timeout:
                holder, who = _holder(info_path)
                raise FolderBusyError(f"{root} is being captioned by {holder}. Wait for it to finish, or stop it, "
                                      "then try again.", kind="folder_busy", folder=str(root), **who) from None
            held.append((lock, info_path))
            info_path.write_text(json.dumps({"pid": os.getpid(), "root": str(root), "what": what,
                                             "lineage": lineages[root]}), encoding="utf-8")
        _refuse_overlaps(folder, lineages, {info for _, info in held})
        yield
    finally:
        for lock, info_path in reversed(held):
            with contextlib.suppress(OSError):
                info_path.unlink()
            lock.release()


def _refuse_overlaps(folder: Path, lineages: dict[Path, list[str]], ours: set[Path]) -> None:
    """A run on /photos and one on /photos/2024 would write the same sidecars: the later one gives way."""
    for info_path in folder.glob("*.json"):
        if info_path in ours:
            continue
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            other = Path(info["root"])
            other_lineage = [str(i) for i in info.get("lineage") or _lineage(other)]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        clash = next((root for root, lineage in lineages.items() if _overlap(lineage, other_lineage)), None)
        if clash is not None and _held_by_other(info_path.with_suffix(".lock")):
            holder, who = _holder(info_path)
            raise FolderBusyError(f"{other} is being captioned by {holder}, and {clash} overlaps it. Wait for it to "
                                  "finish, or stop it, then try again.", kind="folder_overlaps", folder=str(other),
                                  clash=str(clash), **who)
