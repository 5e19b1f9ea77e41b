"""The journal damaged, busy or deleted around real runs: the real engine, real processes, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.cli.exit_codes import EXIT_SOME_FAILED, EXIT_TRY_AGAIN
from caprl_desktop.cli.main import main
from caprl_desktop.core.export.writers import read_csv
from caprl_desktop.core.jobs import journal as journal_module
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.journal import Journal, default_path
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.metadata import read_description
from caprl_desktop.core.models.store import ModelStore
from tests.support.cli import REPO, fast_args, model_args
from tests.support.exiftool import exiftool_write, make_photo
from tests.support.gui import open_window
from tests.support.images import save_noise
from tests.support.jobs import options
from tests.support.models import ModelFiles

FAST = fast_args(seed=3)
HUMAN = "Grandma's garden, summer 1987"

HOLD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()  # until the test closes the pipe
db.execute("ROLLBACK")
"""


def make_folder(folder: Path, count: int) -> list[Path]:
    return [save_noise(folder / f"img{i:03d}.jpg", seed=i) for i in range(count)]


def test_a_truncated_journal_is_said_and_restore_removes_nothing_it_cannot_put_back(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's steps: a human description replaced by a run, the journal truncated to half, then
    `jobs list` and `metadata restore`."""
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    exiftool_write(photo, f"-XMP-dc:Description={HUMAN}")
    args = ["caption", str(photo), "--metadata", "embed", "--metadata-existing", "replace", *FAST,
            *model_args(models)]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    journal = default_path()
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) // 2])

    assert main(["jobs", "list"]) == 0
    out, err = capsys.readouterr()
    [damaged] = [p for p in journal.parent.glob("jobs.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert "No captioning runs recorded." in out and f"set aside as {damaged}" in err

    assert main(["metadata", "restore", str(photo)]) == EXIT_SOME_FAILED
    out, err = capsys.readouterr()
    assert "it was left as it is" in err and damaged.name in err and "replaced none" not in out
    found = read_description(photo)
    assert found is not None and found.app_written  # the app's description stays until it can be undone


@pytest.fixture
def hold_after_create(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen[str]]]:
    """Once a run is recorded, another process takes the journal's write lock and keeps it (a second app, a
    backup tool) until the test lets it go; a write waits 0.5 s for it."""
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.5)
    holders: list[subprocess.Popen[str]] = []
    create = Journal.create

    def create_then_hold(self: Journal, items: list[ImageItem], options: JobOptions) -> int:
        job_id = create(self, items, options)
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(self.path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        return job_id

    monkeypatch.setattr(Journal, "create", create_then_hold)
    yield holders
    for holder in holders:
        holder.kill()
        holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()


def test_a_run_stopped_by_a_busy_journal_says_where_its_rows_are_and_its_caption_is_journaled(
    models: ModelFiles, tmp_path: Path, hold_after_create: list[subprocess.Popen[str]],
    capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "busy"
    images = make_folder(folder, 3)
    first_csv = tmp_path / "o.csv"
    code = main(["caption", str(folder), "--csv", str(first_csv), "--parallel", "1", *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == EXIT_TRY_AGAIN, err
    assert f"the rows made so far are in {first_csv}.partial" in err
    assert "img000.jpg's caption is saved" in err and "caption --resume` continues job 1" in err
    assert images[0].with_suffix(".txt").exists() and not images[1].with_suffix(".txt").exists()

    [holder] = hold_after_create
    assert holder.stdin is not None
    holder.stdin.close()  # the other process lets go
    assert holder.wait() == 0
    resumed_csv = tmp_path / "resumed.csv"
    code = main(["caption", "--resume", str(folder), "--csv", str(resumed_csv), *FAST, *model_args(models)])
    assert code == 0, capsys.readouterr().err
    rows = {Path(row["path"]).name: row for row in read_csv(resumed_csv)}
    assert sorted(rows) == [p.name for p in images]
    made_before = rows["img000.jpg"]
    assert made_before["model"] and made_before["caption"] == images[0].with_suffix(".txt").read_text(
        encoding="utf-8").strip()  # journaled as made by the run, with its provenance: not "skipped"
    with Journal() as journal:
        summary = journal.get(1)
        assert summary is not None and summary.counts == {"done": 3} and summary.status == "finished"
        assert all(record.provenance is not None for record in journal.records(1))


def test_a_journal_deleted_mid_run_is_made_again_and_a_kill_then_resumes(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "deleted"
    images = make_folder(folder, 10)
    sidecars = [p.with_suffix(".txt") for p in images]
    journal = default_path()
    command = [sys.executable, "-m", "caprl_desktop.cli.main", "caption", str(folder), "--max-tokens", "60",
               "--parallel", "1", *fast_args(max_tokens=None, seed=3), *model_args(models)]
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                               stderr=log, start_new_session=True)

    def wait_for_sidecars(count: int) -> None:
        deadline = time.monotonic() + 120
        while sum(s.exists() for s in sidecars) < count:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)

    wait_for_sidecars(2)
    for file in (journal, Path(f"{journal}-wal"), Path(f"{journal}-shm")):  # a cleaner: rm jobs.sqlite3*
        file.unlink(missing_ok=True)
    wait_for_sidecars(5)  # the run recorded at least two images since
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    log.close()
    done_before = {s: s.stat().st_mtime_ns for s in sidecars if s.exists()}

    code = main(["caption", "--resume", str(folder), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 0 and "Nothing to resume" not in err, err
    assert all(s.read_text(encoding="utf-8").strip() for s in sidecars)
    for sidecar, mtime in done_before.items():  # what the killed run made is not made again
        assert sidecar.stat().st_mtime_ns == mtime
    with Journal() as reader:
        [job] = reader.jobs()
    # A sidecar written in the instant before the kill may not be journaled yet: resuming skips it.
    assert job.status == "finished" and job.counts.get("pending", 0) == 0 and job.counts["done"] >= len(images) - 1


def test_the_window_says_in_its_message_bar_that_it_set_a_damaged_journal_aside(
    qtbot: QtBot, installed: ModelStore, tmp_path: Path
) -> None:
    items, _ = find_images(make_folder(tmp_path / "earlier", 2))
    with Journal() as journal:
        journal.set_status(journal.create(items, options()), "stopped")
    data = default_path().read_bytes()
    default_path().write_bytes(data[: len(data) // 2])
    win = open_window(qtbot)
    [damaged] = [p for p in default_path().parent.glob("jobs.sqlite3.damaged-*")
                 if not p.name.endswith(("-wal", "-shm"))]
    bar = win.bars.journal_bar
    assert bar.isVisible() and f"set aside as {damaged}" in bar.label.text()
    assert not win.resume_bar.isVisible()  # the run it recorded is lost with it: nothing is offered
    win.close()
