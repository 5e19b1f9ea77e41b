"""The window's queue without the window: ``QueueController`` driven through its public API, with the tiny
GGUFs captioning in a real engine process. Pause, cancel, and progress that covers the whole go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.models.install import add_local
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.queue_controller import Progress, QueueController
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.settings import AppSettings
from tests.support.images import save_noise
from tests.support.models import ModelFiles

TIMEOUT_MS = 60_000


@pytest.fixture
def controller(qtbot: QtBot, models: ModelFiles) -> Iterator[QueueController]:
    store = ModelStore()
    add_local(store, models.model, models.mmproj)
    settings = AppSettings()
    settings.max_tokens = 200
    settings.detail = "fast"
    settings.language = "en"
    settings.seed = 1234
    queue = QueueController(settings, store)
    queue.prepare_engine()
    qtbot.waitUntil(lambda: queue.engine_info is not None, timeout=TIMEOUT_MS)
    yield queue
    queue.shutdown()
    queue.deleteLater()


def finished(queue: QueueController, count: int) -> bool:
    entries = queue.queue.entries
    return len(entries) == count and not queue.running and all(e.state in (State.DONE, State.FAILED)
                                                                 for e in entries)


def folder_of(tmp_path: Path, name: str, count: int, seed: int) -> Path:
    for i in range(count):
        save_noise(tmp_path / name / f"{name}{i}.jpg", seed=seed + i)
    return tmp_path / name


def test_pause_lets_those_in_flight_finish_and_start_goes_on_with_the_same_run(
    qtbot: QtBot, controller: QueueController, tmp_path: Path
) -> None:
    controller.settings.max_tokens = 1000  # those in flight are far from done when Pause is pressed
    folder = folder_of(tmp_path, "pause", 8, seed=1)

    def on_event(event: object) -> None:
        if isinstance(event, ItemText) and not controller.stopped:
            controller.pause()

    controller.eventHandled.connect(on_event)
    controller.add_paths([folder])
    qtbot.waitUntil(lambda: controller.stopped and not controller.running, timeout=TIMEOUT_MS)
    controller.eventHandled.disconnect(on_event)
    states = [e.state for e in controller.queue.entries]
    done = sum(s in (State.DONE, State.FAILED) for s in states)
    assert 1 <= done < 8 and states.count(State.IDLE) == 8 - done  # none left half-way
    paused = controller.progress
    assert paused == Progress(done, 8, None, running=False)  # the go is over; its count stays

    with Journal() as journal:
        [run] = journal.jobs()
    assert run.status == "stopped" and run.left == 8 - done
    controller.start()
    assert controller.running and controller.progress.total == 8 - done  # a new go: what was left
    qtbot.waitUntil(lambda: finished(controller, 8), timeout=TIMEOUT_MS)
    assert controller.progress == Progress(8 - done, 8 - done, None, running=False)
    with Journal() as journal:
        [again] = journal.jobs()
    assert again.id == run.id and again.status == "finished"


def test_cancel_stops_the_go_and_leaves_the_rest_not_captioned(
    qtbot: QtBot, controller: QueueController, tmp_path: Path
) -> None:
    controller.settings.max_tokens = 2000
    folder = folder_of(tmp_path, "cancel", 5, seed=20)
    changes: list[tuple[bool, bool]] = []
    controller.stateChanged.connect(lambda: changes.append((controller.running, controller.stopped)))

    def on_event(event: object) -> None:
        if isinstance(event, ItemText) and not controller.stopped:
            controller.cancel()

    controller.eventHandled.connect(on_event)
    controller.add_paths([folder])
    qtbot.waitUntil(lambda: controller.stopped and not controller.running, timeout=TIMEOUT_MS)
    assert (True, False) in changes and (True, True) in changes and changes[-1] == (False, True)
    idle = [e for e in controller.queue.entries if e.state == State.IDLE]
    assert idle and all(e.state in (State.DONE, State.FAILED, State.IDLE) for e in controller.queue.entries)
    assert not any(e.path.with_suffix(".txt").exists() for e in idle)
    progress = controller.progress
    assert progress.total == 5 and progress.done == 5 - len(idle) and progress.seconds_left is None
    assert not progress.running


def test_images_added_while_it_runs_extend_the_count_and_time_left_is_estimated(
    qtbot: QtBot, controller: QueueController, tmp_path: Path
) -> None:
    first = folder_of(tmp_path, "first", 4, seed=40)
    second = folder_of(tmp_path, "second", 3, seed=50)
    controller.settings.max_tokens = 600
    seen: list[Progress] = []
    controller.progressChanged.connect(seen.append)
    added: list[bool] = []

    def on_event(event: object) -> None:
        if isinstance(event, ItemText) and not added:
            added.append(True)
            controller.add_paths([second])  # while the first folder is captioned

    controller.eventHandled.connect(on_event)
    controller.add_paths([first])
    qtbot.waitUntil(lambda: finished(controller, 7), timeout=TIMEOUT_MS)
    running = [p for p in seen if p.running]
    assert running[0].total == 4 and running[-1].total == 7
    assert [p.total for p in running] == sorted(p.total for p in running)  # it only grows
    assert any(p.seconds_left is not None and p.seconds_left > 0 for p in running)
    assert controller.progress == Progress(7, 7, None, running=False)
    with Journal() as journal:
        assert len(journal.jobs()) == 2  # two drops, two runs, one count
