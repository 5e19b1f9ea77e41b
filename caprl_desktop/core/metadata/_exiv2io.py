"""Opening files with Exiv2 and changing them atomically: a copy is edited, synced and renamed over the file.

Exiv2 rewrites a file in place, so a kill or a full disk in the middle would leave a broken photo. Here the
original is first copied to a temporary file in the same folder (``core/atomic.py``'s naming, so the app's
leftover clean-up knows it), Exiv2 edits the copy, the copy is synced and renamed over the original, and the
folder is synced: a reader sees the old photo or the new one. The temporary file is removed on any failure.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import exiv2  # type: ignore[import-untyped]  # python-exiv2 ships no type hints

from caprl_desktop.core import atomic
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.metadata.fields import CAPRL_NS_PREFIX, CAPRL_NS_URI, MetadataError, UnsupportedImageError

T = TypeVar("T")
log = logging.getLogger(__name__)

# Exiv2's XMP toolkit keeps global state (the namespace registry, the parser) that is not safe across
# threads; captions are written on the worker thread while the window may read. One lock serialises all.
_LOCK = threading.RLock()
_registered = False


@contextlib.contextmanager
def exiv2_lock() -> Iterator[None]:
    global _registered
    with _LOCK:
        if not _registered:
            exiv2.XmpParser.initialize()
            exiv2.XmpProperties.registerNs(CAPRL_NS_URI, CAPRL_NS_PREFIX)
            _registered = True
        yield


def open_image(path: Path, name: str | None = None) -> exiv2.Image:
    """The file opened and its metadata read; the caller holds ``exiv2_lock``. ``name`` is the file's name
    in messages (the photo's, when ``path`` is its temporary copy)."""
    name = name or path.name
    try:
        image = exiv2.ImageFactory.open(str(path))
        image.readMetadata()
    except exiv2.Exiv2Error as exc:
        if exc.code == exiv2.ErrorCode.kerFileContainsUnknownImageType:
            raise UnsupportedImageError(f"{name} is not an image type that can hold a caption inside") from exc
        # Exiv2's own text names the file by its full (possibly temporary) path: the reason is what follows.
        reason = str(exc.message).rsplit(": ", 1)[-1]
        raise MetadataError(f"the metadata of {name} could not be read: {reason}") from exc
    return image


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
        fd, tmp = atomic._open_temp(path.parent, atomic._temp_prefix(path.name))
        with os.fdopen(fd, "wb") as out:
            atomic._keep_mode_and_owner(out.fileno(), path)
            if source.exists():
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        with exiv2_lock():
            if source.exists():
                image = open_image(tmp, path.name)
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
