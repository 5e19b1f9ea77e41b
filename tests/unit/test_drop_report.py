"""What adding images says: the images new to the list, those listed already, those with a caption, and where."""

from __future__ import annotations

from pathlib import Path

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.ui.drop_report import DropReport, names, report_text


def items(root: Path, count: int) -> list[ImageItem]:
    return [ImageItem(root / f"p{i}.jpg", root) for i in range(count)]


def test_a_drop_listed_in_slices_counts_its_new_rows_from_the_first(tmp_path: Path) -> None:
    found = items(tmp_path / "imgs", 5)
    report = DropReport([tmp_path / "imgs"], [], found)
    report.listed(7, found[:2])
    report.listed(9, [])  # a slice of images listed already
    report.listed(9, found[4:])
    assert report.first_row == 7 and report.added == 3 and report.already_listed == 2
    assert report_text(report) == "Added 3 from imgs · 2 listed already"
    assert report_text(report, 3) == "Added 3 from imgs · 3 already captioned · 2 listed already"


def test_files_dropped_are_named_by_their_folder_and_many_folders_are_counted(tmp_path: Path) -> None:
    loose = [ImageItem(tmp_path / "Downloads" / "a.jpg", tmp_path / "Downloads")]
    report = DropReport([tmp_path / "Downloads" / "a.jpg"], [tmp_path / "nope.jpg"], loose)
    report.listed(0, loose)
    assert report_text(report) == "Added 1 from Downloads · not found: nope.jpg"
    folders = [tmp_path / name for name in ("a", "b", "c", "d", "e")]
    assert names(folders) == "a, b and 3 more" and names(folders[:3]) == "a, b, c"
    nothing = DropReport(folders[:1], [], [])
    assert report_text(nothing) == "No images found in a"
