"""ExifTool as the independent reader of what the metadata library wrote, and test images made with Pillow."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms

DATE_TAKEN = "2024:05:06 07:08:09"


def _tool() -> str:
    tool = shutil.which("exiftool")
    if tool is None:  # under .ci/run (CAPRL_NO_SKIPS) this skip fails the run
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl)")
    return tool


def exiftool_write(path: Path, *assignments: str) -> None:
    """Change ``path``'s metadata as another program would (``-TAG=VALUE`` arguments)."""
    subprocess.run([_tool(), "-q", "-overwrite_original", *assignments, str(path)], capture_output=True, check=True)


def exiftool(path: Path, *tags: str) -> dict[str, Any]:
    """ExifTool's reading of ``path`` (``-j -G1 -a``), keyed ``Group:Tag``; skips when it is not installed."""
    out = subprocess.run([_tool(), "-j", "-G1", "-a", *tags, str(path)], capture_output=True, check=True)
    found: dict[str, Any] = json.loads(out.stdout)[0]
    return found


def srgb_profile() -> bytes:
    profile: bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return profile


def make_photo(path: Path, fmt: str) -> Path:
    """A small noisy photo with an EXIF date taken and an sRGB ICC profile."""
    image = Image.effect_noise((96, 64), 60).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = DATE_TAKEN  # ExifIFD DateTimeOriginal
    image.save(path, fmt, exif=exif.tobytes(), icc_profile=srgb_profile())
    return path
