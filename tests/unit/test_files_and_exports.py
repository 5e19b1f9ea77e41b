"""Discovery, sidecar planning, atomic writes and exports, read back as other programs read them."""

from __future__ import annotations

import csv
import errno
import io
import os
import sys
from pathlib import Path

import pytest

from caprl_desktop.core.atomic import WriteError, atomic_write_text
from caprl_desktop.core.export.writers import CaptionRecord, CsvExporter, JsonlExporter, open_exporter, read_jsonl
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.sidecars import plan_sidecars, read_sidecar, write_sidecar
from caprl_desktop.core.units import human_size

TRICKY = 'A chart, titled "売上", with commas, quotes "like this"\nand a second line; 日本語 ✓'


def record(name: str, caption: str = TRICKY, error: str = "") -> CaptionRecord:
    return CaptionRecord(name, caption, "ja", "画像について詳しく説明して。", "CapRL-3B.Q4_K_M.gguf", 1.5, 42, error,
                         f"/photos/{name}")


def test_csv_round_trip_with_bom_and_quoting(tmp_path: Path) -> None:
    target = tmp_path / "captions.csv"
    exporter = CsvExporter(target)
    exporter.write(record("a.jpg"))
    exporter.write(record("sub/b.png", caption="", error="b.png is damaged"))
    assert not target.exists()  # rows go to the partial file until the run ends
    assert exporter.close() == target

    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(target, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["file_name", "caption", "language"]
    assert rows[1][1] == TRICKY  # commas, quotes and the newline survive
    assert rows[2][0] == "sub/b.png" and rows[2][7] == "b.png is damaged"
    assert rows[1][5] == "1.5" and rows[1][6] == "42"


def test_abandoned_export_keeps_rows_and_earlier_file(tmp_path: Path) -> None:
    target = tmp_path / "captions.jsonl"
    target.write_text("earlier export\n", encoding="utf-8")
    exporter = JsonlExporter(target)
    exporter.write(record("a.jpg"))
    kept = exporter.abandon()
    assert kept is not None and kept.name == "captions.jsonl.partial"
    assert read_jsonl(kept)[0]["caption"] == TRICKY
    assert target.read_text(encoding="utf-8") == "earlier export\n"


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "photo.txt"
    target.write_text("old caption\n", encoding="utf-8")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(WriteError, match="disk is full"):
        atomic_write_text(target, "new caption")
    assert target.read_text(encoding="utf-8") == "old caption\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.txt"]  # no temporary left behind


def test_sidecar_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "写真.txt"
    write_sidecar(path, "富士山の写真。  \n")
    assert path.read_text(encoding="utf-8") == "富士山の写真。\n"
    assert read_sidecar(path) == "富士山の写真。\n"
    (tmp_path / "empty.txt").write_text("  \n")
    assert read_sidecar(tmp_path / "empty.txt") is None
    assert read_sidecar(tmp_path / "none.txt") is None


def test_sidecar_plan_handles_clashes_case_insensitively(tmp_path: Path) -> None:
    for name in ("b.jpg", "B.png", "b.webp", "c.jpg"):
        (tmp_path / name).write_bytes(b"")
    plan = plan_sidecars([ImageItem(tmp_path / "b.webp", tmp_path), ImageItem(tmp_path / "c.jpg", tmp_path)])
    assert plan.paths[tmp_path / "b.webp"].name == "b.webp.txt"
    assert plan.paths[tmp_path / "c.jpg"].name == "c.txt"
    (clash,) = plan.clashes
    assert clash.images == ("b.jpg", "B.png", "b.webp")
    assert clash.sidecars == ("b.txt", "B.png.txt", "b.webp.txt")


def test_discovery_order_filters_and_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for rel in ("x10.jpg", "x9.JPG", "sub/y.png", ".hidden/z.jpg", "._x9.jpg", "readme.txt", "b/a.gif"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)  # must not be followed

    items, missing = find_images([root, root / "x9.JPG", tmp_path / "gone"])

    assert [i.file_name for i in items] == ["b/a.gif", "sub/y.png", "x9.JPG", "x10.jpg"]
    assert missing == [tmp_path / "gone"]


def test_sizes_pick_their_unit_after_rounding() -> None:
    assert [human_size(n) for n in (999, 999.6, 816_100, 999_950, 999_950_000, 1_930_000_000)] == [
        "999 B", "1.0 KB", "816.1 KB", "1.0 MB", "1.00 GB", "1.93 GB"]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_export_to_a_redirected_stdout_is_utf8_without_newline_translation(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows: stdout redirected to a file or a pipe is in the ANSI code page and in text mode."""
    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="cp1252", errors="replace", newline="\r\n")
    monkeypatch.setattr(sys, "stdout", console)
    exporter = open_exporter("-", kind)
    exporter.write(record("写真.jpg", "富士山の写真。"))
    assert exporter.close() is None
    print("after", flush=True)  # standard output is still open and usable afterwards
    data = raw.getvalue()
    assert "富士山の写真。" in data.decode("utf-8")
    assert b"\r\r\n" not in data and data.endswith(b"after\r\n")
