"""Captions written into image files' own metadata, and read back, without touching a pixel.

What goes where (``fields.py``, and ``docs/metadata.md`` for what Explorer, Finder, Lightroom and digiKam
show): XMP ``dc:description`` as a language alternative (``x-default`` and the caption's language) in every
file; EXIF ``ImageDescription`` only for a caption in plain ASCII; IPTC ``Caption-Abstract`` (UTF-8 declared)
only where the file already carries IPTC; ``xmp:CreatorTool`` and the app's own XMP namespace (``caprl:``)
say that the app wrote it and with which model, so a machine description can be told from a human one.

The library is the ``exiv2`` binding (python-exiv2, PyPI ``exiv2``), not ``pyexiv2``: both wrap the same C++
Exiv2, which rewrites only the metadata segments of JPEG, PNG, WebP and TIFF and copies the compressed image
data as it is (Pillow would re-encode it). python-exiv2 exposes Exiv2's own API (language alternatives,
namespace registration, image types, XMP sidecars as images) and ships wheels for Windows, macOS and Linux;
pyexiv2 is a smaller fixed API that its author documents as not thread-safe, and the app writes from a
worker thread while the window may read. Exiv2's XMP toolkit is not safe across threads either, so every
call into it here is made under one lock (``_exiv2io.py``).

This package knows nothing of jobs, the journal or the window: the caller says what to write and keeps the
``WriteResult`` (its ``previous``) if it wants to undo it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from caprl_desktop.core.metadata.fields import (
    CAPRL_NS_PREFIX,
    CAPRL_NS_URI,
    EMBEDDABLE_SUFFIXES,
    XMP_SUFFIX,
    Description,
    FieldSnapshot,
    MetadataError,
    UnsupportedImageError,
    WriteResult,
    can_embed,
    clean_for_xml,
)

if TYPE_CHECKING:
    from caprl_desktop.core.metadata._exiv2io import sweep_leftovers
    from caprl_desktop.core.metadata.writer import read_description, restore_description, write_description
    from caprl_desktop.core.metadata.xmp_sidecar import read_xmp_sidecar, write_xmp_sidecar

# What needs Exiv2 is imported when first used: the window starts without it (an import of 30–80 ms), and most
# runs write no descriptions.
_NEEDS_EXIV2 = {"sweep_leftovers": "_exiv2io", "read_description": "writer", "restore_description": "writer",
                "write_description": "writer", "read_xmp_sidecar": "xmp_sidecar", "write_xmp_sidecar": "xmp_sidecar"}


def __getattr__(name: str) -> Any:
    module = _NEEDS_EXIV2.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

__all__ = [
    "CAPRL_NS_PREFIX",
    "CAPRL_NS_URI",
    "EMBEDDABLE_SUFFIXES",
    "XMP_SUFFIX",
    "Description",
    "FieldSnapshot",
    "MetadataError",
    "UnsupportedImageError",
    "WriteResult",
    "can_embed",
    "clean_for_xml",
    "read_description",
    "read_xmp_sidecar",
    "restore_description",
    "sweep_leftovers",
    "write_description",
    "write_xmp_sidecar",
]
