"""The window's queue without the window: ``QueueController`` driven through its public API, with the tiny
GGUFs captioning in a real engine process. Pause, cancel, and progress that covers the whole go."""

from __future__ import annotations

import dataclasses
import errno
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core import paths
from caprl_desktop.core.app_log import start_logging
from caprl_desktop.core.jobs import folder_locks
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.models.install import add_local
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.errors import ErrorReporter
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
    settings.start_when_added = True  # images added are captioned at once
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


def test_an_unexpected_error_in_the_worker_ends_the_job_with_the_reason_on_the_images(
    qtbot: QtBot, controller: QueueController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full data disk while taking the folder lock (an OSError, not a CaprlError) must not leave the window
    "running" for ever: the images fail with the reason and the traceback is in the log."""
    def full_disk() -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    start_logging("gui")  # as run_gui does
    monkeypatch.setattr(folder_locks, "_locks_dir", full_disk)
    folder = folder_of(tmp_path, "lockless", 2, seed=70)
    controller.add_paths([folder])
    qtbot.waitUntil(lambda: finished(controller, 2), timeout=TIMEOUT_MS)
    assert controller.stopped  # not retried in a loop
    errors = {e.error for e in controller.queue.entries}
    assert len(errors) == 1
    (error,) = errors
    assert error.startswith("unexpected error (OSError: [Errno 28] No space left on device)")
    log = paths.log_dir() / "gui.log"
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")


def test_an_error_on_any_thread_is_logged_and_reported_on_the_gui_thread(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    start_logging("gui")
    reporter = ErrorReporter()
    reporter.install()
    shown_on: list[threading.Thread] = []
    reporter.reported.connect(lambda summary, details: shown_on.append(threading.current_thread()))

    def fails() -> None:
        raise ValueError("a bug on a plain thread")

    with qtbot.waitSignal(reporter.reported, timeout=5000) as blocker:
        worker = threading.Thread(target=fails, name="plain-thread")
        worker.start()
        worker.join()
    assert blocker.args is not None and blocker.args[0] == "ValueError: a bug on a plain thread"
    assert shown_on == [threading.main_thread()]  # the dialog is made on the GUI thread only
    text = (paths.log_dir() / "gui.log").read_text(encoding="utf-8")
    assert "unexpected error in plain-thread" in text and "ValueError: a bug on a plain thread" in text


def test_cancel_pressed_while_a_run_waits_its_turn_reaches_that_run(
    qtbot: QtBot, controller: QueueController, tmp_path: Path
) -> None:
    """The worker is busy (loading a model) when the run is asked for; Cancel comes before the run starts.
    Each run carries its own cancel, so the worker does not caption the batch once its turn comes."""
    config = controller.engine_config()
    assert config is not None
    controller.settings.threads = 1  # another set-up: the worker reloads the engine, which takes a moment
    controller.loadRequested.emit(dataclasses.replace(config, threads=1))
    folder = folder_of(tmp_path, "waiting", 3, seed=90)
    with qtbot.waitSignal(controller.runRequested, timeout=TIMEOUT_MS):
        controller.add_paths([folder])
    controller.cancel()
    qtbot.waitUntil(lambda: not controller.running, timeout=TIMEOUT_MS)
    assert not list(folder.glob("*.txt"))  # nothing captioned after the Cancel
    assert {e.state for e in controller.queue.entries} == {State.IDLE}
