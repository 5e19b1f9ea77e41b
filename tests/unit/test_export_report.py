"""Export reports: the counts an export gives are the rows in the file it wrote, and each row left out has a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from caprl_desktop.core.export.writers import (
    CaptionRecord,
    LeftOutReason,
    plan_export,
    read_csv,
    read_jsonl,
    write_records,
)


def record(path: Path, root: Path, caption: str = "a cat", error: str = "") -> CaptionRecord:
    return CaptionRecord(path.relative_to(root).as_posix(), caption, "en", "Describe.", "CapRL-3B.gguf", 1.0, 9,
                         error, str(path))


@pytest.fixture
def records(tmp_path: Path) -> list[CaptionRecord]:
    """Nine captioned images in ``imgs`` (one in a sub-folder), one failed there, one captioned elsewhere."""
    imgs, other = tmp_path / "imgs", tmp_path / "other"
    rows = [record(imgs / f"p{i}.jpg", imgs) for i in range(8)]
    rows.append(record(imgs / "sub" / "deep.png", imgs))
    rows.append(record(imgs / "broken.jpg", imgs, caption="", error="broken.jpg is damaged"))
    rows.append(record(other / "p0.jpg", other))
    return rows


def rows_in(path: Path, kind: str) -> int:
    return len(read_csv(path)) if kind == "csv" else len(read_jsonl(path))


@pytest.mark.parametrize("kind", ["csv", "jsonl", "metadata"])
def test_the_report_counts_the_rows_in_the_file(tmp_path: Path, records: list[CaptionRecord], kind: str) -> None:
    target = tmp_path / "imgs" / ("metadata.jsonl" if kind == "metadata" else f"captions.{kind}")
    target.parent.mkdir(parents=True, exist_ok=True)
    report = write_records(target, kind, records)
    assert report.target == target
    assert report.written == rows_in(target, kind)
    assert report.written + len(report.left_out) == len(records)
    assert report == plan_export(target, kind, records)  # the dialog's preview says what the writer does
    if kind == "metadata":
        assert report.written == 9 and report.with_errors == 0
        assert report.left_out_by_reason() == {LeftOutReason.FAILED: 1, LeftOutReason.OUTSIDE_FOLDER: 1}
        assert {left.path for left in report.left_out} == {str(tmp_path / "imgs" / "broken.jpg"),
                                                          str(tmp_path / "other" / "p0.jpg")}
        assert "sub/deep.png" in {r["file_name"] for r in read_jsonl(target)}
    else:  # CSV and JSON Lines keep failures, with their error
        assert report.written == 11 and report.with_errors == 1 and report.left_out == ()


def test_metadata_in_a_folder_above_every_image_describes_them_all(tmp_path: Path,
                                                                     records: list[CaptionRecord]) -> None:
    report = write_records(tmp_path / "metadata.jsonl", "metadata", records)
    names = {r["file_name"] for r in read_jsonl(tmp_path / "metadata.jsonl")}
    assert report.written == len(names) == 10
    assert "other/p0.jpg" in names and "imgs/sub/deep.png" in names


def test_metadata_elsewhere_writes_no_file_and_keeps_the_old_one(tmp_path: Path,
                                                                 records: list[CaptionRecord]) -> None:
    """Saved in a folder that holds none of the images (the home folder): nothing written, nothing replaced."""
    home = tmp_path / "home"
    home.mkdir()
    report = write_records(home / "metadata.jsonl", "metadata", records)
    assert report.target is None and report.written == 0
    assert report.left_out_by_reason() == {LeftOutReason.OUTSIDE_FOLDER: 10, LeftOutReason.FAILED: 1}
    assert list(home.iterdir()) == []  # no 0-byte file, no .partial

    good = tmp_path / "imgs" / "metadata.jsonl"
    good.parent.mkdir(parents=True, exist_ok=True)
    good.write_text('{"file_name": "p0.jpg", "text": "kept"}\n', encoding="utf-8")
    report = write_records(good, "metadata", records[-2:])  # the failed one and the one elsewhere
    assert report.written == 0 and good.read_text(encoding="utf-8").count("kept") == 1


def test_metadata_follows_a_linked_folder(tmp_path: Path) -> None:
    """An image named through a link to its folder still lies in that folder."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    row = record(tmp_path / "link" / "a.jpg", tmp_path / "link")
    report = write_records(real / "metadata.jsonl", "metadata", [row])
    assert report.written == 1 and read_jsonl(real / "metadata.jsonl") == [{"file_name": "a.jpg", "text": "a cat"}]


def test_not_captioned_rows_join_the_report(tmp_path: Path, records: list[CaptionRecord]) -> None:
    report = write_records(tmp_path / "out.csv", "csv", records[:2])
    more = report.plus_left_out(["/x/a.jpg", "/x/b.jpg"], LeftOutReason.NOT_CAPTIONED)
    assert more.written == 2 and more.target == report.target
    assert more.left_out_by_reason() == {LeftOutReason.NOT_CAPTIONED: 2}
