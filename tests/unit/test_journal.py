"""The journal under another process's lock, with another version's options, and when really damaged."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.cli.exit_codes import EXIT_TRY_AGAIN
from caprl_desktop.cli.main import main
from caprl_desktop.core.jobs import journal as journal_module
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import (
    Journal,
    JournalBusyError,
    OptionsUnreadableError,
    default_path,
    options_from_json,
    options_to_json,
)
from caprl_desktop.core.jobs.session import NothingToResumeError, resumable_job
from tests.support.images import save_noise
from tests.support.jobs import options
from tests.support.synthetic_gguf import TINY, write_mmproj, write_text_model

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE jobs SET updated='held'")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def a_stopped_job(tmp_path: Path) -> int:
    items, _ = find_images([save_noise(tmp_path / "imgs" / f"p{i}.jpg", seed=i) for i in range(2)])
    with Journal() as journal:
        job_id = journal.create(items, options())
        journal.set_status(job_id, "stopped")
    return job_id


@pytest.fixture
def held_journal(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process (a second run, a backup tool) holds the journal with BEGIN EXCLUSIVE for 20 s."""
    a_stopped_job(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(default_path()), "20"], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    holder.kill()
    holder.wait()
    holder.stdout.close()


def test_a_journal_in_use_is_read_and_never_taken_for_a_damaged_one(
    held_journal: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = default_path()
    started = time.monotonic()
    assert main(["jobs", "list"]) == 0
    assert time.monotonic() - started < 5  # reading does not wait for the writer
    assert "job 1 (stopped" in capsys.readouterr().out
    assert not list(path.parent.glob("*.damaged-*"))
    assert Path(f"{path}-wal").exists()  # the other process's WAL is where it was


def test_a_write_to_a_journal_in_use_says_busy_and_moves_nothing(held_journal: subprocess.Popen[str]) -> None:
    path = default_path()
    with Journal(busy_timeout=0.5) as journal, pytest.raises(JournalBusyError, match=r"busy.*run the command again"):
        journal.set_status(1, "finished")
    assert held_journal.poll() is None  # the holder is still there, its transaction intact
    assert not list(path.parent.glob("*.damaged-*"))
    held_journal.kill()
    held_journal.wait()
    with Journal() as journal:
        assert journal.get(1) is not None


def test_opening_a_new_journal_while_another_process_creates_it_waits_or_says_busy(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    db.execute("CREATE TABLE other (x)")
    try:
        with pytest.raises(JournalBusyError):
            Journal(path, busy_timeout=0.2)
        assert path.exists() and not list(tmp_path.glob("*.damaged-*"))
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_a_damaged_journal_is_set_aside_and_a_new_one_works(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with Journal(path) as journal:
        assert journal.set_aside is not None and journal.set_aside.read_bytes().startswith(b"this is not")
        assert journal.jobs() == []


def test_options_written_by_another_version_make_that_job_unresumable_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = a_stopped_job(tmp_path)
    stored = json.loads(options_to_json(options()))
    stored.update({"app": "9.9", "renamed_field": 1})
    with contextlib.closing(sqlite3.connect(default_path())) as db, db:  # as another version wrote it
        db.execute("UPDATE jobs SET options=? WHERE id=?", (json.dumps(stored), job_id))
    with Journal() as journal:
        summary = journal.get(job_id)
        assert summary is not None and summary.options is None and not summary.resumable
        assert summary.unreadable == "written by CapRL Desktop version 9.9"
        with pytest.raises(NothingToResumeError, match=r"cannot be resumed: written by CapRL Desktop version 9\.9"):
            resumable_job(journal, job_id)
    assert main(["jobs", "list"]) == 0
    assert "cannot resume (written by CapRL Desktop version 9.9)" in capsys.readouterr().out
    assert main(["caption", "--resume"]) == 0  # nothing resumable: said, not a traceback
    assert "Nothing to resume" in capsys.readouterr().err


def test_options_round_trip_with_their_version_and_old_records_still_read() -> None:
    original = options(overwrite=True, write_sidecars=False)
    text = options_to_json(original)
    assert json.loads(text)["version"] == 3 and options_from_json(text) == original
    unversioned = {k: v for k, v in json.loads(text).items() if k not in ("version", "app")}  # before versions
    assert options_from_json(json.dumps(unversioned)) == original
    # Version 1 had no metadata choices: such a run reads as one that writes no descriptions.
    version_1 = {k: v for k, v in json.loads(text).items() if k not in ("metadata", "metadata_existing")}
    version_1["version"] = 1
    read = options_from_json(json.dumps(version_1))
    assert (read.metadata, read.metadata_existing) == ("off", "keep") and read == original


@pytest.mark.parametrize("field, word", [("metadata", "inside"), ("metadata_existing", "merge")])
def test_options_with_a_choice_this_version_does_not_know_are_unreadable(field: str, word: str) -> None:
    """A description mode another version wrote is not quietly read as "off" (or "keep") and run that way."""
    stored = json.loads(options_to_json(options()))
    stored.update({field: word, "app": "9.9"})
    with pytest.raises(OptionsUnreadableError, match=r"version 9\.9"):
        options_from_json(json.dumps(stored))


def test_commands_that_must_write_to_a_busy_journal_exit_75_and_say_so(
    held_journal: subprocess.Popen[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.3)
    model = write_text_model(tmp_path / "m.gguf", TINY)
    mmproj = write_mmproj(tmp_path / "p.gguf", TINY)
    image = save_noise(tmp_path / "new" / "a.jpg")
    for command in (["jobs", "forget", "1"],
                    ["caption", str(image), "--model", str(model), "--mmproj", str(mmproj)]):
        assert main(command) == EXIT_TRY_AGAIN, command
        err = capsys.readouterr().err
        assert "is busy" in err and "run the command again" in err and "Traceback" not in err
    assert not list(default_path().parent.glob("*.damaged-*"))
    assert not image.with_suffix(".txt").exists()
