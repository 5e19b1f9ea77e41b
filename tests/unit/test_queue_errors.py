"""What goes wrong around the window's queue is said, not left hanging: an unexpected error in the caption
worker ends its run with the reason on the images (and the traceback in the log), an error on any thread is
reported on the GUI thread, and a run another version recorded does not stop the window from starting."""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core import paths
from caprl_desktop.core.app_log import start_logging
from caprl_desktop.core.jobs import folder_locks
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal, default_path, options_to_json
from caprl_desktop.ui.errors import ErrorReporter
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import fake_queue, loaded, wait_finished
from tests.support.jobs import options
from tests.support.models import ModelFiles, installed


def test_an_unexpected_error_in_the_worker_ends_the_run_with_the_reason_on_its_images(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full data disk while taking the folder lock (an OSError, not a CaprlError) must not leave the window
    "running" for ever: the images fail with the reason and the traceback is in the log."""
    def full_disk() -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    start_logging("gui")  # as run_gui does
    engines = FakeEngines()
    engines.images(tmp_path, ["a.png", "b.png"])
    monkeypatch.setattr(folder_locks, "_locks_dir", full_disk)
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 2)
        assert queue.stopped  # not retried in a loop
        errors = {e.error for e in queue.queue.entries}
        assert len(errors) == 1 and errors.pop().startswith("unexpected error (OSError: [Errno 28] No space left")
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


def test_a_run_written_by_another_version_is_not_offered_and_the_queue_starts(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    items, _ = find_images(engines.images(tmp_path / "other", ["o0.png", "o1.png"]))
    with Journal() as journal:
        job = journal.create(items, options())
        journal.set_status(job, "stopped")
        summary = journal.get(job)
        assert summary is not None and summary.options is not None
        stored = json.loads(options_to_json(summary.options))
        stored.update({"app": "2.0", "a_field_from_the_future": True})
    with contextlib.closing(sqlite3.connect(default_path())) as db, db:  # as another version wrote it
        db.execute("UPDATE jobs SET options=? WHERE id=?", (json.dumps(stored), job))
    with fake_queue(engines, installed(models)) as queue:
        assert queue.offer_resume() == [] and queue.resumable == []
        loaded(qtbot, queue)
        queue.add_paths([tmp_path / "other"])  # its images caption as a new run
        wait_finished(qtbot, queue, 2)
