"""Writing a caption into a JPEG, PNG, WebP or TIFF file's metadata, reading it back, and undoing it.

The pixels are never decoded: Exiv2 rewrites the metadata segments and copies the image data as it is. Every
change goes through ``_exiv2io.edit_atomically`` (copy, edit, sync, rename), so a failure at any moment
leaves the original photo as it was. Which fields are written and why: ``fields.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import exiv2  # type: ignore[import-untyped]  # python-exiv2 ships no type hints

from caprl_desktop import __version__
from caprl_desktop.core.metadata import _exiv2io
from caprl_desktop.core.metadata.fields import (
    EXIF_DESCRIPTION,
    IPTC_CAPTION,
    IPTC_CAPTION_MAX_BYTES,
    IPTC_CHARSET,
    IPTC_UTF8,
    XMP_CAPRL,
    XMP_CREATOR_TOOL,
    XMP_DESCRIPTION,
    XMP_DESCRIPTION_HASH,
    Description,
    Existing,
    FieldSnapshot,
    Language,
    MetadataError,
    UnsupportedImageError,
    WriteResult,
    can_embed,
    check_provenance,
    clean_for_xml,
    description_hash,
    is_placeholder,
)

_EMBEDDABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/tiff"})
_ALWAYS_EXIF = frozenset({"image/jpeg", "image/tiff"})  # a TIFF has IFD0 anyway; JPEG's APP1 is its home
CREATOR_TOOL = f"CapRL Desktop {__version__}"


class _NothingToDo(Exception):
    """Raised inside an edit to drop the copy: the file keeps its human description."""

    def __init__(self, result: WriteResult) -> None:
        super().__init__()
        self.result = result


def write_description(
    path: Path,
    text: str,
    language: Language,
    provenance: Mapping[str, str],
    *,
    existing: Existing = "keep",
) -> WriteResult:
    """Write ``text`` as the description of the image at ``path``.

    A human description already there (any of the fields, a camera's placeholder aside) is kept with
    ``existing="keep"`` and replaced with ``"replace"``; the result's ``previous`` then holds it for
    ``restore_description``. A description the app wrote before is always replaced.
    Raises ``UnsupportedImageError`` for a type that cannot embed, ``WriteError`` when the file or folder
    cannot be written (nothing changes then), ``MetadataError`` when Exiv2 cannot read or write the file.
    """
    _check_type_by_name(path)
    clean = clean_for_xml(text).strip()
    checked = check_provenance(provenance)
    _exiv2io.check_writable(path)

    def edit(image: exiv2.Image) -> WriteResult:
        _check_type(image, path)
        stored = _exiv2io.as_stored(clean)
        before = snapshot(image)
        own = _app_written(image, before)
        human = not own and _has_human_text(before)
        if human and existing == "keep":
            raise _NothingToDo(WriteResult(path, stored, (), kept_existing=True))
        written, truncated = _apply(image, stored, language, checked)
        previous = None if own or (before.empty and before.creator_tool is None) else before
        return WriteResult(path, stored, written, previous=previous, iptc_truncated=truncated)

    try:
        return _exiv2io.edit_atomically(path, edit)
    except _NothingToDo as kept:
        return kept.result


def read_description(path: Path) -> Description | None:
    """The description in the file's metadata, or None when it has none (a camera placeholder counts as none)."""
    with _exiv2io.exiv2_lock():
        image = _exiv2io.open_image(path)
        return describe(image)


def restore_description(path: Path, previous: FieldSnapshot | None) -> None:
    """Undo the app's description: put ``previous`` (a ``WriteResult.previous``) back, field by field and byte
    for byte, or remove the app's description when there was none. The app's namespace fields go too.

    Refuses (``MetadataError``) when the description there now is not the app's, e.g. edited by hand since.
    """
    _check_type_by_name(path)
    _exiv2io.check_writable(path)

    def edit(image: exiv2.Image) -> None:
        _check_type(image, path)
        now = snapshot(image)
        if not _app_written(image, now):
            if now.empty:
                raise _NothingToDo(WriteResult(path, "", ()))
            raise MetadataError(
                f"the description of {path.name} was changed since the app wrote it; it was left as it is"
            )
        _put_back(image, previous or FieldSnapshot())

    try:
        _exiv2io.edit_atomically(path, edit)
    except _NothingToDo:
        return


def describe(image: exiv2.Image) -> Description | None:
    """The ``Description`` of an opened image (or XMP sidecar); used by the sidecar module too."""
    snap = snapshot(image)
    exif = _text(snap.exif)
    iptc = _text(snap.iptc)
    if exif is not None and is_placeholder(exif):
        exif = None
    if not snap.xmp and exif is None and not (iptc or "").strip():
        return None
    text = snap.xmp.get("x-default") or next(iter(snap.xmp.values()), "") or iptc or exif or ""
    xmp_data = image.xmpData()
    provenance = {
        d.key()[len(XMP_CAPRL):]: d.toString()
        for d in xmp_data
        if d.key().startswith(XMP_CAPRL) and d.key() != XMP_DESCRIPTION_HASH
    }
    return Description(text, dict(snap.xmp), exif, iptc, _app_written(image, snap), provenance, snap.creator_tool)


def snapshot(image: exiv2.Image) -> FieldSnapshot:
    xmp_data, exif_data, iptc_data = image.xmpData(), image.exifData(), image.iptcData()
    langs: dict[str, str] = {}
    if XMP_DESCRIPTION in xmp_data:
        value = xmp_data[XMP_DESCRIPTION].getValue()
        if isinstance(value, exiv2.LangAltValue):
            langs = {lang: text for lang, text in value.items()}
        else:  # a writer that ignored the schema and stored plain text
            langs = {"x-default": value.toString()}
    creator = xmp_data[XMP_CREATOR_TOOL].toString() if XMP_CREATOR_TOOL in xmp_data else None
    return FieldSnapshot(
        xmp=langs,
        exif=_raw(exif_data, EXIF_DESCRIPTION),
        iptc=_raw(iptc_data, IPTC_CAPTION),
        iptc_charset=_raw(iptc_data, IPTC_CHARSET),
        creator_tool=creator,
    )


def _raw(data: exiv2.ExifData | exiv2.IptcData, key: str) -> bytes | None:
    if key not in data:
        return None
    return bytes(data[key].value().data()).rstrip(b"\0")


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _app_written(image: exiv2.Image, snap: FieldSnapshot) -> bool:
    xmp_data = image.xmpData()
    if XMP_DESCRIPTION_HASH not in xmp_data or not snap.xmp:
        return False
    return str(xmp_data[XMP_DESCRIPTION_HASH].toString()) == description_hash(snap.xmp.get("x-default", ""))


def _has_human_text(snap: FieldSnapshot) -> bool:
    exif = _text(snap.exif)
    return (
        any(t.strip() for t in snap.xmp.values())
        or bool((_text(snap.iptc) or "").strip())
        or (exif is not None and not is_placeholder(exif))
    )


def _apply(
    image: exiv2.Image, text: str, language: Language, provenance: Mapping[str, str]
) -> tuple[tuple[str, ...], bool]:
    xmp_data, exif_data, iptc_data = image.xmpData(), image.exifData(), image.iptcData()
    written = [XMP_DESCRIPTION]
    set_xmp_description(xmp_data, text, language, provenance)

    if text.isascii() and (image.mimeType() in _ALWAYS_EXIF or len(exif_data)):
        exif_data[EXIF_DESCRIPTION] = exiv2.AsciiValue(text)
        written.append(EXIF_DESCRIPTION)
    else:  # not ASCII: Explorer reads this field first, as ASCII; an old text there would hide the new one
        _remove(exif_data, EXIF_DESCRIPTION)

    truncated = False
    if len(iptc_data) and _iptc_is_utf8_compatible(iptc_data):
        encoded = text.encode("utf-8")
        truncated = len(encoded) > IPTC_CAPTION_MAX_BYTES
        iptc_data[IPTC_CHARSET] = IPTC_UTF8
        iptc_data[IPTC_CAPTION] = encoded[:IPTC_CAPTION_MAX_BYTES].decode("utf-8", errors="ignore")
        written.append(IPTC_CAPTION)
    return tuple(written), truncated


def set_xmp_description(xmp_data: exiv2.XmpData, text: str, language: Language,
                        provenance: Mapping[str, str]) -> None:
    """The XMP fields of a description, in an image or a sidecar: ``text`` as ``as_stored`` gives it (the hash
    is of what a reader gets back), the writer, and the provenance as checked by ``check_provenance``."""
    _remove(xmp_data, XMP_DESCRIPTION)
    xmp_data[XMP_DESCRIPTION] = exiv2.LangAltValue({"x-default": text, language: text})
    xmp_data[XMP_CREATOR_TOOL] = CREATOR_TOOL
    for key in [d.key() for d in xmp_data if d.key().startswith(XMP_CAPRL)]:
        _remove(xmp_data, key)
    for key, value in provenance.items():
        xmp_data[XMP_CAPRL + key] = value
    xmp_data[XMP_DESCRIPTION_HASH] = description_hash(text)


def _iptc_is_utf8_compatible(iptc_data: exiv2.IptcData) -> bool:
    """Declaring UTF-8 must not change how the block's other texts read: fine when one is declared already or
    every text decodes as UTF-8 (ASCII included); a legacy Latin-1 block is left alone."""
    if IPTC_CHARSET in iptc_data:
        return _raw(iptc_data, IPTC_CHARSET) == IPTC_UTF8.encode()
    for datum in iptc_data:
        if datum.typeId() == exiv2.TypeId.string:
            try:
                bytes(datum.value().data()).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


def _put_back(image: exiv2.Image, snap: FieldSnapshot) -> None:
    xmp_data, exif_data, iptc_data = image.xmpData(), image.exifData(), image.iptcData()
    _remove(xmp_data, XMP_DESCRIPTION)
    if snap.xmp:
        xmp_data[XMP_DESCRIPTION] = exiv2.LangAltValue(dict(snap.xmp))
    _remove(xmp_data, XMP_CREATOR_TOOL)
    if snap.creator_tool is not None:
        xmp_data[XMP_CREATOR_TOOL] = snap.creator_tool
    for key in [d.key() for d in xmp_data if d.key().startswith(XMP_CAPRL)]:
        _remove(xmp_data, key)
    _remove(exif_data, EXIF_DESCRIPTION)
    if snap.exif is not None:
        exif_data[EXIF_DESCRIPTION] = _ascii_value(snap.exif)
    if IPTC_CAPTION in iptc_data or snap.iptc is not None:
        _remove(iptc_data, IPTC_CAPTION)
        _remove(iptc_data, IPTC_CHARSET)
        if snap.iptc is not None:
            iptc_data[IPTC_CAPTION] = _string_value(snap.iptc)
        if snap.iptc_charset is not None:
            iptc_data[IPTC_CHARSET] = _string_value(snap.iptc_charset)


def _ascii_value(raw: bytes) -> exiv2.AsciiValue:
    value = exiv2.AsciiValue()
    # Reading raw bytes is the only way to put a legacy (non-UTF-8) description back unchanged; python-exiv2
    # marks this overload deprecated for ordinary use, which this is not.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value.read(raw, exiv2.ByteOrder.littleEndian)
    return value


def _string_value(raw: bytes) -> exiv2.StringValue:
    value = exiv2.StringValue()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value.read(raw)
    return value


def _remove(data: exiv2.XmpData | exiv2.ExifData | exiv2.IptcData, key: str) -> None:
    while key in data:  # IPTC may repeat a dataset
        del data[key]


def _check_type_by_name(path: Path) -> None:
    if not can_embed(path):
        raise UnsupportedImageError(f"{path.name} is of a type that cannot hold a caption inside")


def _check_type(image: exiv2.Image, path: Path) -> None:
    if image.mimeType() not in _EMBEDDABLE_TYPES:
        raise UnsupportedImageError(f"{path.name} is not a JPEG, PNG, WebP or TIFF image inside, despite its name")
