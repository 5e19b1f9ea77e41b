"""The window's queue and the captions already on disk, on the fake engine: images captioned before are shown
and skipped, re-captioning them is asked first (saying how many were edited by hand), and the row on display
reads its caption off the GUI thread before an edit may start from it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core.jobs import existing
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.ui import disk_looks
from caprl_desktop.ui.disk_captions import ReplaceQuestion
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_controller import QueueController
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.settings import AppSettings
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS, fake_queue, loaded, row_of, states, wait_finished
from tests.support.models import ModelFiles, installed


def listed(qtbot: QtBot, queue: QueueController, paths: list[Path]) -> None:
    with qtbot.waitSignal(queue.rowsListed, timeout=WAIT_MS):
        queue.add_paths(paths)


def test_images_captioned_before_say_so_are_skipped_by_start_and_recaptioned_when_asked(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    a, b, _ = engines.images(tmp_path, ["a.png", "b.png", "c.png"])
    a.with_suffix(".txt").write_text("old a\n", encoding="utf-8")
    b.with_suffix(".txt").write_text("old b\n", encoding="utf-8")
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        told: list[int] = []
        queue.skippedChanged.connect(told.append)
        listed(qtbot, queue, [tmp_path])
        qtbot.waitUntil(lambda: sum(e.earlier for e in queue.queue.entries) == 2, timeout=WAIT_MS)
        assert [(e.earlier, e.caption) for e in queue.queue.entries] == [(True, "old a"), (True, "old b"), (False, "")]
        assert told == []  # nothing ran, so nothing was skipped yet

        queue.start()
        wait_finished(qtbot, queue, 3)
        assert engines.fake.submitted == ["c.png"]  # the others kept their captions
        assert (queue.progress.skipped, queue.progress.captioned) == (2, 1)
        assert queue.skipped == [a, b] and told[-1] == 2

        with qtbot.waitSignal(queue.replaceAsked, timeout=WAIT_MS) as asked:
            queue.recaption_skipped()
        assert told[-1] == 0
        question: ReplaceQuestion = asked.args[0]
        assert [i.path for i in question.items] == [a, b]
        assert (question.replaced.captioned, question.replaced.not_from_app) == (2, 2)  # written by hand
        queue.replace(question)
        wait_finished(qtbot, queue, 3)
        assert a.with_suffix(".txt").read_text(encoding="utf-8") == "a.png caption\n"
        assert b.with_suffix(".txt").read_text(encoding="utf-8") == "b.png caption\n"


def test_a_caption_the_app_wrote_and_a_person_edited_is_counted_as_edited_by_hand(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    a, _ = engines.images(tmp_path, ["a.png", "b.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 2)
        a.with_suffix(".txt").write_text("a person's words\n", encoding="utf-8")
        with qtbot.waitSignal(queue.replaceAsked, timeout=WAIT_MS) as asked:
            queue.ask_replace(items=[e.item for e in queue.queue.entries])
        question: ReplaceQuestion = asked.args[0]
        assert (question.replaced.captioned, question.replaced.hand_edited, question.replaced.not_from_app) == (2, 1, 0)
        assert question.replaced.made_by_hand == 1


def test_recaptioning_images_without_captions_asks_nothing(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines()
    [a] = engines.images(tmp_path, ["a.png"])
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        listed(qtbot, queue, [a])
        asked: list[object] = []
        queue.replaceAsked.connect(asked.append)
        queue.ask_replace(items=[queue.queue.entry(0).item])
        wait_finished(qtbot, queue, 1)
        assert asked == [] and a.with_suffix(".txt").exists()


def test_recaptioning_a_folder_not_listed_lists_it_like_a_drop_and_replaces_its_captions(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path / "again", ["x.png", "y.png"])
    for photo in photos:
        photo.with_suffix(".txt").write_text("before\n", encoding="utf-8")
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        with qtbot.waitSignal(queue.replaceAsked, timeout=WAIT_MS) as asked:
            queue.ask_replace(paths=[tmp_path / "again"])
        with qtbot.waitSignal(queue.dropListed, timeout=WAIT_MS):
            queue.replace(asked.args[0])
        wait_finished(qtbot, queue, 2)
        assert [p.with_suffix(".txt").read_text(encoding="utf-8") for p in photos] == ["x.png caption\n",
                                                                                       "y.png caption\n"]


def test_recaptioning_a_folder_without_images_says_so(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with fake_queue(FakeEngines(), installed(models)) as queue:
        with qtbot.waitSignal(queue.message, timeout=WAIT_MS) as said:
            queue.ask_replace(paths=[tmp_path / "empty"])
        assert said.args is not None and said.args[0] == "No images found there."
        assert queue.queue.entries == []


def test_rows_left_by_cancel_show_the_caption_still_on_disk(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path, [f"n{i}.png" for i in range(4)])
    engines.hold("n0.png")
    with fake_queue(engines, installed(models), start_when_added=False) as queue:
        for photo in photos:
            photo.with_suffix(".txt").write_text(f"earlier {photo.stem}\n", encoding="utf-8")
        listed(qtbot, queue, [tmp_path])
        queue.eventHandled.connect(lambda event: queue.cancel() if isinstance(event, ItemText) else None)
        queue.caption_rows(list(range(4)), overwrite=True)
        qtbot.waitUntil(lambda: queue.stopped and not queue.running, timeout=WAIT_MS)
        assert set(states(queue).values()) == {State.IDLE}
        qtbot.waitUntil(lambda: all(e.earlier for e in queue.queue.entries), timeout=WAIT_MS)
        assert [e.caption for e in queue.queue.entries] == [f"earlier n{i}" for i in range(4)]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The threads the captions on disk are read on, for the queue's looks."""
    threads: list[threading.Thread] = []

    def reading(items: Iterable[ImageItem], folder: Path | None = None) -> dict[Path, existing.ExistingCaption]:
        threads.append(threading.current_thread())
        return existing.existing_captions(items, folder)

    monkeypatch.setattr(disk_looks, "existing_captions", reading)
    return threads


