"""The window's queue on the fake engine: Start, Pause and Cancel, one run per drop, failed rows, refused and
broken runs, and the go's count. The integration tests keep one real-engine path for each of these."""

from __future__ import annotations

import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.jobs import folder_locks
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.ui.go_progress import Progress
from caprl_desktop.ui.queue_model import State
from tests.support.fake_engine import FakeEngine, Script
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS, fake_queue, loaded, row_of, states, wait_finished
from tests.support.models import ModelFiles, installed


def test_a_drop_is_captioned_into_sidecars_as_one_run_with_the_windows_choices(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path / "photos", ["a.png", "b.png", "c.png"])
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        queue.add_paths([tmp_path / "photos"])
        wait_finished(qtbot, queue, 3)
        assert [p.with_suffix(".txt").read_text(encoding="utf-8") for p in photos] == [
            "a.png caption\n", "b.png caption\n", "c.png caption\n"]
        assert queue.progress == Progress(3, 3, None, running=False)
        assert [e.caption for e in queue.queue.entries] == ["a.png caption", "b.png caption", "c.png caption"]
    with Journal() as journal:
        [run] = journal.jobs()
    assert run.status == "finished" and run.options is not None
    assert run.options.prompt.language == "en" and run.options.params.max_tokens == 32
    assert run.options.model_label == models.model.name  # the records name the model file
    assert {p.language for p in engines.fake.prompts} == {"en"}


def test_images_added_wait_for_start_unless_the_setting_says_otherwise(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path, ["w0.png", "w1.png"])
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        loaded(qtbot, queue)
        with qtbot.waitSignal(queue.rowsListed, timeout=WAIT_MS):
            queue.add_paths([tmp_path])
        assert states(queue) == {"w0.png": State.IDLE, "w1.png": State.IDLE}
        assert not queue.running and engines.fake.submitted == []
        queue.start()
        wait_finished(qtbot, queue, 2)
        assert set(states(queue).values()) == {State.DONE}


def test_pause_lets_the_caption_in_flight_finish_and_start_goes_on_with_the_same_run(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "pause", [f"p{i}.png" for i in range(4)])
    gate = engines.hold("p0.png")
    with fake_queue(engines, installed(models)) as queue:
        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not queue.stopped:
                queue.pause()
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path / "pause"])
        qtbot.waitUntil(lambda: queue.stopped and not queue.running, timeout=WAIT_MS)
        queue.eventHandled.disconnect(on_event)
        assert states(queue) == {"p0.png": State.DONE, "p1.png": State.IDLE, "p2.png": State.IDLE,
                                 "p3.png": State.IDLE}
        assert queue.progress == Progress(1, 4, None, running=False)  # the go is over; its count stays
        with Journal() as journal:
            [run] = journal.jobs()
        assert run.status == "stopped" and run.left == 3

        queue.start()
        assert queue.running and queue.progress.total == 3  # a new go: what was left
        wait_finished(qtbot, queue, 4)
        assert queue.progress == Progress(3, 3, None, running=False)
    with Journal() as journal:
        [again] = journal.jobs()
    assert again.id == run.id and again.status == "finished"
    assert engines.fake.submitted == ["p0.png", "p1.png", "p2.png", "p3.png"]  # none made twice


def test_pause_with_several_captions_side_by_side_lets_them_all_finish(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(parallel=3))
    engines.images(tmp_path, [f"s{i}.png" for i in range(6)])
    gate = engines.hold("s0.png")
    with fake_queue(engines, installed(models)) as queue:
        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not queue.stopped:
                queue.pause()
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path])
        qtbot.waitUntil(lambda: queue.stopped and not queue.running, timeout=WAIT_MS)
        assert list(states(queue).values()) == [State.DONE] * 3 + [State.IDLE] * 3
        assert engines.fake.most_in_flight == 3


