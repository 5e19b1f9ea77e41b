"""The job journal, resume and the per-folder lock: real engine, real subprocesses killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.export.writers import read_csv
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import ItemFinished
from caprl_desktop.core.jobs.folder_locks import FolderBusyError, folder_locks
from caprl_desktop.core.jobs.journal import Journal, journaled, options_from_json, options_to_json
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.jobs.session import start_job
from tests.support.cli import REPO, fast_args, model_args
from tests.support.images import save_noise
from tests.support.jobs import options
from tests.support.models import ModelFiles

FAST = fast_args(max_tokens=None, seed=3)
# CI runs a few kills at random moments; the documented long run sets CAPRL_KILL_TRIALS=20 or more.
KILL_TRIALS = int(os.environ.get("CAPRL_KILL_TRIALS", "3"))


def make_folder(folder: Path, count: int) -> list[Path]:
    return [save_noise(folder / f"img{i:03d}.jpg", seed=i) for i in range(count)]


def test_options_survive_the_round_trip() -> None:
    original = options(overwrite=True, write_sidecars=False)
    assert options_from_json(options_to_json(original)) == original


def test_a_journaled_run_records_every_image_and_a_stopped_one_resumes(
    models: ModelFiles, tmp_path: Path, live_engine: EngineClient
) -> None:
    folder = tmp_path / "写真"
    make_folder(folder, 5)
    (folder / "img001.txt").write_text("already captioned", encoding="utf-8")
    items, _ = find_images([folder])
    with Journal() as journal:
        job_id = journal.create(items, options())
        job = journaled(run_job(items, options(), live_engine), journal, job_id)
        finished = 0
        for event in job:
            if isinstance(event, ItemFinished):
                finished += 1
                if finished == 2:
                    break  # the user stops the run after two captions
        job.close()
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "stopped" and summary.resumable
        assert summary.counts == {"done": 2, "skipped": 1, "pending": 2}
        left = journal.pending(job_id)
        assert [i.path.name for i in left] == ["img003.jpg", "img004.jpg"]

        journal.claim(job_id)
        for _ in journaled(run_job(left, options(), live_engine), journal, job_id):
            pass
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "finished" and not summary.resumable
        assert summary.counts == {"done": 4, "skipped": 1}
        records = journal.records(job_id)
    assert [r.file_name for r in records] == [f"img{i:03d}.jpg" for i in range(5)]
    assert records[1].caption == "already captioned" and records[1].model == ""  # made by an earlier run
    for record in records:
        sidecar = Path(record.path).with_suffix(".txt")
        assert sidecar.read_bytes().decode("utf-8").strip() == record.caption.strip()  # bytes: keep a lone CR


def test_jobs_list_and_forget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "list"]) == 0
    assert "No captioning runs recorded." in capsys.readouterr().out
    folder = tmp_path / "listed"
    make_folder(folder, 2)
    items, _ = find_images([folder])
    with Journal() as journal:
        job_id = journal.create(items, options())
        journal.set_status(job_id, "stopped")
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    assert f"job {job_id} (stopped" in out and "2 pending" in out and "jobs resume" in out
    assert main(["jobs", "forget", str(job_id)]) == 0
    with Journal() as journal:
        assert journal.jobs() == []


def test_a_run_whose_process_died_reads_as_interrupted(tmp_path: Path) -> None:
    folder = tmp_path / "dead"
    make_folder(folder, 2)
    script = ("import sys; from pathlib import Path; from caprl_desktop.core.jobs.discovery import find_images; "
              "from caprl_desktop.core.jobs.journal import Journal; from tests.support.jobs import options; "
              "items, _ = find_images([Path(sys.argv[1])]); print(Journal().create(items, options()))")
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    with Journal() as journal:
        summary = journal.get(int(out.stdout))
    assert summary is not None and summary.status == "interrupted" and summary.resumable  # never said stopped


def test_a_damaged_journal_is_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    with Journal(path) as journal:
        assert journal.set_aside is not None and journal.set_aside.exists()
        assert journal.jobs() == []
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_folder_is_captioned_by_one_run_at_a_time(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "2024").mkdir(parents=True)
    with folder_locks([photos]):
        with pytest.raises(FolderBusyError, match=rf"process {os.getpid()}"), folder_locks([photos]):
            pass
        # The same sidecars, seen from inside.
        with pytest.raises(FolderBusyError, match="overlaps"), folder_locks([photos / "2024"]):
            pass
        with folder_locks([tmp_path / "elsewhere"]):  # an unrelated folder is free
            pass
    with folder_locks([photos / "2024"]):  # released with the run
        pass


def test_a_second_cli_run_on_a_busy_folder_is_refused(models: ModelFiles, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "busy"
    make_folder(folder, 1)
    with folder_locks([folder]):
        code = main(["caption", str(folder), *FAST, *model_args(models)])
    assert code == 2
    assert "is being captioned by process" in capsys.readouterr().err
    assert not (folder / "img000.txt").exists()


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_cli_killed_at_a_random_moment_resumes_to_a_complete_result(
    models: ModelFiles, tmp_path: Path, trial: int
) -> None:
    folder = tmp_path / f"run{trial}"
    images = make_folder(folder, 16)
    sidecars = [p.with_suffix(".txt") for p in images]
    rng = random.Random(trial)
    kill_after = rng.randint(1, 12)  # sidecars written before the kill
    extra_delay = rng.uniform(0.0, 0.05)  # and a little more: mid-caption or mid-write
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "caprl_desktop.cli.main", "caption", str(folder), "--csv",
               str(tmp_path / "first.csv"), "--max-tokens", "200", *FAST, *model_args(models)]
    log = (tmp_path / "first.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 120
    while sum(s.exists() for s in sidecars) < kill_after and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(extra_delay)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its engine, like a power cut for this run
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not after it finished
    log.close()
    done_before = {s: s.stat().st_mtime_ns for s in sidecars if s.exists()}
    for sidecar in done_before:  # nothing half-written: each sidecar is a whole caption
        assert sidecar.read_text(encoding="utf-8").strip()

    with Journal() as journal:
        [job] = journal.jobs()
    assert job.status == "interrupted" and job.resumable
    out_csv = tmp_path / "resumed.csv"
    code = main(["caption", "--resume", str(folder), "--csv", str(out_csv), "--threads", "2",
                 *model_args(models)])
    assert code == 0
    rows = read_csv(out_csv)
    assert sorted(r["file_name"] for r in rows) == [p.relative_to(tmp_path).as_posix() for p in images]  # each once
    for row in rows:
        assert not row["error"]
        path = Path(row["path"])
        assert path.with_suffix(".txt").read_bytes().decode("utf-8").strip() == row["caption"].strip()
    for sidecar, mtime in done_before.items():  # what was done is not redone
        assert sidecar.stat().st_mtime_ns == mtime
    with Journal() as journal:
        [job] = journal.jobs()
    assert job.status == "finished" and job.counts.get("pending", 0) == 0


def test_a_window_run_stopped_part_way_is_finished_by_jobs_resume_under_its_number(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The window records runs through the same session as the command line; `jobs resume N` takes one up."""
    folder = tmp_path / "window-run"
    make_folder(folder, 3)
    items, _ = find_images([folder])
    with Journal() as journal, start_job(journal, items, options(),
                                         holder="CapRL Desktop window") as session:
        job_id = session.job_id  # stopped before any caption, as a window closed mid-queue leaves it
    assert main(["jobs", "list"]) == 0
    assert f"job {job_id} (stopped" in capsys.readouterr().out
    code = main(["jobs", "resume", str(job_id), *model_args(models), "--threads", "2", "--parallel", "1",
                 "--max-tokens", "6", "--seed", "21"])
    assert code == 0, capsys.readouterr().err
    with Journal() as journal:
        assert [j.id for j in journal.jobs()] == [job_id]  # the same run, not a new one
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "finished" and summary.counts == {"done": 3}
        assert summary.options is not None
        assert (summary.options.params.max_tokens, summary.options.params.seed) == (6, 21)  # recorded
        assert summary.options.prompt == options().prompt  # the run's own prompt and language
    assert all((folder / f"img{i:03d}.txt").read_text(encoding="utf-8").strip() for i in range(3))
    assert main(["jobs", "list"]) == 0
    assert f"job {job_id} (finished" in capsys.readouterr().out  # a finished run stays listed: history
