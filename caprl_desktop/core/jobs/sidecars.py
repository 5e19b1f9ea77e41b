"""Sidecar captions: ``photo.txt`` beside ``photo.jpg`` (UTF-8), the layout kohya, OneTrainer and TagGUI read.

Two images with the same stem in one folder (``a.jpg`` and ``a.png``) would share ``a.txt``.  The first
in natural order keeps ``a.txt``; each other one gets its full name plus ``.txt`` (``a.png.txt``), and
the clash is reported so the user knows.  The choice depends only on the folder's image names, so a
later run picks the same files again.  Stems are compared case-insensitively, as Windows and macOS do.

A sidecar that is a symbolic link leading outside its own folder (``a.txt -> ../../secret.txt``, in a
downloaded dataset say) is never read as a caption, so that the file it leads to is neither shown,
exported nor taken for the image's caption; the plan names it (``core/atomic.py`` decides what a write to
it does). A sidecar that is no regular file (a named pipe) is not read either.

When the images' folders cannot be written to (a read-only disk, a share, a locked card), captions go to
a caption folder instead: ``<caption folder>/<name of the folder given>/<same relative path>.txt``, so
two folders given at once keep apart and a later run finds its captions again.
"""

from __future__ import annotations

import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

from caprl_desktop.core.atomic import atomic_write_text, write_error
from caprl_desktop.core.jobs.discovery import ImageItem, is_image_path, natural_key
from caprl_desktop.core.long_paths import for_os

SIDECAR_SUFFIX = ".txt"


@dataclass(frozen=True)
class SidecarClash:
    folder: Path
    images: tuple[str, ...]  # names, the first keeps stem.txt
    sidecars: tuple[str, ...]

    def describe(self) -> str:
        pairs = ", ".join(f"{img} → {txt}" for img, txt in zip(self.images, self.sidecars, strict=True))
        return f"{', '.join(self.images)} share a name in {self.folder}; captions go to {pairs}"


@dataclass(frozen=True)
class SidecarLink(SidecarClash):
    """An image's sidecar name is taken by a symbolic link to a file outside the sidecar's folder: not read."""

    target: Path

    def describe(self) -> str:
        return (f"{self.sidecars[0]} is a link to {self.target}, outside {self.folder}: it is not read as the caption "
                f"of {self.images[0]}")


@dataclass(frozen=True)
class SidecarPlan:
    paths: dict[Path, Path]
    clashes: tuple[SidecarClash, ...]  # said before a run: name clashes, then sidecars that are links leading out


def _folder_images(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if is_image_path(Path(e.name)) and not e.is_dir()]
    except OSError:
        return []


def plan_sidecars(items: Iterable[ImageItem], caption_folder: Path | None = None) -> SidecarPlan:
    """The sidecar path of each image, and the name clashes found in their folders."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    roots: dict[Path, Path] = {}
    for item in items:
        by_folder[item.path.parent].append(item.path)
        roots[item.path] = item.root

    paths: dict[Path, Path] = {}
    clashes: list[SidecarClash] = []
    for folder, wanted in by_folder.items():
        names = set(_folder_images(folder)) | {p.name for p in wanted}
        groups: dict[str, list[str]] = defaultdict(list)
        for name in names:
            groups[Path(name).stem.casefold()].append(name)
        assigned: dict[str, str] = {}
        for group in groups.values():
            group.sort(key=natural_key)
            assigned[group[0]] = Path(group[0]).stem + SIDECAR_SUFFIX
            for other in group[1:]:
                assigned[other] = other + SIDECAR_SUFFIX
            if len(group) > 1 and any(p.name in group for p in wanted):
                clashes.append(SidecarClash(folder, tuple(group), tuple(assigned[n] for n in group)))
        for image in wanted:
            beside = folder / assigned[image.name]
            paths[image] = beside if caption_folder is None else _moved(beside, roots[image], caption_folder)
    clashes.sort(key=lambda c: (str(c.folder), natural_key(c.images[0])))
    links = [SidecarLink(sidecar.parent, (image.name,), (sidecar.name,), target) for image, sidecar in paths.items()
             if (target := leads_outside(sidecar)) is not None]
    return SidecarPlan(paths, (*clashes, *links))


def _moved(beside: Path, root: Path, caption_folder: Path) -> Path:
    try:
        relative = beside.relative_to(root)
    except ValueError:  # an image given by a path outside its root cannot happen; keep the name at least
        relative = Path(beside.name)
    return caption_folder / root_folder_name(_named(root)) / relative


def _named(root: Path) -> Path:
    """The folder ``root`` is, by a name it really has: ``..`` or ``a/b/..`` resolved (their last part would put
    captions beside the caption folder), a link's own name kept otherwise, so a later run finds them again."""
    absolute = root.absolute()
    if ".." not in absolute.parts:
        return absolute
    try:
        return absolute.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Python before 3.13)
        return Path(os.path.normpath(absolute))


def root_folder_name(root: PurePath) -> str:
    """The folder a root's captions go in under a caption folder: its name, or for a root that has none a
    name from its drive (``E:\\`` → ``E-drive``, ``\\\\nas\\photos`` → ``nas-photos``), so that two drives
    given at once keep apart; ``/`` is ``root``."""
    if root.name:
        return root.name
    drive = re.sub(r"[^\w.-]+", "-", root.drive.removeprefix("\\\\?\\")).strip("-")
    if re.fullmatch(r"[A-Za-z]-?", drive):
        return f"{drive[0].upper()}-drive"
    return drive or "root"


def leads_outside(path: Path) -> Path | None:
    """Where ``path`` leads when it is a symbolic link (or a chain of them) to somewhere outside the folder it is
    in; None when it is no link, leads inside, or leads nowhere that can be named (a loop)."""
    try:
        if not for_os(path).is_symlink():
            return None
        target = for_os(path).resolve()
        folder = for_os(path.parent).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop (Python before 3.13); reading it fails anyway
        return None
    return None if target.is_relative_to(folder) else target


def read_sidecar(path: Path) -> str | None:
    """The caption in a sidecar, or None when there is none (an empty file counts as none), or when it is not
    one to read: a link leading outside its folder (``leads_outside``), or no regular file (a named pipe would
    block the read for ever)."""
    if leads_outside(path) is not None:
        return None
    try:
        fd = os.open(for_os(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    text = data.decode("utf-8-sig", errors="replace")
    return text if text.strip() else None


def write_sidecar(path: Path, caption: str) -> None:
    """Write atomically: a killed run never leaves half a caption.  Raises ``WriteError``."""
    folder = for_os(path.parent)
    if not folder.is_dir():  # only under a caption folder: an image's own folder exists
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, path) from exc
    atomic_write_text(path, caption.rstrip() + "\n")
