"""The window's queue on the fake engine: runs left unfinished are offered and go on as the same run with
their own choices; captions that cannot be saved hold the queue, and nothing made is made again."""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.ui.queue_model import State
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS, fake_queue, loaded, states, wait_finished
from tests.support.faults import fail_writes
from tests.support.jobs import options
from tests.support.models import ModelFiles, installed


def test_a_run_left_unfinished_is_offered_and_goes_on_as_the_same_run_with_its_own_choices(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path / "cli-run", ["r0.png", "r1.png", "r2.png"])
    items, _ = find_images(photos)
    run = options(prompt=build_prompt("ja", "short"))  # the command line's choices, not the window's
    with Journal() as journal:
        job = journal.create(items, run)
        journal.set_status(job, "stopped")
    with fake_queue(engines, installed(models)) as queue:
        offers: list[object] = []
        queue.resumeOffered.connect(offers.append)
        [offered] = queue.offer_resume()
        assert offered.id == job and offers == [[offered]] and queue.resumable == [offered]
        with qtbot.waitSignal(queue.runRequested, timeout=WAIT_MS) as blocker:
            queue.resume_interrupted()
        assert blocker.args[0].job_id == job  # the same run goes on, not a new one
        assert offers[-1] == [] and queue.resumable == []
        wait_finished(qtbot, queue, 3)
    assert {p.language for p in engines.fake.prompts} == {"ja"}
    with Journal() as journal:
        assert [j.id for j in journal.jobs()] == [job]
        summary = journal.get(job)
    assert summary is not None and summary.status == "finished"
    # Its language, prompt, sampling and budget, not the window's; the records name the model now used.
    assert summary.options == dataclasses.replace(run, model_label=models.model.name)


def test_captions_that_cannot_be_saved_hold_the_queue_and_go_elsewhere_without_being_made_again(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = FakeEngines()
    folder = tmp_path / "cards"
    photos = engines.images(folder, ["c0.png", "c1.png", "c2.png"])
    fail_writes(monkeypatch, folder, errno.EROFS, after=2)  # the folder's probe and c0 pass; c1's write fails
    with fake_queue(engines, installed(models)) as queue:
        held: list[WriteError | None] = []
        queue.cannotSave.connect(held.append)
        queue.add_paths([folder])
        qtbot.waitUntil(lambda: bool(held) and not queue.running, timeout=WAIT_MS)
        assert states(queue) == {"c0.png": State.DONE, "c1.png": State.FAILED, "c2.png": State.IDLE}
        problem = held[0]
        assert problem is not None and problem.problem == "read_only" and queue.save_problem is problem
        assert queue.stopped
        c1 = queue.queue.entries[1]
        assert c1.unsaved and c1.caption == "c1.png caption"  # made: shown, kept

        out = tmp_path / "captions"
        queue.save_elsewhere(str(out))
        assert held[-1] is None and queue.save_hold.problem is None
        wait_finished(qtbot, queue, 3)
        assert set(states(queue).values()) == {State.DONE}
        assert (out / "cards" / "c1.txt").read_text(encoding="utf-8") == "c1.png caption\n"
        assert (out / "cards" / "c2.txt").exists() and not (out / "cards" / "c0.txt").exists()
        assert not photos[1].with_suffix(".txt").exists()
    assert engines.fake.submitted == ["c0.png", "c1.png", "c2.png"]  # c1 saved, not made again
    with Journal() as journal:
        [run] = journal.jobs()
    assert run.status == "finished" and run.options is not None
    assert run.options.caption_folder == str(out.absolute())  # the same run, its captions moved


def test_start_after_a_full_disk_is_freed_saves_what_was_made_where_it_goes(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = FakeEngines()
    folder = tmp_path / "full"
    photos = engines.images(folder, ["f0.png", "f1.png"])
    fail_writes(monkeypatch, folder, errno.ENOSPC, after=2)
    with fake_queue(engines, installed(models)) as queue:
        held: list[WriteError | None] = []
        queue.cannotSave.connect(held.append)
        queue.add_paths([folder])
        qtbot.waitUntil(lambda: bool(held) and not queue.running, timeout=WAIT_MS)
        assert held[0] is not None and held[0].problem == "full"
        monkeypatch.undo()  # space was freed
        queue.start()
        assert held[-1] is None
        wait_finished(qtbot, queue, 2)
        assert [p.with_suffix(".txt").read_text(encoding="utf-8") for p in photos] == ["f0.png caption\n",
                                                                                       "f1.png caption\n"]
    assert engines.fake.submitted == ["f0.png", "f1.png"]


def test_no_run_to_resume_offers_nothing(qtbot: QtBot, models: ModelFiles) -> None:
    with fake_queue(FakeEngines(), installed(models)) as queue:
        loaded(qtbot, queue)
        offers: list[object] = []
        queue.resumeOffered.connect(offers.append)
        assert queue.offer_resume() == [] and offers == [[]]
