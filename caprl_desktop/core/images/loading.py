"""Turns an image file into the RGB pixels the model sees, the way a person would expect it to look.

What it takes care of: EXIF orientation (phone photos), transparency flattened onto white, palette,
16-bit, float and CMYK images, the first frame of animations, decompression bombs and absurd shapes,
and files that are not images at all.  The file is read into memory and closed at once, since Windows
locks files that stay open.  The result is raw RGB, already scaled to the image-token budget, so
llama.cpp never sees a path (non-ASCII paths have failed there on Windows) nor untrusted encoded bytes.
"""

from __future__ import annotations

import errno
import io
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from caprl_desktop.core.errors import ImageLoadError
from caprl_desktop.core.images.formats import DECODERS, FORMAT_NAMES
from caprl_desktop.core.long_paths import for_os

MAX_SOURCE_PIXELS = 200_000_000  # above a 200 MP camera, so any real photo passes
MAX_FILE_BYTES = 1 << 30
MAX_ASPECT_RATIO = 200  # Qwen2.5-VL's own limit; beyond it the image grid degenerates
MIN_SIDE = 28  # one image token

pillow_heif.register_heif_opener()  # HEIC/HEIF: the same limits, orientation and conversion as every format

# The size check below replaces Pillow's global decompression-bomb warning, which would otherwise fire
# (as a warning, not an error) for large but legitimate photos.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class PreparedImage:
    """Upright 8-bit RGB pixels, row by row, ready for ``mtmd_bitmap_init``."""

    width: int
    height: int
    rgb: bytes
    source_width: int
    source_height: int
    source_format: str


def read_image_bytes(path: Path) -> bytes:
    """Read a whole file, closing it at once; raises ``ImageLoadError`` with the reason.

    Only a regular file is read, and only up to ``MAX_FILE_BYTES``: a named pipe would block the read for
    ever and ``/dev/zero`` (or a video named .jpg) would fill the memory. The file is opened without
    blocking, so a pipe put in an image's place after the folder was scanned cannot hang the job either.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(for_os(path), flags)
    except FileNotFoundError:
        raise ImageLoadError(f"{path.name} no longer exists") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path.name} is a folder, not an image") from None
    except PermissionError:
        raise ImageLoadError(f"{path.name} cannot be read: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageLoadError(f"{path.name} is a symbolic link that leads back to itself") from None
        raise ImageLoadError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageLoadError(f"{path.name} is {_kind(info.st_mode)}, not an image file")
        if info.st_size > MAX_FILE_BYTES:
            raise ImageLoadError(f"{path.name} is {info.st_size / (1 << 30):.1f} GiB, too large for an image "
                                 "(a video or disk image with an image's name?)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:  # it grew while being read
            raise ImageLoadError(f"{path.name} is too large for an image")
        return data
    except OSError as exc:
        raise ImageLoadError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def load_image(source: Path | bytes, max_pixels: int, *, name: str | None = None) -> PreparedImage:
    """Decode, orient, convert and scale an image to at most ``max_pixels`` pixels."""
    label = name or (source.name if isinstance(source, Path) else "the image")
    data = read_image_bytes(source) if isinstance(source, Path) else source
    if not data:
        raise ImageLoadError(f"{label} is an empty file")
    try:
        return _prepare(data, max_pixels, label)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"{label} is too large to decode in the memory available") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input; each becomes a message
        raise ImageLoadError(f"{label} is damaged or not a supported image ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text if text and len(text) < 200 else type(exc).__name__


def _prepare(data: bytes, max_pixels: int, label: str) -> PreparedImage:
    # Pillow registers WebP and TIFF lazily; without this, formats= below fails with KeyError.
    Image.init()
    try:
        opened = Image.open(io.BytesIO(data), formats=DECODERS)
    except UnidentifiedImageError:
        raise ImageLoadError(f"{label} is not an image the app can read ({FORMAT_NAMES})") from None
    with opened:
        fmt = opened.format or "?"
        width, height = opened.size
        _check_shape(width, height, label)
        if fmt in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the budget is far below the photo's size.
            scale = math.sqrt(max_pixels / (width * height))
            if scale < 0.5:
                opened.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
        opened.load()
        img = _upright(opened)
        img = _to_rgb(img)
        img = _fit(img, max_pixels)
        return PreparedImage(img.width, img.height, img.tobytes(), width, height, fmt)


def _check_shape(width: int, height: int, label: str) -> None:
    if width < 1 or height < 1:
        raise ImageLoadError(f"{label} has no pixels")
    if width * height > MAX_SOURCE_PIXELS:
        raise ImageLoadError(
            f"{label} is {width}×{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {MAX_SOURCE_PIXELS / 1e6:.0f} MP"
        )
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise ImageLoadError(
            f"{label} is {width}×{height} pixels: shapes longer than {MAX_ASPECT_RATIO}:1 cannot be captioned"
        )


def _upright(img: Image.Image) -> Image.Image:
    try:
        rotated = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a corrupt EXIF block should not cost the caption
        return img
    return rotated if rotated is not None else img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        img = _to_8bit_gray(img)
        mode = img.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img if mode == "RGB" else img.convert("RGB")


def _to_8bit_gray(img: Image.Image) -> Image.Image:
    """16-bit and float grayscale: Pillow's convert("L") clips these to mostly white, so scale instead."""
    arr = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
    else:
        peak = float(arr.max(initial=0))
        arr = arr / (65535 if peak <= 65535 else peak) * 255 if peak > 255 else arr
    return Image.fromarray(np.nan_to_num(arr).clip(0, 255).astype(np.uint8), mode="L")


def _fit(img: Image.Image, max_pixels: int) -> Image.Image:
    width, height = img.size
    if width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if min(width, height) < MIN_SIDE:
        # A few-pixel icon: enlarge so its short side spans one image token (nearest keeps it crisp).
        scale = MIN_SIDE / min(width, height)
        size = (math.ceil(width * scale), math.ceil(height * scale))
        return img.resize(size, Image.Resampling.NEAREST)
    return img
