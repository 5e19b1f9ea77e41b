"""The window's engine state on the fake engine: loaded while images are picked, unloaded when idle, reloaded
when its set-up changes (never under a run), caption servers in and out, and model files released before they
are removed without the window waiting on the engine."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from caprl_desktop.core.engine.remote import saved
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.models.install import add_local
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.queue_model import State
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS, fake_queue, loaded, wait_finished
from tests.support.models import ModelFiles, installed


def test_the_model_loads_while_images_are_picked_and_is_named(qtbot: QtBot, models: ModelFiles) -> None:
    engines = FakeEngines()
    with fake_queue(engines, installed(models)) as queue:
        available: list[bool] = []
        queue.engine.modelAvailable.connect(available.append)
        with qtbot.waitSignal(queue.engine.engineReady, timeout=WAIT_MS):
            queue.engine.prepare()
        assert available == [True]
        assert queue.engine_info is not None and queue.engine_info.model.model_path == models.model
        assert queue.model_name == models.model.name.removesuffix(".gguf") and queue.engine_pid is not None
        assert len(engines.locals) == 1  # prepared twice, loaded once: the set-up is the same


def test_an_idle_model_is_unloaded_and_loads_again_for_the_next_image(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["later.png"])
    with fake_queue(engines, installed(models), idle_unload_minutes=15) as queue:
        loaded(qtbot, queue)
        timer = queue.engine.idle_timer
        assert timer.isActive() and timer.interval() == 15 * 60_000  # armed once the model loaded
        timer.start(0)  # instead of the 15 minutes
        with qtbot.waitSignal(queue.engine.engineUnloaded, timeout=WAIT_MS):
            pass
        qtbot.waitUntil(lambda: engines.locals[0].closed, timeout=WAIT_MS)
        assert queue.engine_info is None and queue.engine_pid is None
        queue.add_paths([photo])
        wait_finished(qtbot, queue, 1)
        assert len(engines.locals) == 2 and queue.engine.info is not None  # loaded again
        assert timer.isActive()  # and armed again once the run ended


def test_never_unloading_arms_no_timer_and_a_run_stops_it(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines()
    engines.images(tmp_path, ["a.png"])
    gate = engines.hold("a.png")
    with fake_queue(engines, installed(models), idle_unload_minutes=0) as queue:
        loaded(qtbot, queue)
        assert not queue.engine.idle_timer.isActive()  # "Never"
        queue.settings.idle_unload_minutes = 5
        queue.engine.settings_changed()
        assert queue.engine.idle_timer.isActive()
        running: list[bool] = []

        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not running:
                running.append(queue.engine.idle_timer.isActive())
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 1)
        assert running == [False] and queue.engine.idle_timer.isActive()


def test_a_new_engine_set_up_reloads_the_model_and_a_caption_choice_does_not(
    qtbot: QtBot, models: ModelFiles
) -> None:
    engines = FakeEngines()
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        queue.settings.language = "ja"  # the next run's prompt only
        queue.engine.settings_changed()
        queue.settings.threads = 1
        with qtbot.waitSignal(queue.engine.engineReady, timeout=WAIT_MS):
            queue.engine.settings_changed()
        assert [config.threads for config in engines.loads] == [None, 1]


def test_a_set_up_changed_during_a_run_applies_to_the_next_run(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "one", ["a.png"])
    [later] = engines.images(tmp_path / "two", ["b.png"])
    gate = engines.hold("a.png")
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)

        def on_event(event: object) -> None:
            if isinstance(event, ItemText):
                queue.settings.threads = 1
                queue.engine.settings_changed()  # under the run: nothing reloads
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path / "one"])
        wait_finished(qtbot, queue, 1)
        assert [config.threads for config in engines.loads] == [None]
        queue.add_paths([later])
        wait_finished(qtbot, queue, 2)
        assert [config.threads for config in engines.loads] == [None, 1]


def test_removing_the_loaded_models_files_ends_its_engine_first_without_waiting_for_it(
    qtbot: QtBot, models: ModelFiles
) -> None:
    engines = FakeEngines()
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        answers: list[str | None] = []
        closed_when_answered: list[bool] = []

        def answered(busy: str | None) -> None:
            closed_when_answered.append(engines.locals[0].closed)
            answers.append(busy)

        with qtbot.waitSignal(queue.engine.engineUnloaded, timeout=WAIT_MS):
            queue.engine.release({models.model}, answered)
            assert answers == [] and queue.engine.releasing  # the window goes on meanwhile
        qtbot.waitUntil(lambda: answers == [None], timeout=WAIT_MS)
        assert closed_when_answered == [True] and queue.engine_info is None and not queue.engine.releasing


def test_files_no_engine_has_open_are_released_at_once(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    with fake_queue(FakeEngines(), installed(models)) as queue:
        loaded(qtbot, queue)
        answers: list[str | None] = []
        queue.engine.release({tmp_path / "other.gguf"}, answers.append)
        assert answers == [None] and queue.engine_info is not None


def test_the_files_of_the_model_captioning_now_are_not_released(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path, ["a.png"])
    gate = engines.hold("a.png")
    with fake_queue(engines, installed(models)) as queue:
        answers: list[str | None] = []

        def on_event(event: object) -> None:
            if isinstance(event, ItemText) and not answers:
                queue.engine.release({models.mmproj}, answers.append)
                gate.set()

        queue.eventHandled.connect(on_event)
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 1)
        assert answers == ["The model is captioning now: pause or cancel, then remove it."]
        assert not engines.locals[0].closed


def test_nothing_loads_the_model_again_while_its_files_are_released(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["next.png"])
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        loaded(qtbot, queue)
        with qtbot.waitSignal(queue.rowsListed, timeout=WAIT_MS):
            queue.add_paths([photo])
        log_when_answered: list[list[str]] = []
        queue.engine.release({models.model}, lambda busy: log_when_answered.append(list(engines.log)))
        queue.engine.prepare()  # (a settings change would)
        queue.caption_rows([0])
        assert not queue.running  # held until the files are free
        qtbot.waitUntil(lambda: bool(log_when_answered), timeout=WAIT_MS)
        assert log_when_answered[0][-1] == "close"  # no load since the engine ended
        wait_finished(qtbot, queue, 1)  # then the queue goes on, loading again
        assert queue.queue.entries[0].state == State.DONE and len(engines.locals) == 2


def test_images_wait_for_a_model_and_go_once_one_is_installed(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["wait.png"])
    store = ModelStore()  # nothing installed
    with fake_queue(engines, store) as queue:
        missing: list[bool] = []
        queue.modelMissing.connect(lambda: missing.append(True))
        with qtbot.waitSignal(queue.modelMissing, timeout=WAIT_MS):
            queue.add_paths([photo])
        assert not queue.running and queue.queue.entries[0].state == State.QUEUED
        add_local(store, models.model, models.mmproj)
        queue.engine.models_changed()
        wait_finished(qtbot, queue, 1)
        assert photo.with_suffix(".txt").exists()


def test_an_edited_captions_tokens_are_counted_by_the_loaded_model(qtbot: QtBot, models: ModelFiles,
                                                                   tmp_path: Path) -> None:
    with fake_queue(FakeEngines(), installed(models)) as queue:
        loaded(qtbot, queue)
        with qtbot.waitSignal(queue.tokensCounted, timeout=WAIT_MS) as counted:
            queue.count_tokens(tmp_path / "a.png", "three short words")
        assert counted.args == [tmp_path / "a.png", "three short words", 3]


def test_captions_made_by_servers_name_what_they_serve_and_choosing_this_computer_lets_them_go(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    saved.add("box", "http://127.0.0.1:9/v1")
    engines = FakeEngines(served_model="CapRL-Qwen3VL-2B")
    engines.images(tmp_path, ["s0.png", "s1.png"])
    with fake_queue(engines, installed(models), engine_servers=("box",)) as queue:
        qtbot.waitUntil(lambda: queue.remote_info is not None, timeout=WAIT_MS)
        assert queue.engine_info is None and queue.model_name == "box" and queue.uses_servers
        measured: list[object] = []
        queue.engine.serversMeasured.connect(measured.append)
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 2)
        assert measured  # the run's last figures stay in view
        with Journal() as journal:
            [run] = journal.jobs()
        assert run.options is not None and run.options.model_label == "CapRL-Qwen3VL-2B"

        queue.settings.engine_servers = ()
        with qtbot.waitSignal(queue.engine.engineReady, timeout=WAIT_MS):
            queue.engine.settings_changed()
        assert queue.engine.remote is None and queue.engine.info is not None
        qtbot.waitUntil(lambda: engines.servers_made[0].closed, timeout=WAIT_MS)


def test_servers_that_say_no_model_are_recorded_as_server(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    saved.add("box", "http://127.0.0.1:9/v1")
    engines = FakeEngines(served_model="")
    engines.images(tmp_path, ["s.png"])
    with fake_queue(engines, installed(models), engine_servers=("box",)) as queue:
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 1)
    with Journal() as journal:
        [run] = journal.jobs()
    assert run.options is not None and run.options.model_label == "server"
