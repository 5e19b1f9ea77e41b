"""XMP sidecar files: the caption beside the image, for types that cannot embed it, or when asked.

Where a sidecar lies is not decided here: every reader and writer takes the path that
``core/jobs/descriptions.py`` (``xmp_sidecar_of``) plans, the caption's ``.txt`` path with ``.xmp`` — ``photo.xmp``
beside ``photo.jpg`` (the extension replaced: the convention of Adobe Lightroom, Bridge and Camera Raw and
Capture One, which read no other; digiKam reads it too), ``a.png.xmp`` where ``a.jpg`` and ``a.png`` share a stem
(as their captions do), under the caption folder when captions go there. A path that is not an ``.xmp`` is
refused, so that an image can never be overwritten as a sidecar.

An existing sidecar is edited, not replaced: its other fields (ratings, keywords, develop settings) stay; one
Exiv2 cannot parse is left alone (``MetadataError``). The same fields as inside an image are written (XMP
``dc:description``, ``xmp:CreatorTool``, ``caprl:``), through Exiv2's own XMP writer and the same
copy-edit-rename as images (``_exiv2io.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import exiv2  # type: ignore[import-untyped]  # python-exiv2 ships no type hints

from caprl_desktop.core.metadata import _exiv2io
from caprl_desktop.core.metadata.fields import (
    XMP_DESCRIPTION,
    XMP_SUFFIX,
    Description,
    Existing,
    FieldSnapshot,
    Language,
    WriteResult,
    check_provenance,
    clean_for_xml,
)
from caprl_desktop.core.metadata.writer import describe, set_xmp_description, snapshot


def write_xmp_sidecar(
    sidecar: Path,
    text: str,
    language: Language,
    provenance: Mapping[str, str],
    *,
    existing: Existing = "keep",
) -> WriteResult:
    """Write the description into the XMP sidecar ``sidecar``; same rules and result as ``write_description``."""
    _check_name(sidecar)
    clean = clean_for_xml(text).strip()
    checked = check_provenance(provenance)
    if sidecar.exists():
        _exiv2io.check_writable(sidecar)

    def edit(image: exiv2.Image) -> WriteResult:
        stored = _exiv2io.as_stored(clean)
        before = snapshot(image)
        found = describe(image)
        own = found is not None and found.app_written
        if found is not None and not own and any(t.strip() for t in before.xmp.values()) and existing == "keep":
            raise _Kept(WriteResult(sidecar, stored, (), kept_existing=True))
        set_xmp_description(image.xmpData(), stored, language, checked)
        previous = None if own or (before.empty and before.creator_tool is None) else FieldSnapshot(
            xmp=before.xmp, creator_tool=before.creator_tool
        )
        return WriteResult(sidecar, stored, (XMP_DESCRIPTION,), previous=previous)

    try:
        return _exiv2io.edit_atomically(sidecar, edit)
    except _Kept as kept:
        return kept.result


def read_xmp_sidecar(sidecar: Path) -> Description | None:
    """The description in the XMP sidecar ``sidecar``, or None when there is no such file or it holds no text."""
    _check_name(sidecar)
    if not sidecar.is_file():
        return None
    with _exiv2io.exiv2_lock():
        found = describe(_exiv2io.open_image(sidecar))
    # Exiv2 mirrors a sidecar's XMP into EXIF and IPTC when it reads one; a sidecar has only XMP.
    return None if found is None else replace(found, exif=None, iptc=None)


def _check_name(sidecar: Path) -> None:
    if sidecar.suffix.lower() != XMP_SUFFIX:
        raise ValueError(f"not an XMP sidecar's name: {sidecar}")


class _Kept(Exception):
    def __init__(self, result: WriteResult) -> None:
        super().__init__()
        self.result = result
