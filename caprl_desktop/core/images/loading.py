"""Turns an image file into the RGB pixels the model sees, the way a person would expect it to look.

What it takes care of: EXIF orientation (phone photos), transparency flattened onto white, palette,
16-bit, float and CMYK images, the first frame of animations, decompression bombs and absurd shapes,
and files that are not images at all.  The file is read into memory and closed at once, since Windows
locks files that stay open.  The result is raw RGB, already scaled to the image-token budget, so
llama.cpp never sees a path (non-ASCII paths have failed there on Windows) nor untrusted encoded bytes.

Memory: a 400 KB PNG can hold 14000×14000 16-bit pixels, within the pixel limit, and each full-size
copy of it costs hundreds of MB (it once took 5.4 GB here).  So the bytes its pixels take decoded are
limited too, JPEGs are decoded at a reduced scale, and any other large image is decoded once and then
reduced strip by strip to about the size the model needs before it is turned, converted or scaled:
the full-size pixels are the only full-size copy, and they go as soon as the reduced image exists.
"""

from __future__ import annotations

import errno
import io
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageMode, UnidentifiedImageError

from caprl_desktop.core.errors import ImageLoadError
from caprl_desktop.core.images.formats import DECODERS, FORMAT_NAMES
from caprl_desktop.core.long_paths import for_os
from caprl_desktop.core.units import human_size

