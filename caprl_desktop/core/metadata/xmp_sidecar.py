"""XMP sidecar files: the caption beside the image, for types that cannot embed it, or when asked.

The name is ``photo.xmp`` beside ``photo.jpg`` (the extension replaced): the convention of Adobe Lightroom,
Bridge and Camera Raw and Capture One, which read no other; digiKam reads it too (it also reads and by default
writes ``photo.jpg.xmp``, the darktable convention, which Adobe's tools ignore). One name that every one of
these finds beats the name only two do. The cost: ``photo.jpg`` and ``photo.png`` in one folder share
``photo.xmp``; the caller must not give both a sidecar.

An existing sidecar is edited, not replaced: its other fields (ratings, keywords, develop settings) stay.
The same fields as inside an image are written (XMP ``dc:description``, ``xmp:CreatorTool``, ``caprl:``),
through Exiv2's own XMP writer and the same copy-edit-rename as images (``_exiv2io.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import exiv2  # type: ignore[import-untyped]  # python-exiv2 ships no type hints

from caprl_desktop.core.metadata import _exiv2io
from caprl_desktop.core.metadata.fields import (
    XMP_CAPRL,
    XMP_CREATOR_TOOL,
    XMP_DESCRIPTION,
    XMP_DESCRIPTION_HASH,
    Description,
    Existing,
    FieldSnapshot,
    Language,
    WriteResult,
    check_provenance,
    clean_for_xml,
    description_hash,
)
from caprl_desktop.core.metadata.writer import CREATOR_TOOL, describe, snapshot


def sidecar_path(image_path: Path) -> Path:
    return image_path.with_suffix(".xmp")


def write_xmp_sidecar(
    image_path: Path,
    text: str,
    language: Language,
    provenance: Mapping[str, str],
    *,
    existing: Existing = "keep",
) -> WriteResult:
    """Write the description into ``photo.xmp`` beside ``image_path``; same rules and result as
    ``write_description`` (the result's ``path`` is the sidecar's)."""
    path = sidecar_path(image_path)
    clean = clean_for_xml(text).strip()
    checked = check_provenance(provenance)
    if path.exists():
        _exiv2io.check_writable(path)

    def edit(image: exiv2.Image) -> WriteResult:
        before = snapshot(image)
        found = describe(image)
        own = found is not None and found.app_written
        if found is not None and not own and any(t.strip() for t in before.xmp.values()) and existing == "keep":
            raise _Kept(WriteResult(path, clean, (), kept_existing=True))
        xmp_data = image.xmpData()
        while XMP_DESCRIPTION in xmp_data:
            del xmp_data[XMP_DESCRIPTION]
        xmp_data[XMP_DESCRIPTION] = exiv2.LangAltValue({"x-default": clean, language: clean})
        xmp_data[XMP_CREATOR_TOOL] = CREATOR_TOOL
        for key in [d.key() for d in xmp_data if d.key().startswith(XMP_CAPRL)]:
            del xmp_data[key]
        for key, value in checked.items():
            xmp_data[XMP_CAPRL + key] = value
        xmp_data[XMP_DESCRIPTION_HASH] = description_hash(clean)
        previous = None if own or (before.empty and before.creator_tool is None) else FieldSnapshot(
            xmp=before.xmp, creator_tool=before.creator_tool
        )
        return WriteResult(path, clean, (XMP_DESCRIPTION,), previous=previous)

    try:
        return _exiv2io.edit_atomically(path, edit)
    except _Kept as kept:
        return kept.result


def read_xmp_sidecar(image_path: Path) -> Description | None:
    """The description in ``photo.xmp`` beside ``image_path``, or None when there is no sidecar or no text."""
    path = sidecar_path(image_path)
    if not path.is_file():
        return None
    with _exiv2io.exiv2_lock():
        found = describe(_exiv2io.open_image(path))
    # Exiv2 mirrors a sidecar's XMP into EXIF and IPTC when it reads one; a sidecar has only XMP.
    return None if found is None else replace(found, exif=None, iptc=None)


class _Kept(Exception):
    def __init__(self, result: WriteResult) -> None:
        super().__init__()
        self.result = result
