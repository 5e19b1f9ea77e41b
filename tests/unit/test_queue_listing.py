"""The image list's rows and the queue's listing, Qt only (no engine, no model): typed row changes keep the
per-state counts that progress reads, and a large drop is listed whole before anything would start."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.drop_intake import LIST_SLICE
from caprl_desktop.ui.queue_controller import QueueController
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel, State
from caprl_desktop.ui.settings import AppSettings


def record(path: Path, caption: str, error: str = "") -> CaptionRecord:
    return CaptionRecord(file_name=path.name, caption=caption, language="en", prompt="p", model="tiny",
                         seconds=0.1, output_tokens=1, error=error, path=str(path))


def counted(model: QueueModel) -> dict[State, int]:
    return {state: model.count(state) for state in State if model.count(state)}


def walked(model: QueueModel) -> dict[State, int]:
    return {state: len(model.in_state(state)) for state in State if model.in_state(state)}


def test_typed_changes_keep_the_counts_and_what_each_row_says(qtbot: QtBot, tmp_path: Path) -> None:
    model = QueueModel(ImageLoader())
    items = [ImageItem(tmp_path / f"r{i}.jpg", tmp_path) for i in range(5)]
    changed: list[int] = []
    model.dataChanged.connect(lambda first, last: changed.extend(range(first.row(), last.row() + 1)))
    assert model.add(items) == 5 and model.add(items[:2]) == 0  # listed once
    assert counted(model) == {State.QUEUED: 5}

    model.set_state([0, 1, 2], State.WAITING)
    model.set_job([0, 1, 2], 7)
    model.begin(0)
    model.append_text(0, "A ")
    model.append_text(0, "cat")
    assert (model.entry(0).caption, model.entry(0).tokens, model.entry(0).state) == ("A cat", 2, State.CAPTIONING)
    model.finish(0, record(items[0].path, "A cat."), sidecar=tmp_path / "r0.txt", stats=None)
    done = model.entry(0)
    assert (done.state, done.caption, done.job_id, done.sidecar) == (State.DONE, "A cat.", None, tmp_path / "r0.txt")
    model.fail(1, "disk full", record=record(items[1].path, "made"), unsaved=True)
    assert model.entry(1).job_id == 7 and model.entry(1).unsaved and model.entry(1).caption == "made"
    model.fail(2, "cannot be read")
    assert model.entry(2).job_id is None and not model.entry(2).unsaved
    model.reset(1, State.IDLE)
    model.requeue(2)
    assert model.entry(2).error == "" and model.entry(2).state == State.QUEUED
    assert counted(model) == walked(model) == {State.DONE: 1, State.IDLE: 1, State.QUEUED: 3}
    assert set(changed) == {0, 1, 2}  # each change is shown

    assert model.add(items[:1], overwrite=True) == 0  # done once: queued again, from scratch
    assert model.entry(0).state == State.QUEUED and model.entry(0).overwrite
    model.remove_rows([0, 3])
    assert counted(model) == walked(model) == {State.IDLE: 1, State.QUEUED: 2}
    assert [model.row_of(i.path) for i in items] == [None, 0, 1, None, 2]
    assert model.count(State.QUEUED, State.IDLE) == 3


def test_records_carry_the_caption_as_edited(tmp_path: Path) -> None:
    model = QueueModel(ImageLoader())
    items = [ImageItem(tmp_path / f"e{i}.jpg", tmp_path) for i in range(3)]
    model.add(items)
    model.begin(0)
    model.finish(0, record(items[0].path, "made"), sidecar=None, stats=None)
    model.set_caption(0, "edited")
    model.fail(1, "broken", record=record(items[1].path, "", error="broken"))
    assert [(r.file_name, r.caption) for r in model.records()] == [("e0.jpg", "edited"), ("e1.jpg", "")]
    assert [r.file_name for r in model.records([1, 2])] == ["e1.jpg"]  # not captioned: no record


@pytest.fixture
def modelless(qtbot: QtBot) -> Iterator[QueueController]:
    queue = QueueController(AppSettings(), ModelStore())  # an empty home: no model installed
    yield queue
    queue.shutdown()
    queue.deleteLater()


def test_a_drop_larger_than_a_slice_is_listed_whole_before_it_would_start(
    qtbot: QtBot, modelless: QueueController, tmp_path: Path
) -> None:
    count = 2 * LIST_SLICE + 500
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(count):
        (folder / f"i{i:05d}.png").write_bytes(b"")  # found by name; nothing opens them here
    events: list[str] = []
    available: list[bool] = []
    modelless.engine.modelAvailable.connect(available.append)
    modelless.rowsListed.connect(lambda added: events.append(f"listed {added}"))
    modelless.modelMissing.connect(lambda: events.append("needs a model"))
    modelless.runRequested.connect(lambda request: events.append("run"))
    modelless.engine.prepare()
    assert available == [False]

    with qtbot.waitSignal(modelless.modelMissing, timeout=30_000):
        modelless.add_paths([folder], start=True)
    assert events == [f"listed {LIST_SLICE}", f"listed {LIST_SLICE}", "listed 500", "needs a model"]
    assert not modelless.listing and not modelless.running and modelless.queue.count(State.QUEUED) == count
    assert modelless.progress.total == 0 and not modelless.progress.running  # nothing started

    modelless.cancel()
    assert modelless.stopped and modelless.queue.count(State.IDLE) == count
    removed = modelless.remove_rows(list(range(10)))
    assert removed == list(range(10)) and len(modelless.queue.entries) == count - 10


def test_a_folder_the_system_will_not_show_is_said_not_hidden(
    qtbot: QtBot, modelless: QueueController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS refuses Desktop, Documents and removable volumes to an app not allowed there; elsewhere a folder
    without permission does the same. The user is told which and where to allow it, not "no images found"."""
    private = tmp_path / "Desktop"
    private.mkdir()
    real_scandir = os.scandir

    def refusing(path: object = ".") -> object:
        if Path(str(path)) == private:
            raise PermissionError(1, "Operation not permitted", str(private))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", refusing)
    monkeypatch.setattr(sys, "platform", "darwin")
    with qtbot.waitSignal(modelless.message, timeout=10_000) as said:
        modelless.add_paths([private])
    assert said.args is not None
    text = said.args[0]
    assert f"Could not look inside {private}: permission denied." in text and "Privacy & Security" in text
    denied: list[Path] = []
    assert find_images([tmp_path], denied=denied) == ([], []) and denied == [private]
