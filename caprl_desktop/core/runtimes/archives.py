"""Unpacking a runtime's archives (``.tar.gz`` and ``.zip``) into its folder, and nowhere else.

Every member is checked before anything is written: a name that is absolute, has a drive, or climbs out with
``..``; a link whose target leads outside the folder (or is absolute); a hard link to something not in the
archive; a device, pipe or socket: any of these refuses the whole archive, with the member named. One top
folder that holds everything (``llama-<tag>/`` in the Linux and macOS builds) is dropped, so every build lays
its files out the same way: ``llama-server`` and its libraries side by side at the top.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from caprl_desktop.core.errors import CaprlError


class ArchiveError(CaprlError):
    """An archive that is damaged or would write outside its folder; nothing of it was unpacked."""


@dataclass(frozen=True)
class _Member:
    name: str  # normalised, "/"-separated, relative to the archive's root (then to the folder: ``_plan``)
    kind: Literal["dir", "file", "symlink", "hardlink"]
    source: str  # its name in the archive, as stored
    link: str = ""  # a link's target
    mode: int = 0o644


def unpack(archive: Path, into: Path) -> list[Path]:
    """Unpack ``archive`` into the folder ``into`` (created if missing); returns the files written.

    Raises ``ArchiveError`` before writing anything when a member would land outside ``into``."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                plan = _plan([_zip_member(zipped, info, archive.name) for info in zipped.infolist()], archive.name)
                into.mkdir(parents=True, exist_ok=True)
                return _write(plan, into, lambda member: zipped.open(member.source))
        with tarfile.open(archive, "r:*") as tarred:
            infos = tarred.getmembers()
            plan = _plan([_tar_member(info, archive.name) for info in infos], archive.name)
            by_name = {info.name: info for info in infos}
            into.mkdir(parents=True, exist_ok=True)
            return _write(plan, into, lambda member: _tar_file(tarred, by_name[member.source]))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive.name} is not a readable archive ({exc}); nothing more of it was "
                           "unpacked") from exc


def unpacked_size(archive: Path) -> int:
    """The bytes ``archive``'s files take unpacked (as its listing says), for a disk-space check first."""
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                return sum(info.file_size for info in zipped.infolist())
        with tarfile.open(archive, "r:*") as tarred:
            return sum(info.size for info in tarred.getmembers() if info.isfile())
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive.name} is not a readable archive ({exc}); nothing of it was unpacked") from exc


# --- reading members ----------------------------------------------------------------------------


def _absolute(name: str) -> bool:
    return name.startswith("/") or (len(name) > 1 and name[1] == ":")


def _clean(name: str, archive: str) -> str:
    """A member's name as a relative "/" path; ``ArchiveError`` for one that is absolute or climbs out."""
    unified = name.replace("\\", "/")
    if _absolute(unified):
        raise ArchiveError(f"{archive} was not unpacked: its member {name!r} has an absolute path")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive} was not unpacked: its member {name!r} would land outside the runtime's "
                           "folder")
    return "/".join(parts)


def _tar_member(info: tarfile.TarInfo, archive: str) -> _Member:
    name = _clean(info.name, archive)
    if info.isdir():
        return _Member(name, "dir", info.name)
    if info.isfile():
        return _Member(name, "file", info.name, mode=info.mode)
    if info.issym():
        return _Member(name, "symlink", info.name, info.linkname)
    if info.islnk():
        return _Member(name, "hardlink", info.name, _clean(info.linkname, archive))
    raise ArchiveError(f"{archive} was not unpacked: its member {info.name!r} is a device, pipe or other special "
                       "file")


def _zip_member(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, archive: str) -> _Member:
    name = _clean(info.filename, archive)
    mode = info.external_attr >> 16
    if info.is_dir():
        return _Member(name, "dir", info.filename)
    if stat.S_ISLNK(mode):  # (7-Zip's -snl stores links as links)
        return _Member(name, "symlink", info.filename, zipped.read(info).decode("utf-8", "replace"))
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # (no type bits: a plain file, as most tools write it)
        raise ArchiveError(f"{archive} was not unpacked: its member {info.filename!r} is a special file")
    return _Member(name, "file", info.filename, mode=mode & 0o777 or 0o644)


def _tar_file(tarred: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    source = tarred.extractfile(info)
    if source is None:
        raise ArchiveError(f"{info.name} could not be read from the archive")
    return source


# --- checking where they land -------------------------------------------------------------------


def _top_folder(members: list[_Member]) -> str:
    """The one top folder every member is under ("" when there is none to drop)."""
    named = [m for m in members if m.name]
    tops = {m.name.split("/", 1)[0] for m in named}
    if len(tops) != 1:
        return ""
    top = tops.pop()
    under = [m for m in named if m.name != top]
    if not under or any(m.name == top and m.kind != "dir" for m in named):
        return ""
    return top


def _strip(name: str, top: str) -> str:
    return name[len(top) + 1:] if top and name.startswith(top + "/") else "" if name == top else name


def _plan(members: list[_Member], archive: str) -> list[_Member]:
    """The members as they land (named relative to the folder, the top folder dropped), each checked."""
    top = _top_folder(members)
    planned: dict[str, _Member] = {}
    for member in members:
        name = _strip(member.name, top)
        if not name:
            continue
        link = member.link
        if member.kind == "symlink":
            given = link.replace("\\", "/")
            link = posixpath.normpath(posixpath.join(posixpath.dirname(name), given))
            if _absolute(given) or link == ".." or link.startswith("../"):
                raise ArchiveError(f"{archive} was not unpacked: its link {member.source!r} points outside the "
                                   f"runtime's folder ({member.link!r})")
        elif member.kind == "hardlink":
            link = _strip(link, top)
            if link not in planned or planned[link].kind != "file":
                raise ArchiveError(f"{archive} was not unpacked: its link {member.source!r} points to "
                                   f"{member.link!r}, which is not a file before it in the archive")
        planned[name] = _Member(name, member.kind, member.source, link, member.mode)
    return list(planned.values())


# --- writing ------------------------------------------------------------------------------------


def _target(into: Path, name: str) -> Path:
    """Where ``name`` lands; a link unpacked earlier (this archive's or another's) never carries it elsewhere."""
    parent = into
    for part in name.split("/")[:-1]:
        parent = parent / part
        if parent.is_symlink():
            raise ArchiveError(f"{name} would be written through the link {parent.name}; nothing more was "
                               "unpacked")
    return into.joinpath(*name.split("/"))


def _prepare(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()


def _write(plan: list[_Member], into: Path, read: Callable[[_Member], IO[bytes]]) -> list[Path]:
    written: list[Path] = []
    for member in plan:
        path = _target(into, member.name)
        if member.kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        _prepare(path)
        if member.kind == "symlink":
            _link(path, member.link, into)
        elif member.kind == "hardlink":
            shutil.copy2(into.joinpath(*member.link.split("/")), path)
        else:
            with read(member) as source, open(path, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            if os.name != "nt":  # what the build made executable stays so; nothing becomes writable by others
                path.chmod(member.mode & 0o755 | 0o600)
        written.append(path)
    return written


def _link(path: Path, target: str, into: Path) -> None:
    """A link inside the folder (``target`` relative to the folder); a copy where the system makes no links."""
    real = into.joinpath(*target.split("/"))
    try:
        path.symlink_to(os.path.relpath(real, path.parent))
    except OSError:  # Windows without the right to make links: a copy of what it points to, if that is there yet
        if real.is_file():
            shutil.copy2(real, path)
