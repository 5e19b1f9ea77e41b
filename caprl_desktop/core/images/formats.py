"""The image types the app reads, in one list: what discovery takes, the loader decodes and the OS entries offer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    name: str  # as people write it
    decoder: str  # Pillow's format name
    mime_type: str
    extensions: tuple[str, ...]  # lower case, with the dot


FORMATS = (
    # The JPEG decoder also returns MPO images, which many cameras and phones write into .jpg files.
    ImageFormat("JPEG", "JPEG", "image/jpeg", (".jpg", ".jpeg", ".jpe")),
    ImageFormat("PNG", "PNG", "image/png", (".png",)),
    ImageFormat("WebP", "WEBP", "image/webp", (".webp",)),
    ImageFormat("BMP", "BMP", "image/bmp", (".bmp",)),
    ImageFormat("TIFF", "TIFF", "image/tiff", (".tif", ".tiff")),
    ImageFormat("GIF", "GIF", "image/gif", (".gif",)),
    # iPhones' photos, decoded by the pillow-heif plugin (Qt has no reader of its own for them).
    ImageFormat("HEIC", "HEIF", "image/heic", (".heic", ".heif")),
    # Android phones' and browsers' newer photos; Pillow decodes AVIF itself since 11.3 (libavif in its wheels).
    ImageFormat("AVIF", "AVIF", "image/avif", (".avif",)),
)
QT_CANNOT_READ = frozenset({".heic", ".heif", ".avif"})  # the window's thumbnails of these go through Pillow
IMAGE_EXTENSIONS = tuple(ext for f in FORMATS for ext in f.extensions)
IMAGE_MIME_TYPES = tuple(f.mime_type for f in FORMATS)
DECODERS = tuple(f.decoder for f in FORMATS)
FORMAT_NAMES = ", ".join(f.name for f in FORMATS)  # "JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC, AVIF"
