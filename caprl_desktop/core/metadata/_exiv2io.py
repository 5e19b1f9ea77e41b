"""Opening files with Exiv2 and changing them atomically: a copy is edited, synced and renamed over the file.

Exiv2 rewrites a file in place, so a kill or a full disk in the middle would leave a broken photo. Here the
original is first copied to a temporary file in the same folder, Exiv2 edits the copy, the copy is synced and
renamed over the original, and the folder is synced: a reader sees the old photo or the new one. The temporary
file is removed on any failure; one that a kill left behind (a hidden copy as large as the photo) carries the
app's mark, this computer and the writer's process (``.photo.jpg.caprl-<host>-<pid>-<random>.tmp``), so that the
next run over the folder (``sweep_leftovers``) removes it once its writer is gone, and never a user's file.

Exiv2's own messages ("XMP Toolkit error 201", "Failed to decode XMP metadata") go to the app's log, never to
stderr: the user is told the app's own sentence. A photo whose XMP Exiv2 cannot parse is not written (Exiv2
would drop the old packet and write only the new fields): the caller gets a ``MetadataError`` and writes
elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import exiv2  # type: ignore[import-untyped]  # python-exiv2 ships no type hints
import psutil

from caprl_desktop.core import atomic
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.metadata.fields import (
    CAPRL_NS_PREFIX,
    CAPRL_NS_URI,
    XMP_DESCRIPTION,
    MetadataError,
    UnsupportedImageError,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

# Exiv2's XMP toolkit keeps global state (the namespace registry, the parser) that is not safe across
# threads; captions are written on the worker thread while the window may read. One lock serialises all.
_LOCK = threading.RLock()
_registered = False

# A temporary copy with no writer for this long is stale even where its writer cannot be asked about (another
# computer on a shared folder): a write touches the file as it goes, and none takes more than seconds of silence.
STALE_AFTER_S = 3600.0
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:6]
_TEMP_MARK = "caprl"
_LEFTOVER = re.compile(rf"^\..*\.{_TEMP_MARK}-(?P<host>[0-9a-f]{{6}})-(?P<pid>[0-9]+)-[0-9a-f]{{8}}\.tmp$", re.DOTALL)


class _Exiv2Messages(logging.Handler):
    """Exiv2's messages (python-exiv2 sends them to the ``exiv2`` logger, which without a handler of its own
    printed them on stderr) into the app's log; while ``heard`` is a list, its warnings and errors are kept there
    too, for the call that caused them to judge. Only ever used under ``_LOCK``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.heard: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        # INFO: a library's complaint about a user's file is no fault of the app; the app says what it did.
        log.info("Exiv2 %s: %s", record.levelname.lower(), message)
        if self.heard is not None and record.levelno >= logging.WARNING:
            self.heard.append(message)


_MESSAGES = _Exiv2Messages()
_exiv2_log = logging.getLogger("exiv2")
_exiv2_log.addHandler(_MESSAGES)
_exiv2_log.propagate = False


@contextlib.contextmanager
def _listening() -> Iterator[list[str]]:
    """The warnings and errors Exiv2 logs during the block (the caller holds ``exiv2_lock``)."""
    heard: list[str] = []
    outer, _MESSAGES.heard = _MESSAGES.heard, heard
    try:
        yield heard
    finally:
        _MESSAGES.heard = outer


@contextlib.contextmanager
def exiv2_lock() -> Iterator[None]:
    global _registered
    with _LOCK:
        if not _registered:
            exiv2.XmpParser.initialize()
            exiv2.XmpProperties.registerNs(CAPRL_NS_URI, CAPRL_NS_PREFIX)
            _registered = True
        yield


def open_image(path: Path, name: str | None = None, *, to_write: bool = False) -> exiv2.Image:
    """The file opened and its metadata read; the caller holds ``exiv2_lock``. ``name`` is the file's name
    in messages (the photo's, when ``path`` is its temporary copy). ``to_write``: refuse (``MetadataError``) a
    file whose XMP Exiv2 could not parse, which a write would silently replace."""
    name = name or path.name
    try:
        with _listening() as heard:
            image = exiv2.ImageFactory.open(str(path))
            image.readMetadata()
    except exiv2.Exiv2Error as exc:
        if exc.code == exiv2.ErrorCode.kerFileContainsUnknownImageType:
            raise UnsupportedImageError(f"{name} is not an image type that can hold a caption inside") from exc
        # Exiv2's own text names the file by its full (possibly temporary) path: the reason is what follows.
        reason = str(exc.message).rsplit(": ", 1)[-1]
        raise MetadataError(f"the metadata of {name} could not be read: {reason}") from exc
    if to_write and heard and _xmp_unreadable(image):
        raise MetadataError(f"the XMP metadata already in {name} is damaged, so the file was left as it is; "
                            "Exiv2's reason is in the log")
    return image