def test_the_row_on_display_reads_its_caption_off_the_gui_thread_before_it_may_be_edited(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, reads: list[threading.Thread]
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["shown.png"])
    photo.with_suffix(".txt").write_text("on disk\n", encoding="utf-8")
    with fake_queue(engines, installed(models)) as queue:
        queue.queue.add([ImageItem(photo, tmp_path)], state=State.IDLE)  # listed, not looked at yet
        with qtbot.waitSignal(queue.entryChanged, timeout=WAIT_MS) as changed:
            queue.looks.look_now(0)
            assert queue.looks.reading(photo)  # not known yet: no edit starts
        assert changed.args == [0] and not queue.looks.reading(photo)
        entry = queue.queue.entry(0)
        assert (entry.earlier, entry.caption, entry.sidecar) == (True, "on disk", photo.with_suffix(".txt"))
        assert reads and threading.main_thread() not in reads


def test_a_row_on_display_with_nothing_on_disk_is_said_once_and_not_read_again_while_shown(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, reads: list[threading.Thread]
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["bare.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.queue.add([ImageItem(photo, tmp_path)], state=State.IDLE)
        with qtbot.waitSignal(queue.entryChanged, timeout=WAIT_MS):
            queue.looks.look_now(0)
        queue.looks.look_now(0)  # shown again because it changed: not read again
        assert not queue.looks.reading(photo) and len(reads) == 1
        assert not queue.queue.entry(0).earlier


def test_the_window_lets_an_edit_start_only_from_the_caption_on_disk(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["edit.png"])
    photo.with_suffix(".txt").write_text("Written before.\n", encoding="utf-8")
    window = MainWindow(AppSettings(), installed(models), engines=engines)
    qtbot.addWidget(window)
    window.queue.add([ImageItem(photo, tmp_path)], state=State.IDLE)
    editor = window.panel.editor
    window.list_view.setCurrentIndex(window.proxy.index(0, 0))
    assert editor.isReadOnly() and editor.toPlainText() == ""  # its caption is being read
    qtbot.waitUntil(lambda: not editor.isReadOnly(), timeout=WAIT_MS)
    assert editor.toPlainText() == "Written before."
    editor.setFocus()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, " More.")  # type: ignore[no-untyped-call]
    window.panel.flush()
    assert photo.with_suffix(".txt").read_text(encoding="utf-8") == "Written before. More.\n"
    window.close()


def test_a_row_whose_run_goes_on_elsewhere_is_not_read(qtbot: QtBot, models: ModelFiles, tmp_path: Path,
                                                       reads: list[threading.Thread]) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path, ["q.png"])
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        queue.add_paths([photo])
        wait_finished(qtbot, queue, 1)
        queue.looks.look_now(row_of(queue, photo))  # done: its caption is the one shown
        assert not queue.looks.reading(photo) and reads == []
