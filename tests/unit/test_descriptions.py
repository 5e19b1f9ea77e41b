"""The job's side of ``--metadata``: where a description goes, what a failure leaves, and the journaled snapshot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from caprl_desktop.core.jobs.descriptions import (
    provenance_mapping,
    snapshot_from_json,
    snapshot_to_json,
    write_caption_description,
)
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.metadata import FieldSnapshot, read_description, read_xmp_sidecar
from caprl_desktop.core.settings import CaptionSettings
from tests.support.exiftool import make_photo


def _write(item: ImageItem, mode: str, **kw: object) -> object:
    return write_caption_description(item, "A red bicycle.", "en", None, mode=mode,  # type: ignore[arg-type]
                                     existing="keep", text_sidecar=kw.get("text_sidecar"),  # type: ignore[arg-type]
                                     caption_folder=kw.get("caption_folder"))  # type: ignore[arg-type]


def test_a_snapshot_survives_json_byte_for_byte() -> None:
    snap = FieldSnapshot(xmp={"x-default": "Oma's Garten", "de": "Oma's Garten"}, exif=b"caf\xe9 \x00",
                         iptc=b"\x1b%G", iptc_charset=None, creator_tool="Lightroom")
    assert snapshot_from_json(snapshot_to_json(snap)) == snap
    assert snapshot_from_json(snapshot_to_json(FieldSnapshot())) == FieldSnapshot()


def test_off_writes_nothing_and_embed_writes_inside(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "a.jpg", "JPEG")
    item = ImageItem(photo, tmp_path)
    assert _write(item, "off") is None
    outcome = _write(item, "embed")
    assert outcome.written == photo and not outcome.problem  # type: ignore[attr-defined]
    found = read_description(photo)
    assert found is not None and found.text == "A red bicycle." and found.app_written


def test_a_damaged_image_falls_back_to_a_sidecar_beside_its_caption(tmp_path: Path) -> None:
    broken = tmp_path / "b.jpg"
    broken.write_bytes(b"not a jpeg at all")
    out = tmp_path / "out" / "x" / "b.txt"
    outcome = _write(ImageItem(broken, tmp_path), "embed", text_sidecar=out)
    assert outcome.written == out.with_suffix(".xmp") and "not written inside" in outcome.note  # type: ignore[attr-defined]
    assert broken.read_bytes() == b"not a jpeg at all"
    found = read_xmp_sidecar(out.with_suffix(".xmp"))
    assert found is not None and found.text == "A red bicycle."


def test_without_a_caption_file_the_sidecar_is_named_as_the_caption_would_be(tmp_path: Path) -> None:
    """a.jpg and a.png share a stem: a.png's description goes to a.png.xmp, as its caption would to a.png.txt."""
    make_photo(tmp_path / "a.jpg", "JPEG")
    png = make_photo(tmp_path / "a.png", "PNG")
    outcome = _write(ImageItem(png, tmp_path), "xmp")
    assert outcome.written == tmp_path / "a.png.xmp"  # type: ignore[attr-defined]


def test_provenance_is_flattened_to_strings_under_xml_names() -> None:
    from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance
    from caprl_desktop.core.metadata.fields import check_provenance

    values = {name: None for name in PROVENANCE_COLUMNS} | {"app_version": "1.0", "model_file": "m.gguf",
                                                            "image_max_tokens": 512, "temperature": 0.2}
    mapping = provenance_mapping(Provenance(**values))  # type: ignore[arg-type]
    assert mapping == {"app_version": "1.0", "model_file": "m.gguf", "image_max_tokens": "512",
                       "temperature": "0.2"}
    assert check_provenance(mapping) == mapping  # every key is accepted as caprl:<key>
    assert provenance_mapping(None) == {}


def test_settings_refuse_an_unknown_metadata_choice() -> None:
    settings = CaptionSettings(metadata="embed", metadata_existing="replace")
    options = settings.job_options("m.gguf")
    assert (options.metadata, options.metadata_existing) == ("embed", "replace")
    for bad in ({"metadata": "inside"}, {"metadata_existing": "merge"}):
        try:
            dataclasses.replace(settings, **bad)  # type: ignore[arg-type]
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_the_newest_replaced_description_is_the_one_restored(tmp_path: Path) -> None:
    from caprl_desktop.core.export.writers import CaptionRecord
    from caprl_desktop.core.jobs.descriptions import DescriptionOutcome
    from caprl_desktop.core.jobs.events import ItemFinished

    photo = tmp_path / "p.jpg"
    item = ImageItem(photo, tmp_path)
    with Journal(tmp_path / "j.sqlite3") as journal:
        job_id = journal.create([item], CaptionSettings().job_options("m"))
        assert journal.replaced_description(photo) is None
        for text in ("old", "newer"):
            record = CaptionRecord("p.jpg", "c", "en", "", "m", None, None, "", str(photo))
            described = DescriptionOutcome(photo, photo, previous=FieldSnapshot(xmp={"x-default": text}))
            journal.record(job_id, ItemFinished(0, item, record, None, None, description=described))
        assert journal.replaced_description(photo) == FieldSnapshot(xmp={"x-default": "newer"})
        journal.forget_replaced(photo)
        assert journal.replaced_description(photo) is None