def _xmp_unreadable(image: exiv2.Image) -> bool:
    """A packet is there but gave no properties while Exiv2 complained: it could not be parsed. (A packet
    that is well formed but empty gives none too, without a complaint: writing over it loses nothing.)"""
    return bool(str(image.xmpPacket()).strip()) and not len(image.xmpData())


def as_stored(text: str) -> str:
    """``text`` as Exiv2's XMP toolkit stores it in ``dc:description``, found by encoding it into a packet and
    parsing that again (the caller holds ``exiv2_lock``): the hash that marks the app's own description must be
    of the text a reader gets back. ``clean_for_xml`` leaves nothing the toolkit changes; this is the proof."""
    data = exiv2.XmpData()
    data[XMP_DESCRIPTION] = exiv2.LangAltValue({"x-default": text})
    code, packet = exiv2.XmpParser.encode(data, 0, 0)
    if code:
        raise MetadataError(f"the description could not be put into XMP (Exiv2's XMP toolkit failed, code {code})")
    raw = packet.encode("utf-8")  # held here: Exiv2 reads the buffer in place, after ``open`` returns
    parsed = exiv2.ImageFactory.open(raw)
    parsed.readMetadata()
    back = parsed.xmpData()
    if XMP_DESCRIPTION not in back:
        return ""
    return str(dict(back[XMP_DESCRIPTION].getValue().items()).get("x-default", ""))


def check_writable(path: Path) -> None:
    """A read-only photo stays untouched: renaming over it would succeed (the folder decides a rename), so
    the file's own write permission is asked for explicitly, by its mode too (root passes ``os.access``)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise atomic.write_error(exc, path) from exc
    if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
        raise WriteError(f"{path.name} is read-only; nothing was written into it", "other", path.parent)


def edit_atomically(path: Path, edit: Callable[[exiv2.Image], T], *, source: Path | None = None) -> T:
    """Run ``edit`` on a copy of ``source`` (default: ``path``) opened with Exiv2, write the copy's
    metadata and put it in place of ``path``. ``edit``'s result is returned."""
    source = path if source is None else source
    tmp: Path | None = None
    try:
        fd, tmp = atomic._open_temp(path.parent, _temp_prefix(path.name))
        with os.fdopen(fd, "wb") as out:
            atomic._keep_mode_and_owner(out.fileno(), path)
            if source.exists():
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        with exiv2_lock():
            if source.exists():
                image = open_image(tmp, path.name, to_write=True)
            else:  # a new XMP sidecar: Exiv2 makes it as an image of its own type
                image = exiv2.ImageFactory.create(exiv2.ImageType.xmp, str(tmp))
            result = edit(image)
            try:
                image.writeMetadata()
            except exiv2.Exiv2Error as exc:
                if exc.code == exiv2.ErrorCode.kerImageWriteFailed:
                    raise OSError(errno.EIO, exc.message) from exc
                reason = str(exc.message).rsplit(": ", 1)[-1]
                raise MetadataError(f"the metadata of {path.name} could not be written: {reason}") from exc
            del image
        with tmp.open("rb+") as synced:
            os.fsync(synced.fileno())
        tmp.replace(path)
        tmp = None
        atomic._sync_folder(path.parent)
        return result
    except OSError as exc:
        raise atomic.write_error(exc, path) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _temp_prefix(name: str) -> str:
    return f"{atomic._temp_prefix(name)}{_TEMP_MARK}-{_HOST}-{os.getpid()}-"


def sweep_leftovers(folders: Iterable[Path]) -> int:
    """Remove the temporary copies that a killed write left in ``folders``; returns how many.

    Only files of the app's own pattern go, and only when their writer is gone: a process of this computer that
    no longer runs, or, wherever it ran, no change for ``STALE_AFTER_S``. A second run's copy in the making (a
    ``metadata restore`` beside a caption run, another account, another computer on a shared folder) stays.
    """
    removed = 0
    now = time.time()
    for folder in dict.fromkeys(folders):
        try:
            with os.scandir(folder) as entries:
                found = [(Path(e.path), _LEFTOVER.match(e.name)) for e in entries if e.name.endswith(".tmp")]
        except OSError:
            continue  # a folder that cannot be read has no leftovers the app could remove either
        for path, match in found:
            if match is None:
                continue
            try:
                info = path.lstat()
                if not stat.S_ISREG(info.st_mode):
                    continue
                gone = match["host"] == _HOST and not psutil.pid_exists(int(match["pid"]))
                if gone or now - info.st_mtime > STALE_AFTER_S:
                    path.unlink()
                    removed += 1
            except OSError as exc:
                log.info("a leftover temporary file could not be removed: %s (%s)", path, exc.strerror or exc)
    if removed:
        log.info("removed %d leftover temporary file(s) of a killed description write", removed)
    return removed
