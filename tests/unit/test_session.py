"""The job lifecycle shared by the command line and the window: locks, journal entries, resume, retention."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.events import ItemFinished, JobFinished
from caprl_desktop.core.jobs.folder_locks import FolderBusyError
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.session import (
    KEEP_JOBS,
    NothingToResumeError,
    last_resumable,
    resumable_job,
    resume_job,
    start_job,
)
from tests.support.fake_engine import FakeEngine
from tests.support.images import save_noise
from tests.support.jobs import options


def folder_of(root: Path, count: int) -> list[ImageItem]:
    items, _ = find_images([save_noise(root / f"p{i}.jpg", seed=i) for i in range(count)])
    return items


def finish(journal: Journal, job_id: int, item: ImageItem, caption: str = "a caption") -> None:
    record = CaptionRecord(item.file_name, caption, "ja", "", "tiny", 1.0, 3, "", str(item.path))
    journal.record(job_id, ItemFinished(0, item, record, None, item.path.with_suffix(".txt")))


def test_a_new_run_is_recorded_and_holds_its_folders(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "a", 3)
    with Journal() as journal, start_job(journal, items, options(), holder="test") as session:
        assert [i.path for i in session.items] == [i.path.absolute() for i in items]
        assert session.made == {} and session.earlier == []
        summary = journal.get(session.job_id)
        assert summary is not None and summary.status == "running" and summary.counts == {"pending": 3}
        with pytest.raises(FolderBusyError, match="being captioned by"), start_job(
                journal, folder_of(tmp_path / "a" / "inner", 1), options(), holder="other"):
            pass  # a folder inside one that is held is refused too


def test_a_run_that_never_ran_is_left_stopped_and_resumable(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "b", 2)
    with Journal() as journal:
        with start_job(journal, items, options(), holder="test") as session:
            job_id = session.job_id  # the model failed to load: run() never called
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "stopped" and summary.resumable
        assert last_resumable(journal) == summary


def test_resuming_reuses_the_job_with_its_own_options_and_what_it_finished(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "c", 3)
    run = options(model_label="first")
    with Journal() as journal:
        with start_job(journal, items, run, holder="cli") as session:
            job_id = session.job_id
            finish(journal, job_id, session.items[0])
        with resume_job(journal, job_id, holder="window") as resumed:
            assert resumed.job_id == job_id and resumed.options == run
            assert [i.path.name for i in resumed.items] == ["p1.jpg", "p2.jpg"]
            assert [r.file_name for r in resumed.earlier] == ["p0.jpg"]
            assert journal.get(job_id).status == "running"  # type: ignore[union-attr]
        assert [j.id for j in journal.jobs()] == [job_id]


def test_resuming_part_of_a_run_leaves_the_rest_pending(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "d", 3)
    with Journal() as journal:
        with start_job(journal, items, options(), holder="t") as session:
            job_id = session.job_id
        with resume_job(journal, job_id, holder="window", only=[items[2].path]) as resumed:
            assert [i.path.name for i in resumed.items] == ["p2.jpg"]
            finish(journal, job_id, resumed.items[0])
        summary = journal.get(job_id)
        assert summary is not None and summary.counts == {"pending": 2, "done": 1} and summary.resumable


def test_a_resume_that_changes_options_records_them(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "e", 1)
    out = tmp_path / "out"
    with Journal() as journal:
        with start_job(journal, items, options(), holder="t") as session:
            job_id = session.job_id
        with resume_job(journal, job_id, holder="t",
                        change=lambda o: dataclasses.replace(o, caption_folder=str(out))) as resumed:
            assert resumed.options.caption_folder == str(out)
        assert journal.get(job_id).options.caption_folder == str(out)  # type: ignore[union-attr]


def test_nothing_to_resume_is_said_in_words(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "f", 1)
    with Journal() as journal:
        with pytest.raises(NothingToResumeError, match="there is no job 99"):
            resumable_job(journal, 99)
        with start_job(journal, items, options(), holder="t") as session:
            finish(journal, session.job_id, session.items[0])
            journal.set_status(session.job_id, "finished")
        with pytest.raises(NothingToResumeError, match="nothing left to caption"), resume_job(
                journal, session.job_id, holder="t"):
            pass


def test_a_running_job_cannot_be_resumed_by_another(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "g", 2)
    with Journal() as journal, start_job(journal, items, options(), holder="t") as session, pytest.raises(
            NothingToResumeError, match="running"):
        resumable_job(journal, session.job_id)


def test_the_journal_keeps_the_newest_runs_as_history(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "h", 1)
    with Journal() as journal:
        ids = []
        for _ in range(KEEP_JOBS + 3):
            with start_job(journal, items, options(), holder="t") as session:
                ids.append(session.job_id)
                finish(journal, session.job_id, session.items[0])
                journal.set_status(session.job_id, "finished")
        assert [j.id for j in journal.jobs()] == ids[-KEEP_JOBS:]  # the oldest three forgotten


def test_retention_never_forgets_a_running_job(tmp_path: Path) -> None:
    items = folder_of(tmp_path / "i", 1)
    with Journal() as journal, start_job(journal, items, options(), holder="t") as running:
        for n in range(KEEP_JOBS + 1):
            other = folder_of(tmp_path / f"o{n}", 1)
            with start_job(journal, other, options(), holder="t") as session:
                finish(journal, session.job_id, session.items[0])
                journal.set_status(session.job_id, "finished")
        ids = [j.id for j in journal.jobs()]
        assert running.job_id in ids and len(ids) == KEEP_JOBS + 1


def test_a_run_of_which_only_some_images_were_resumed_stays_resumable(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.images(tmp_path / "j", ["p0.png", "p1.png", "p2.png"])
    items, _ = find_images([tmp_path / "j"])
    with Journal() as journal:
        with start_job(journal, items, options(), holder="t") as session:
            job_id = session.job_id
        with resume_job(journal, job_id, holder="window", only=[items[0].path]) as resumed:
            events = list(resumed.run(engine))
        assert isinstance(events[-1], JobFinished) and events[-1].complete
        summary = journal.get(job_id)
        assert summary is not None and summary.counts == {"done": 1, "pending": 2}
        assert summary.status == "stopped" and summary.resumable  # not "finished" with two images left
        with resume_job(journal, job_id, holder="cli") as rest:
            list(rest.run(engine))
        assert journal.get(job_id).status == "finished"  # type: ignore[union-attr]


def test_a_new_run_captions_the_items_as_the_caller_named_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    engine = FakeEngine()
    engine.images(tmp_path / "rel", ["p0.png"])
    monkeypatch.chdir(tmp_path)
    items, _ = find_images([Path("rel")])  # a relative path, as typed
    with Journal() as journal, start_job(journal, items, options(), holder="t") as session:
        events = list(session.run(engine))
        finished = [e for e in events if isinstance(e, ItemFinished)]
        assert [e.item.path for e in finished] == [Path("rel") / "p0.png"]  # the window finds its row by it
        assert journal.pending(session.job_id) == []
        assert journal.get(session.job_id).status == "finished"  # type: ignore[union-attr]


def test_one_folder_under_two_spellings_is_one_lock(tmp_path: Path) -> None:
    """A symlink stands here for what Windows and macOS have too: another case, an 8.3 or UNC name of a folder."""
    folder_of(tmp_path / "photos" / "2024", 1)
    (tmp_path / "alias").symlink_to(tmp_path / "photos")
    items, _ = find_images([tmp_path / "photos"])
    same, _ = find_images([tmp_path / "alias"])
    inner, _ = find_images([tmp_path / "alias" / "2024"])
    with Journal() as journal, start_job(journal, items, options(), holder="first"):
        for other in (same, inner):
            with pytest.raises(FolderBusyError, match="being captioned by"), start_job(
                    journal, other, options(), holder="second"):
                pass