def test_cancel_stops_the_caption_in_flight_leaves_the_rest_not_captioned_and_start_goes_on_with_the_run(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path / "cancel", [f"c{i}.png" for i in range(5)])
    engines.hold("c0.png")  # (Cancel lets it go, as the real engine stops within a token)
    with fake_queue(engines, installed(models)) as queue:
        changes: list[tuple[bool, bool]] = []
        queue.stateChanged.connect(lambda: changes.append((queue.running, queue.stopped)))

        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not queue.stopped:
                queue.cancel()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path / "cancel"])
        qtbot.waitUntil(lambda: queue.stopped and not queue.running, timeout=WAIT_MS)
        assert (True, False) in changes and (True, True) in changes and changes[-1] == (False, True)
        assert set(states(queue).values()) == {State.IDLE}
        assert not any(p.with_suffix(".txt").exists() for p in photos)
        assert queue.progress == Progress(0, 5, None, running=False)
        assert engines.fake.submitted == ["c0.png"]
        with Journal() as journal:
            [stopped] = journal.jobs()
        assert stopped.status == "stopped" and stopped.left == 5

        queue.eventHandled.disconnect(on_event)
        with qtbot.waitSignal(queue.runRequested, timeout=WAIT_MS) as blocker:
            queue.start()
        assert blocker.args[0].job_id == stopped.id  # started again, the run goes on: not a new one
        wait_finished(qtbot, queue, 5)
    with Journal() as journal:
        [run] = journal.jobs()
    assert run.id == stopped.id and run.status == "finished" and run.left == 0


def test_cancel_pressed_while_the_run_waits_for_the_model_reaches_that_run(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.loading = threading.Event()  # the model takes its time to load
    photos = engines.images(tmp_path / "waiting", ["w0.png", "w1.png", "w2.png"])
    with fake_queue(engines, installed(models)) as queue:
        with qtbot.waitSignal(queue.runRequested, timeout=WAIT_MS):
            queue.add_paths([tmp_path / "waiting"])
        queue.cancel()
        engines.loading.set()
        qtbot.waitUntil(lambda: not queue.running, timeout=WAIT_MS)
        assert set(states(queue).values()) == {State.IDLE}
        assert not any(p.with_suffix(".txt").exists() for p in photos) and engines.fake.submitted == []


def test_images_added_while_a_go_runs_extend_its_count_which_only_grows(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "first", [f"f{i}.png" for i in range(4)])
    engines.images(tmp_path / "second", [f"s{i}.png" for i in range(3)])
    gate = engines.hold("f0.png")
    with fake_queue(engines, installed(models)) as queue:
        seen: list[Progress] = []
        queue.progressChanged.connect(seen.append)
        # f0 is held until the second folder is listed.
        queue.rowsListed.connect(lambda added: gate.set() if len(queue.queue.entries) == 7 else None)
        added: list[bool] = []

        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not added:
                added.append(True)
                queue.add_paths([tmp_path / "second"])  # while the first folder is captioned

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path / "first"])
        wait_finished(qtbot, queue, 7)
        running = [p for p in seen if p.running]
        assert running[0].total == 4 and running[-1].total == 7
        assert [p.total for p in running] == sorted(p.total for p in running)
        assert queue.progress == Progress(7, 7, None, running=False)
    with Journal() as journal:
        assert len(journal.jobs()) == 2  # two drops, two runs, one count


def test_a_failed_image_shows_its_reason_is_not_retried_by_start_and_caption_selected_tries_it_again(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"b.png": Script(error=EngineError("the model gave up on it"))}))
    photos = engines.images(tmp_path, ["a.png", "b.png", "c.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 3)
        assert states(queue) == {"a.png": State.DONE, "b.png": State.FAILED, "c.png": State.DONE}
        failed = queue.queue.entry(row_of(queue, photos[1]))
        assert failed.error == "the model gave up on it" and not failed.unsaved
        assert not photos[1].with_suffix(".txt").exists()
        assert (queue.progress.failed, queue.progress.captioned) == (1, 2)

        queue.start()  # a failure without a caption made is not tried again by Start
        assert not queue.running

        engines.fake.scripts = {}  # (it would caption now)
        queue.caption_rows([row_of(queue, photos[1])])
        wait_finished(qtbot, queue, 3)
        assert queue.queue.entry(row_of(queue, photos[1])).state == State.DONE
        assert photos[1].with_suffix(".txt").read_text(encoding="utf-8") == "b.png caption\n"


def test_an_image_the_engine_crashes_on_twice_fails_and_the_queue_goes_on(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"b.png": Script(crashes=2)}))
    engines.images(tmp_path, ["a.png", "b.png", "c.png"])
    with fake_queue(engines, installed(models)) as queue:
        said: list[str] = []
        queue.message.connect(lambda text, ms: said.append(text))
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 3)
        assert states(queue) == {"a.png": State.DONE, "b.png": State.FAILED, "c.png": State.DONE}
        assert "crash" in queue.queue.entries[1].error
        assert any(text.startswith("The engine crashed and was restarted: ") for text in said)
        assert engines.fake.crashes == 2