MAX_SOURCE_PIXELS = 200_000_000  # above a 200 MP camera, so any real photo passes
# The decoded pixels of one image, as Pillow keeps them (RGB in 4 bytes a pixel, 16-bit gray in 2): a 151 MP
# medium-format photo (605 MB) passes; with the rest of a load an image stays well under 1 GB of memory.
MAX_DECODED_BYTES = 640_000_000
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
        raise ImageLoadError(f"{path.name} no longer exists", kind="image_gone", name=path.name) from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path.name} is a folder, not an image", kind="image_not_file", name=path.name,
                             what="folder") from None
    except PermissionError:
        raise ImageLoadError(f"{path.name} cannot be read: permission denied", kind="image_no_permission",
                             name=path.name) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageLoadError(f"{path.name} is a symbolic link that leads back to itself", kind="image_link_loop",
                                 name=path.name) from None
        raise _unreadable(path, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = _kind(info.st_mode)
            raise ImageLoadError(f"{path.name} is {_KINDS[what]}, not an image file", kind="image_not_file",
                                 name=path.name, what=what)
        if info.st_size > MAX_FILE_BYTES:
            gib = f"{info.st_size / (1 << 30):.1f}"
            raise ImageLoadError(f"{path.name} is {gib} GiB, too large for an image (a video or disk image with an "
                                 "image's name?)", kind="image_file_too_large", name=path.name, gib=gib)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:  # it grew while being read
            raise ImageLoadError(f"{path.name} is too large for an image", kind="image_file_too_large",
                                 name=path.name, gib="")
        return data
    except OSError as exc:
        raise _unreadable(path, exc) from None
    finally:
        os.close(fd)


def _unreadable(path: Path, exc: OSError) -> ImageLoadError:
    detail = exc.strerror or str(exc)
    return ImageLoadError(f"{path.name} cannot be read: {detail}", kind="image_unreadable", name=path.name,
                          detail=detail)


# What a path that is not a file is ("what" of the reason "image_not_file"), in the core's English.
_KINDS = {"pipe": "a named pipe (FIFO)", "device": "a device", "socket": "a socket", "folder": "a folder",
          "other": "not a regular file"}


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def load_image(source: Path | bytes, max_pixels: int, *, name: str | None = None) -> PreparedImage:
    """Decode, orient, convert and scale an image to at most ``max_pixels`` pixels."""
    label = name or (source.name if isinstance(source, Path) else "the image")
    data = read_image_bytes(source) if isinstance(source, Path) else source
    if not data:
        raise ImageLoadError(f"{label} is an empty file", kind="image_empty", name=label)
    try:
        return _prepare(data, max_pixels, label)
    except ImageLoadError:
        raise
    except MemoryError:
        raise ImageLoadError(f"{label} is too large to decode in the memory available", kind="image_out_of_memory",
                             name=label) from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input; each becomes a message
        detail = _reason(exc)
        raise ImageLoadError(f"{label} is damaged or not a supported image ({detail})", kind="image_damaged",
                             name=label, detail=detail) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text if text and len(text) < 200 else type(exc).__name__


def _prepare(data: bytes, max_pixels: int, label: str) -> PreparedImage:
    # Pillow registers WebP and TIFF lazily; without this, formats= below fails with KeyError.
    Image.init()
    try:
        opened = Image.open(io.BytesIO(data), formats=DECODERS)
    except UnidentifiedImageError:
        raise ImageLoadError(f"{label} is not an image the app can read ({FORMAT_NAMES})", kind="image_unsupported",
                             name=label, formats=FORMAT_NAMES) from None
    with opened:
        fmt = opened.format or "?"
        width, height = opened.size
        _check_shape(width, height, label)
        if fmt in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the budget is far below the photo's size.
            scale = math.sqrt(max_pixels / (width * height))
            if scale < 0.5:
                opened.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
        _check_decoded_bytes(opened, label)
        opened.load()
        turn = _orientation(opened)
        img = _reduced(opened, max_pixels)
        if img is not opened:
            opened.close()  # the full-size pixels go now
        if turn is not None:
            img = img.transpose(turn)
        img = _to_rgb(img)
        img = _fit(img, max_pixels)
        return PreparedImage(img.width, img.height, img.tobytes(), width, height, fmt)


def decoded_bytes(width: int, height: int, mode: str) -> int:
    """The memory an image's pixels take decoded, as Pillow keeps them (a pixel of several bands in 4 bytes)."""
    described = ImageMode.getmode(mode)
    return width * height * (4 if len(described.bands) > 1 else int(described.typestr[-1]))


def _check_decoded_bytes(img: Image.Image, label: str) -> None:
    width, height = img.size
    need = decoded_bytes(width, height, img.mode)
    if need > MAX_DECODED_BYTES:
        raise ImageLoadError(f"{label} is {width}×{height} pixels ({img.mode}) that would take {human_size(need)} "
                             f"of memory decoded; the limit is {human_size(MAX_DECODED_BYTES)}",
                             kind="image_too_much_memory", name=label, width=width, height=height, mode=img.mode,
                             need=human_size(need), limit=human_size(MAX_DECODED_BYTES))


_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> Image.Transpose | None:
    """How to turn the image upright (EXIF orientation, as phones write it), read before it is reduced."""
    try:
        return _TURNS.get(img.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # noqa: BLE001 - a corrupt EXIF block should not cost the caption
        return None


_STRIP_BYTES = 8 << 20  # of the full-size image, converted and reduced at a time


def _reduced(img: Image.Image, max_pixels: int) -> Image.Image:
    """``img`` reduced by a whole factor to no fewer than ``max_pixels`` pixels, in the mode ``_to_rgb`` takes;
    ``img`` itself when it is not twice as wide and high as that.

    Strip by strip, so that converting (16-bit to 32-bit, palette to RGBA) and Pillow's own premultiplying
    of alpha never make a second full-size copy."""
    width, height = img.size
    factor = math.isqrt(width * height // max_pixels) if max_pixels > 0 else 1
    if factor < 2:
        return img
    mode = _working_mode(img)
    out = Image.new(mode, (math.ceil(width / factor), math.ceil(height / factor)))
    rows = max(1, _STRIP_BYTES // (width * 4 * factor)) * factor
    for top in range(0, height, rows):
        strip = img.crop((0, top, width, min(top + rows, height)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


def _working_mode(img: Image.Image) -> str:
    """A mode Pillow can average pixels in that keeps what ``_to_rgb`` needs: the tones of 16-bit and float
    images, and transparency (flattened onto white later)."""
    mode = img.mode
    if mode == "F":
        return "F"
    if mode.startswith("I"):
        return "I"
    if "A" in mode or "a" in mode or "transparency" in img.info:
        return "RGBA"
    return "L" if mode in ("1", "L") else "RGB"


def _check_shape(width: int, height: int, label: str) -> None:
    if width < 1 or height < 1:
        raise ImageLoadError(f"{label} has no pixels", kind="image_no_pixels", name=label)
    if width * height > MAX_SOURCE_PIXELS:
        megapixels, limit = f"{width * height / 1e6:.0f}", f"{MAX_SOURCE_PIXELS / 1e6:.0f}"
        raise ImageLoadError(f"{label} is {width}×{height} pixels ({megapixels} MP); the limit is {limit} MP",
                             kind="image_too_many_pixels", name=label, width=width, height=height,
                             megapixels=megapixels, limit=limit)
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise ImageLoadError(
            f"{label} is {width}×{height} pixels: shapes longer than {MAX_ASPECT_RATIO}:1 cannot be captioned",
            kind="image_too_long", name=label, width=width, height=height, ratio=MAX_ASPECT_RATIO)


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
    """16-bit and float grayscale: Pillow's convert("L") clips these to mostly white, so scale instead (in
    32-bit floats, in place: the image is reduced to about the model's size already)."""
    import numpy as np  # (here: only 16-bit and float images need it, and the window's start must not pay for it)

    arr = np.array(img, dtype=np.float32)  # a copy of its own: np.asarray of a float image is read-only
    if img.mode == "F":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if hi > lo:
            arr -= lo
            arr *= 255 / (hi - lo)
        else:
            arr = np.zeros_like(arr)
    else:
        peak = float(arr.max(initial=0))
        if peak > 255:
            arr *= 255 / (65535 if peak <= 65535 else peak)
    np.nan_to_num(arr, copy=False)
    return Image.fromarray(arr.clip(0, 255, out=arr).astype(np.uint8), mode="L")


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
