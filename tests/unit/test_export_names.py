"""One rule for ``file_name`` in every export: relative to the folder the export file is in (Hugging Face
ImageFolder's), so a CSV, a JSON Lines file and a ``metadata.jsonl`` saved side by side name an image alike."""

from __future__ import annotations

from pathlib import Path

from caprl_desktop.core.export.writers import CaptionRecord, read_csv, read_jsonl, write_records


def record(path: Path, root: Path) -> CaptionRecord:
    """As a run records an image added with the folder ``root``."""
    return CaptionRecord(path.relative_to(root).as_posix(), "a beach", "en", "Describe.", "m", 1.0, 9, "", str(path))


def names(target: Path, kind: str) -> list[object]:
    if kind == "csv":
        return [row["file_name"] for row in read_csv(target)]
    return [row["file_name"] for row in read_jsonl(target)]


def test_exports_saved_side_by_side_name_an_image_alike(tmp_path: Path) -> None:
    trip = tmp_path / "trip"
    records = [record(trip / "IMG_0000.jpg", trip), record(trip / "day2" / "IMG_0001.jpg", trip)]
    seen = {}
    for kind, file in (("csv", "captions.csv"), ("jsonl", "captions.jsonl"), ("metadata", "metadata.jsonl")):
        report = write_records(tmp_path / file, kind, records)
        assert report.written == 2
        seen[kind] = names(tmp_path / file, kind)
    assert seen == {kind: ["trip/IMG_0000.jpg", "trip/day2/IMG_0001.jpg"] for kind in seen}


def test_an_export_in_the_folder_given_names_images_as_before(tmp_path: Path) -> None:
    trip = tmp_path / "trip"
    trip.mkdir()
    records = [record(trip / "IMG_0000.jpg", trip)]
    for kind, file in (("csv", "captions.csv"), ("jsonl", "captions.jsonl"), ("metadata", "metadata.jsonl")):
        write_records(trip / file, kind, records)
        assert names(trip / file, kind) == ["IMG_0000.jpg"]


def test_an_export_elsewhere_names_images_relative_to_the_folder_they_were_added_with(tmp_path: Path) -> None:
    trip = tmp_path / "photos" / "trip"
    records = [record(trip / "IMG_0000.jpg", trip)]
    for kind in ("csv", "jsonl"):
        target = tmp_path / "exports" / f"out.{kind}"
        target.parent.mkdir(exist_ok=True)
        write_records(target, kind, records)
        assert names(target, kind) == ["IMG_0000.jpg"]  # not a path climbing out of the export's folder
    report = write_records(tmp_path / "exports" / "metadata.jsonl", "metadata", records)
    assert report.written == 0 and len(report.left_out) == 1  # ImageFolder cannot describe it from there


def test_a_link_that_leads_back_to_itself_keeps_its_name_and_the_export_goes_on(tmp_path: Path) -> None:
    trip = tmp_path / "trip"
    trip.mkdir()
    loop = trip / "loop.jpg"
    loop.symlink_to(loop)  # (its failure is exported with its reason, as the command line has it)
    failed = CaptionRecord("loop.jpg", "", "en", "Describe.", "m", None, None, "a loop", str(loop))
    report = write_records(tmp_path / "captions.csv", "csv", [failed, record(trip / "IMG_0000.jpg", trip)])
    assert report.written == 2
    assert names(tmp_path / "captions.csv", "csv") == ["loop.jpg", "trip/IMG_0000.jpg"]
