"""Finds the images to caption under the paths a user gives, in the order a file manager shows them."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS
from caprl_desktop.core.long_paths import for_os


@dataclass(frozen=True)
class ImageItem:
    """An image and the folder the user named, which exports are relative to."""

    path: Path
    root: Path

    @property
    def file_name(self) -> str:
        """Relative path with forward slashes: Hugging Face ImageFolder's ``file_name``."""
        return self.path.relative_to(self.root).as_posix()


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def natural_key(text: str) -> list[object]:
    """img2 before img10, case-insensitively."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class UnreadFolder:
    """A folder whose images were not all taken, and why, in words that finish "could not read <folder>: "."""

    path: Path
    reason: str

    def describe(self) -> str:
        return f"{self.path}: {self.reason}"


def _path_limit() -> int | None:
    """The longest path this system opens, in bytes; None where there is none the app meets (Windows: every
    file call gets the long form, ``core/long_paths.py``)."""
    if os.name == "nt":
        return None
    try:
        limit = os.pathconf("/", "PC_PATH_MAX")  # 4,096 on Linux, 1,024 on macOS; it counts the final NUL
    except (OSError, ValueError):
        return 4095
    return limit - 1 if limit > 0 else None


PATH_LIMIT = _path_limit()

_FOLDER, _LINKED_FOLDER, _FILE = range(3)


def _kind(entry: os.DirEntry[str]) -> int:
    try:
        if entry.is_dir():
            return _LINKED_FOLDER if entry.is_symlink() else _FOLDER
    except OSError:
        pass
    return _FILE


def _entries(folder: Path) -> list[tuple[str, int]]:
    """The names in ``folder`` and their kinds; a folder past the system's path limit is listed through
    folder handles, one level at a time (openat), as no path call can reach it."""
    try:
        with os.scandir(for_os(folder)) as found:
            return [(entry.name, _kind(entry)) for entry in found]
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG or os.scandir not in os.supports_fd:
            raise
    handle = _open_deep(folder)
    try:
        with os.scandir(handle) as found:
            return [(entry.name, _kind(entry)) for entry in found]
    finally:
        os.close(handle)


def _open_deep(folder: Path) -> int:
    parts = folder.absolute().parts
    handle = os.open(parts[0], os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    for part in parts[1:]:
        try:
            inner = os.open(part, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), dir_fd=handle)
        finally:
            os.close(handle)
        handle = inner
    return handle


def _too_long(path: Path) -> bool:
    return PATH_LIMIT is not None and len(os.fsencode(path)) > PATH_LIMIT


def _unreadable(folder: Path, error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    if error.errno == errno.ENAMETOOLONG:
        return f"its path is too long for this system ({len(os.fsencode(folder)):,} bytes)"
    return error.strerror or str(error)


def _walk(root: Path, denied: list[Path] | None = None, unread: list[UnreadFolder] | None = None,
          ) -> Iterable[Path]:
    # Hidden folders (.git, .thumbnails, macOS resource forks) hold no user photos; symlinked folders are
    # not followed, so a link loop cannot trap the scan.
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = _entries(folder)
        except OSError as error:
            # macOS refuses Desktop, Documents and removable volumes to an app not allowed there (privacy), as
            # any system refuses a folder without permission: say so, instead of "no images found".
            if denied is not None and isinstance(error, PermissionError):
                denied.append(folder)
            if unread is not None:
                unread.append(UnreadFolder(folder, _unreadable(folder, error)))
            continue
        left_out = 0
        for name, kind in entries:
            path = folder / name
            if kind == _FOLDER and not name.startswith("."):
                folders.append(path)
            elif kind == _FILE and is_image_path(path):
                if _too_long(path):  # listed, but no call could open it, read it or save its caption
                    left_out += 1
                else:
                    yield path
        if left_out and unread is not None:
            unread.append(UnreadFolder(folder, (
                f"its path is too long for this system ({len(os.fsencode(folder)):,} bytes; at most "
                f"{PATH_LIMIT:,} can be opened), so {left_out} image{'s' if left_out > 1 else ''} in it cannot be "
                "captioned there: move the folder higher up")))


def find_images(paths: Iterable[Path], *, denied: list[Path] | None = None,
                unread: list[UnreadFolder] | None = None) -> tuple[list[ImageItem], list[Path]]:
    """Images under ``paths`` (folders recursively), sorted naturally, each once; plus paths not found.

    A file named directly is taken even with an unusual extension: the loader will say if it is no image.
    ``denied`` collects the folders that could not be read for want of permission (or macOS privacy settings);
    ``unread`` every folder that could not be read, or whose images could not all be taken, with the reason.
    """
    items: list[ImageItem] = []
    missing: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            root = path
            found = sorted(_walk(root, denied, unread), key=lambda p: natural_key(p.relative_to(root).as_posix()))
        elif path.exists():
            root, found = path.parent, [path]
        else:
            missing.append(path)
            continue
        for image in found:
            key = _identity(image)
            if key not in seen:
                seen.add(key)
                items.append(ImageItem(image, root))
    return items, missing


def _identity(path: Path) -> Path:
    """The file a path leads to, to take it once; a link loop or an unreadable link is its own identity.

    Discovery never opens an entry (a named pipe would block): whether it is an image the loader says,
    with the reason, so that no single entry can stop or hang the scan."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python before 3.13)
        return path.absolute()
