"""A saved caption written as the image's description too: inside the file, or in an XMP sidecar.

The job's ``metadata`` option says where: ``"embed"`` writes into JPEG, PNG, WebP and TIFF files
(``core.metadata.can_embed``) and falls back to an XMP sidecar for any other type and for a photo that cannot
be written (a read-only file or folder, a damaged file, XMP in it that Exiv2 cannot parse and would drop);
``"xmp"`` always writes the sidecar; ``"off"`` writes nothing. ``xmp_sidecar_of`` is the one place that names
an image's XMP sidecar, for the job that writes it and for ``caprl-desktop metadata show`` that reads it:
``<caption .txt path>`` with ``.xmp`` for ``.txt``, beside the image (``photo.xmp``, the name Lightroom, Bridge
and Capture One read) or under the caption folder when captions go there, and ``a.png.xmp`` where two images
share a stem, as their captions do (``sidecars.py``), so no two images ever share one sidecar.

A failure here never costs the caption: its ``.txt`` is saved first, and the outcome's ``problem`` says what
went wrong with the description (the command line prints it; the run goes on).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.export.writers import SOURCE_MODEL
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.options import ExistingChoice, MetadataMode
from caprl_desktop.core.jobs.sidecars import plan_sidecars
from caprl_desktop.core.metadata.fields import XMP_SUFFIX, FieldSnapshot, MetadataError, WriteResult, can_embed


@dataclass(frozen=True)
class DescriptionOutcome:
    """What became of one caption's description.

    ``written``: the file that now holds it (the image, or its XMP sidecar); None when nothing was written.
    ``kept_existing``: a human description was there and was kept. ``previous``: the human description that
    was replaced inside ``written`` (journaled so that ``caprl-desktop metadata restore`` puts it back).
    ``note``: why the description went to a sidecar instead of the image. ``problem``: why it was not written.
    """

    image: Path
    written: Path | None = None
    kept_existing: bool = False
    previous: FieldSnapshot | None = None
    note: str = ""
    problem: str = ""


def provenance_mapping(provenance: Provenance | None) -> dict[str, str]:
    """The provenance as ``caprl:`` properties: its field names are XML names already; unknown values left out."""
    if provenance is None:
        return {}
    return {key: str(value) for key, value in provenance.to_dict().items() if value is not None and value != ""}


def xmp_sidecar_of(item: ImageItem, caption_folder: Path | None, text_sidecar: Path | None = None) -> Path:
    """The image's XMP sidecar: where its ``.txt`` caption goes (or would go), with ``.xmp``.

    ``text_sidecar``: the ``.txt`` path the job planned already (``plan_sidecars``); without it (``--no-sidecar``,
    or a reader) the name is planned as the ``.txt``'s would be: one folder scan, nothing beside a caption that
    takes seconds to make. ``caption_folder``: ``--output-dir``, as the run that wrote it was given."""
    base = text_sidecar if text_sidecar is not None else plan_sidecars([item], caption_folder).paths[item.path]
    return base.with_suffix(XMP_SUFFIX)


def clear_leftovers(items: Iterable[ImageItem], text_sidecars: Iterable[Path]) -> int:
    """Before a run writes: remove the temporary copies a killed description write left in the images' folders
    and where their sidecars go (``core.metadata.sweep_leftovers``: the app's own, their writers gone)."""
    from caprl_desktop.core.metadata import sweep_leftovers  # (Exiv2: when first needed)

    return sweep_leftovers({item.path.parent for item in items} | {path.parent for path in text_sidecars})


def write_caption_description(item: ImageItem, text: str, language: str, provenance: Provenance | None, *,
                              mode: MetadataMode, existing: ExistingChoice, text_sidecar: Path | None,
                              caption_folder: Path | None, source: str = SOURCE_MODEL,
                              edited_at: str = "") -> DescriptionOutcome | None:
    """Write ``text`` as ``item``'s description as ``mode`` says; None for ``"off"``. Never raises for one file's
    problem: the outcome says it. ``source``/``edited_at``: a caption not the model's as made (edited by hand,
    found on disk) says so beside the provenance (``caprl:source``, ``caprl:edited_at``), which then describes
    the model's caption it was edited from, if any."""
    if mode == "off":
        return None
    from caprl_desktop.core.metadata import write_description, write_xmp_sidecar  # (Exiv2: when first needed)

    lang: Any = language if language in ("ja", "en") else "en"
    mapping = provenance_mapping(provenance)
    if source != SOURCE_MODEL:
        mapping |= {"source": source} | ({"edited_at": edited_at} if edited_at else {})
    note = ""
    if mode == "embed":
        if can_embed(item.path):
            try:
                return _outcome(item, write_description(item.path, text, lang, mapping, existing=existing))
            except (WriteError, MetadataError) as exc:  # UnsupportedImageError too: not such a file inside
                note = f"not written inside the image ({exc})"
        else:
            note = f"{item.path.suffix or 'this type'} cannot hold a description inside"
    try:
        sidecar = xmp_sidecar_of(item, caption_folder, text_sidecar)
        if not sidecar.parent.is_dir():  # under a caption folder with no .txt written yet
            sidecar.parent.mkdir(parents=True, exist_ok=True)
        result = write_xmp_sidecar(sidecar, text, lang, mapping, existing=existing)
    except (WriteError, MetadataError, OSError) as exc:
        problem = f"description not written: {exc}"
        return DescriptionOutcome(item.path, note=note, problem=problem)
    return _outcome(item, result, note)


def _outcome(item: ImageItem, result: WriteResult, note: str = "") -> DescriptionOutcome:
    return DescriptionOutcome(item.path, None if result.kept_existing else result.path, result.kept_existing,
                              result.previous, note)


def snapshot_to_json(snapshot: FieldSnapshot) -> dict[str, Any]:
    """A ``FieldSnapshot`` as JSON-able data; raw field bytes as base64 (a Latin-1 description stays exact)."""

    def b64(raw: bytes | None) -> str | None:
        return None if raw is None else base64.b64encode(raw).decode("ascii")

    return {"xmp": dict(snapshot.xmp), "exif": b64(snapshot.exif), "iptc": b64(snapshot.iptc),
            "iptc_charset": b64(snapshot.iptc_charset), "creator_tool": snapshot.creator_tool}


def snapshot_from_json(data: Mapping[str, Any]) -> FieldSnapshot:
    """``snapshot_to_json``'s inverse; raises ``ValueError``/``TypeError`` for data in another layout."""

    def raw(key: str) -> bytes | None:
        value = data.get(key)
        return None if value is None else base64.b64decode(str(value), validate=True)

    xmp = data.get("xmp") or {}
    if not isinstance(xmp, dict):
        raise TypeError("xmp is not a mapping")
    creator = data.get("creator_tool")
    return FieldSnapshot(xmp={str(k): str(v) for k, v in xmp.items()}, exif=raw("exif"), iptc=raw("iptc"),
                         iptc_charset=raw("iptc_charset"), creator_tool=None if creator is None else str(creator))
