"""Finds the images to caption under the paths a user gives, in the order a file manager shows them."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS


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


def _walk(root: Path, denied: list[Path] | None = None) -> Iterable[Path]:
    # Hidden folders (.git, .thumbnails, macOS resource forks) hold no user photos; symlinked folders are
    # not followed, so a link loop cannot trap the scan.
    def unreadable(error: OSError) -> None:
        # macOS refuses Desktop, Documents and removable volumes to an app not allowed there (privacy), as any
        # system refuses a folder without permission: say so, instead of "no images found".
        if denied is not None and isinstance(error, PermissionError) and error.filename:
            denied.append(Path(error.filename))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder)
        for name in files:
            path = base / name
            if is_image_path(path):
                yield path


def find_images(paths: Iterable[Path], *, denied: list[Path] | None = None,
                ) -> tuple[list[ImageItem], list[Path]]:
    """Images under ``paths`` (folders recursively), sorted naturally, each once; plus paths not found.

    A file named directly is taken even with an unusual extension: the loader will say if it is no image.
    ``denied`` collects the folders that could not be read (no permission, or macOS privacy settings).
    """
    items: list[ImageItem] = []
    missing: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            root = path
            found = sorted(_walk(root, denied), key=lambda p: natural_key(p.relative_to(root).as_posix()))
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