def test_a_model_that_does_not_load_stops_the_queue_says_why_and_start_tries_again(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(start_error=EngineError("the model file is damaged")))
    photos = engines.images(tmp_path, ["a.png", "b.png"])
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        failures: list[str] = []
        queue.engine.engineFailed.connect(failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)  # preparing it failed
        queue.add_paths([tmp_path], start=True)
        qtbot.waitUntil(lambda: len(failures) == 2 and not queue.running, timeout=WAIT_MS)
        assert failures == ["the model file is damaged"] * 2
        assert queue.stopped and set(states(queue).values()) == {State.IDLE}  # not failed: nothing was tried
        assert not any(p.with_suffix(".txt").exists() for p in photos)

        engines.fake.start_error = None  # (the model is fixed)
        queue.start()
        wait_finished(qtbot, queue, 2)
        assert set(states(queue).values()) == {State.DONE}


def test_a_folder_another_run_holds_is_refused_with_the_reason_and_can_be_tried_again(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path / "held", ["a.png"])
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        with folder_locks.folder_locks([tmp_path / "held"], what="caprl-desktop caption"):
            queue.add_paths([tmp_path / "held"])
            wait_finished(qtbot, queue, 1)
        [entry] = queue.queue.entries
        assert entry.state == State.FAILED and "is being captioned by process" in entry.error
        assert not photo.with_suffix(".txt").exists()
        queue.caption_rows([0])  # once the other run is done
        wait_finished(qtbot, queue, 1)
        assert queue.queue.entries[0].state == State.DONE and photo.with_suffix(".txt").exists()


def test_rows_a_run_holds_are_not_removed_and_removed_rows_leave_the_go(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path, ["r0.png", "r1.png", "r2.png", "r3.png"])
    gate = engines.hold("r0.png")
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        with qtbot.waitSignal(queue.rowsListed, timeout=WAIT_MS):
            queue.add_paths([tmp_path])
        with qtbot.waitSignal(queue.eventHandled, timeout=WAIT_MS,
                              check_params_cb=lambda event: isinstance(event, ItemText)):
            queue.caption_rows([0, 1])
        assert queue.progress.total == 2
        assert queue.remove_rows([0, 1, 3]) == [3]  # r0 is being captioned, r1 waits its turn in the run
        assert [e.item.file_name for e in queue.queue.entries] == ["r0.png", "r1.png", "r2.png"]
        gate.set()
        qtbot.waitUntil(lambda: not queue.running, timeout=WAIT_MS)
        assert states(queue) == {"r0.png": State.DONE, "r1.png": State.DONE, "r2.png": State.IDLE}
        queue.remove_rows([0])
        assert queue.progress.total == 2 and [e.item.file_name for e in queue.queue.entries] == ["r1.png", "r2.png"]


def test_recaption_selected_replaces_the_caption_of_a_row_done(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"a.png": Script(pieces=("first",))}))
    [photo] = engines.images(tmp_path, ["a.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([photo])
        wait_finished(qtbot, queue, 1)
        assert photo.with_suffix(".txt").read_text(encoding="utf-8") == "first\n"
        engines.fake.scripts = {"a.png": Script(pieces=("second",))}
        queue.caption_rows([0], overwrite=True)
        qtbot.waitUntil(lambda: photo.with_suffix(".txt").read_text(encoding="utf-8") == "second\n", timeout=WAIT_MS)
        wait_finished(qtbot, queue, 1)
        assert queue.queue.entries[0].caption == "second"


def test_the_title_folder_is_the_run_in_flight_and_the_speed_is_told(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "album", ["a.png"])
    gate = engines.hold("a.png")
    with fake_queue(engines, installed(models)) as queue:
        speeds: list[float] = []
        queue.speedChanged.connect(speeds.append)
        folders: list[Path | None] = []

        def on_event(event: object) -> None:
            if isinstance(event, ItemText):
                folders.append(queue.current_folder)
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path / "album"])
        wait_finished(qtbot, queue, 1)
        assert folders[0] == (tmp_path / "album").absolute() and queue.current_folder is None
        assert speeds and speeds[-1] > 0  # the finished caption's own speed
