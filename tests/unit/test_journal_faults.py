"""The journal damaged, busy or deleted under a run: what is said, what is carried over, what a restore refuses."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from caprl_desktop.cli.exit_codes import EXIT_SOME_FAILED
from caprl_desktop.cli.main import main
from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.descriptions import DescriptionOutcome, write_caption_description
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished, JobEvent, JobFinished
from caprl_desktop.core.jobs.journal import (
    DescriptionUnknownError,
    Journal,
    JournalBusyError,
    default_path,
    journaled,
)
from caprl_desktop.core.metadata import FieldSnapshot, read_description
from tests.support.exiftool import exiftool, exiftool_write, make_photo
from tests.support.jobs import options

HUMAN = "Grandma's garden, summer 1987"
HUMAN_SNAPSHOT = FieldSnapshot(xmp={"x-default": HUMAN})


def _companions(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


def _finished(item: ImageItem, caption: str = "A red bicycle.", *, replaced: FieldSnapshot | None = None,
              ) -> ItemFinished:
    values: dict[str, Any] = {name: None for name in PROVENANCE_COLUMNS} | {"model_file": "m.gguf", "seed": 7}
    provenance = Provenance(**values)
    record = CaptionRecord(item.file_name, caption, "en", "", "m", 1.0, 4, "", str(item.path), provenance)
    described = DescriptionOutcome(item.path, item.path, previous=replaced) if replaced is not None else None
    return ItemFinished(0, item, record, None, item.path.with_suffix(".txt"), description=described)


def _truncate_to_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _damage_table(path: Path, table: str) -> None:
    """Overwrite the first page of ``table`` with noise: SQLite's check fails, the other tables still read."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    db.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


def a_journal_with_a_replaced_description(tmp_path: Path, photo: Path | None = None) -> tuple[Path, int]:
    """The default journal with one run whose caption replaced ``HUMAN`` inside ``photo``; closed (checkpointed)."""
    photo = photo or tmp_path / "p.jpg"
    item = ImageItem(photo, photo.parent)
    with Journal() as journal:
        job_id = journal.create([item], options())
        journal.record(job_id, _finished(item, replaced=HUMAN_SNAPSHOT))
        journal.set_status(job_id, "finished")
    return default_path(), job_id


# --- item 2: a damaged journal ------------------------------------------------------------------


def test_jobs_list_says_it_set_a_damaged_journal_aside_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = a_journal_with_a_replaced_description(tmp_path)
    _truncate_to_half(path)
    assert main(["jobs", "list"]) == 0
    out, err = capsys.readouterr()
    [damaged] = [p for p in path.parent.glob("jobs.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert "No captioning runs recorded" in out
    assert f"set aside as {damaged}" in err and "could not all be read" in err
    assert main(["jobs", "list"]) == 0  # said once, by the command that set it aside
    assert "set aside" not in capsys.readouterr().err


def test_replaced_descriptions_are_carried_over_from_a_damaged_journal_where_sqlite_can_read_them(
    tmp_path: Path,
) -> None:
    path, _ = a_journal_with_a_replaced_description(tmp_path)
    _damage_table(path, "items")
    with Journal() as journal:
        assert journal.set_aside is not None
        assert "1 replaced description was carried over" in journal.set_aside_note
        assert journal.jobs() == []  # the run history is what was lost
        assert journal.replaced_description(tmp_path / "p.jpg") == HUMAN_SNAPSHOT


def test_replaced_descriptions_that_cannot_be_read_are_never_taken_for_none(tmp_path: Path) -> None:
    path, _ = a_journal_with_a_replaced_description(tmp_path)
    _truncate_to_half(path)
    with Journal() as journal:
        damaged = journal.set_aside
        assert damaged is not None
        with pytest.raises(DescriptionUnknownError, match=rf"p\.jpg.*{damaged.name}"):
            journal.replaced_description(tmp_path / "p.jpg")
    with Journal() as journal, pytest.raises(DescriptionUnknownError):  # a later command knows it too
        journal.replaced_description(tmp_path / "p.jpg")
    for file in _companions(damaged):
        file.unlink(missing_ok=True)  # the user removed it: nothing is left to put back from
    with Journal() as journal:
        assert journal.replaced_description(tmp_path / "p.jpg") is None


def test_a_journal_set_aside_by_an_earlier_version_counts_too(tmp_path: Path) -> None:
    with Journal() as journal:
        journal.jobs()
    earlier = default_path().with_name("jobs.sqlite3.damaged-20260101-120000")
    earlier.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with Journal() as journal, pytest.raises(DescriptionUnknownError, match=earlier.name):
        journal.replaced_description(tmp_path / "p.jpg")


def test_metadata_restore_refuses_to_remove_a_description_it_cannot_put_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    exiftool_write(photo, f"-XMP-dc:Description={HUMAN}")
    outcome = write_caption_description(ImageItem(photo, tmp_path), "A red bicycle.", "en", None, mode="embed",
                                        existing="replace", text_sidecar=None, caption_folder=None)
    assert outcome is not None and outcome.previous is not None
    item = ImageItem(photo, tmp_path)
    with Journal() as journal:
        job_id = journal.create([item], options())
        journal.record(job_id, _finished(item, replaced=outcome.previous))
    _truncate_to_half(default_path())

    assert main(["metadata", "restore", str(photo)]) == EXIT_SOME_FAILED
    out, err = capsys.readouterr()
    assert "set aside as" in err and "left as it is" in err and "replaced none" not in out
    found = read_description(photo)
    assert found is not None and found.app_written  # nothing removed: the human text is not lost twice


def test_metadata_restore_puts_back_a_description_carried_over_from_a_damaged_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    exiftool_write(photo, f"-XMP-dc:Description={HUMAN}")
    outcome = write_caption_description(ImageItem(photo, tmp_path), "A red bicycle.", "en", None, mode="embed",
                                        existing="replace", text_sidecar=None, caption_folder=None)
    assert outcome is not None and outcome.previous is not None
    item = ImageItem(photo, tmp_path)
    with Journal() as journal:
        job_id = journal.create([item], options())
        journal.record(job_id, _finished(item, replaced=outcome.previous))
    _damage_table(default_path(), "jobs")

    assert main(["metadata", "restore", str(photo)]) == 0
    out, err = capsys.readouterr()
    assert "set aside as" in err and "the earlier description is back" in out
    assert exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"] == HUMAN


# --- item 7: a journal busy for longer than a write waits ----------------------------------------


@pytest.fixture
def another_writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A second connection to the journal, as another process would have: it takes the write lock when told."""
    Journal(tmp_path / "jobs.sqlite3").close()
    other = sqlite3.connect(tmp_path / "jobs.sqlite3", isolation_level=None)
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def _job(*events: JobEvent) -> Generator[JobEvent, None, None]:
    yield from events


def test_a_caption_made_while_the_journal_is_busy_is_recorded_once_it_is_free(
    tmp_path: Path, another_writer: sqlite3.Connection
) -> None:
    path = tmp_path / "jobs.sqlite3"
    photo, other = ImageItem(tmp_path / "p.jpg", tmp_path), ImageItem(tmp_path / "q.jpg", tmp_path)
    with Journal(path, busy_timeout=0.2) as journal:
        job_id = journal.create([photo, other], options())
        another_writer.execute("BEGIN EXCLUSIVE")
        job = _job(_finished(photo, replaced=HUMAN_SNAPSHOT), JobFinished(1, 0, 0, cancelled=False))
        events = journaled(job, journal, job_id)
        with pytest.raises(JournalBusyError, match=r"p\.jpg's caption is saved.*recorded in the journal"):
            list(events)
    another_writer.execute("ROLLBACK")

    with Journal(path) as journal:  # the next command to open it records it
        summary = journal.get(job_id)
        assert summary is not None and summary.counts == {"done": 1, "pending": 1}
        [record] = journal.records(job_id)
        assert record.caption == "A red bicycle." and record.provenance is not None
        assert record.provenance.seed == 7
        assert journal.replaced_description(photo.path) == HUMAN_SNAPSHOT
    assert not list(tmp_path.glob("jobs.sqlite3.unrecorded*/*"))


def test_a_record_kept_while_busy_never_undoes_a_later_one(
    tmp_path: Path, another_writer: sqlite3.Connection
) -> None:
    path = tmp_path / "jobs.sqlite3"
    photo = ImageItem(tmp_path / "p.jpg", tmp_path)
    with Journal(path, busy_timeout=0.2) as journal:
        job_id = journal.create([photo], options())
        another_writer.execute("BEGIN EXCLUSIVE")
        with pytest.raises(JournalBusyError):
            journal.record(job_id, _finished(photo, "first"))
        another_writer.execute("ROLLBACK")
        journal.record(job_id, _finished(photo, "second"))  # applies what was kept first, then this
        assert [r.caption for r in journal.records(job_id)] == ["second"]


# --- item 8: the journal deleted under a run -------------------------------------------------------


@pytest.mark.parametrize("deleted", ["all its files", "the database only"])
def test_a_journal_deleted_while_a_run_writes_is_made_again_with_the_run_so_far(
    tmp_path: Path, deleted: str
) -> None:
    path = tmp_path / "data" / "jobs.sqlite3"
    items = [ImageItem(tmp_path / f"p{i}.jpg", tmp_path) for i in range(3)]
    with Journal(path) as journal:
        job_id = journal.create(items, options())
        journal.record(job_id, _finished(items[0], replaced=HUMAN_SNAPSHOT))
        for file in _companions(path) if deleted == "all its files" else [path]:
            file.unlink(missing_ok=True)
        journal.record(job_id, _finished(items[1]))
        assert path.exists()
        with Journal(path) as reader:  # another process (a resume after a kill) sees the run
            summary = reader.get(job_id)
            assert summary is not None and summary.status == "running"
            assert summary.counts == {"done": 2, "pending": 1}
            assert reader.replaced_description(items[0].path) == HUMAN_SNAPSHOT
        journal.record(job_id, _finished(items[2]))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM items WHERE state='done'").fetchone() == (3,)
    db.close()


def test_a_journal_made_anew_by_another_run_meanwhile_gets_this_run_added(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    mine = [ImageItem(tmp_path / "a" / f"p{i}.jpg", tmp_path / "a") for i in range(2)]
    theirs = [ImageItem(tmp_path / "b" / "q.jpg", tmp_path / "b")]
    with Journal(path) as journal:
        job_id = journal.create(mine, options())
        journal.record(job_id, _finished(mine[0]))
        for file in _companions(path):
            file.unlink()
        with Journal(path) as other:  # a run started after the deletion: a new journal, the same number
            their_id = other.create(theirs, options())
        assert their_id == job_id
        journal.record(job_id, _finished(mine[1]))
        with Journal(path) as reader:
            jobs = {tuple(j.roots): j for j in reader.jobs()}
        assert jobs[(tmp_path / "b",)].id == their_id and jobs[(tmp_path / "b",)].counts == {"pending": 1}
        moved = jobs[(tmp_path / "a",)]
        assert moved.id != their_id and moved.counts == {"done": 2}
        journal.set_status(job_id, "finished")  # the run's own number still reaches its own record
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "finished" and summary.id == moved.id


def test_a_run_added_to_a_new_journal_that_is_busy_is_added_with_a_later_write(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    mine = [ImageItem(tmp_path / "a" / f"p{i}.jpg", tmp_path / "a") for i in range(3)]
    with Journal(path, busy_timeout=0.2) as journal:
        job_id = journal.create(mine, options())
        journal.record(job_id, _finished(mine[0]))
        for file in _companions(path):
            file.unlink()
        with Journal(path) as other:
            other.create([ImageItem(tmp_path / "b" / "q.jpg", tmp_path / "b")], options())
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(JournalBusyError):
            journal.record(job_id, _finished(mine[1]))
        holder.execute("ROLLBACK")
        holder.close()
        journal.record(job_id, _finished(mine[2]))
    with Journal(path) as reader:
        counts = {tuple(j.roots): j.counts for j in reader.jobs()}
    assert counts == {(tmp_path / "a",): {"done": 3}, (tmp_path / "b",): {"pending": 1}}
