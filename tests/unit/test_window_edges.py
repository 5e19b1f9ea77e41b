"""The window's rough edges, seen by a user, on the fake engine: Pause says "Paused" and quitting asks, the skipped
bar tells of a run once it is over, the filter finds captions, a caption cut off says so, Esc during a re-caption
says what it stops, the title of a run of two folders, the speed of a run that made nothing, the shortcuts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.places import pictures_folder
from caprl_desktop.ui.queue_model import State
from tests.support.fake_engine import FakeEngine, Script
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS
from tests.support.fake_window import click_toolbar, fake_window, row_text
from tests.support.gui import answer, drop, wait_all_finished
from tests.support.models import ModelFiles, installed


def pause_at_first_words(qtbot: QtBot, window: MainWindow, engines: FakeEngines, first: str) -> None:
    """Click Pause while ``first`` is being captioned; wait for the run to stop."""
    gate = engines.hold(first)

    def on_event(event: object) -> None:
        if isinstance(event, ItemText) and not window.controller.stopped:
            click_toolbar(qtbot, window, window.pause_action)
            gate.set()

    window.controller.eventHandled.connect(on_event)
    qtbot.waitUntil(lambda: window.controller.stopped and not window.controller.running, timeout=WAIT_MS)
    window.controller.eventHandled.disconnect(on_event)


# --- 8. Paused, and the question on quitting ------------------------------------------------------------


def test_a_paused_run_says_paused_on_its_rows_and_in_the_status_bar_and_start_goes_on(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "trip", [f"p{i}.png" for i in range(4)])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path / "trip"])
        pause_at_first_words(qtbot, window, engines, "p0.png")
        assert [row_text(window, r) for r in range(4)] == ["Done", "Paused", "Paused", "Paused"]
        assert window.status_line.progress_label.text() == "Paused · 1 / 4 images"
        assert window.start_action.isEnabled() and not window.pause_action.isEnabled()

        click_toolbar(qtbot, window, window.start_action)
        wait_all_finished(qtbot, window, 4)
        assert [row_text(window, r) for r in range(4)] == ["Done"] * 4
        assert not window.status_line.progress_label.text().startswith("Paused")


def test_a_paused_recaption_says_paused_not_captioned_earlier(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path / "again", [f"r{i}.png" for i in range(3)])
    for photo in photos:
        photo.with_suffix(".txt").write_text("the old caption\n", encoding="utf-8")
    with fake_window(qtbot, engines, installed(models)) as window:
        asked = answer(qtbot, "Replace all")
        window.controller.ask_replace(paths=[tmp_path / "again"])
        pause_at_first_words(qtbot, window, engines, "r0.png")
        assert asked
        assert [row_text(window, r) for r in range(3)] == ["Done", "Paused", "Paused"]
        assert [p.with_suffix(".txt").read_text(encoding="utf-8") for p in photos[1:]] == ["the old caption\n"] * 2


def test_quitting_with_images_queued_asks_first_and_keeps_the_window_when_told(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "left", [f"q{i}.png" for i in range(4)])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path / "left"])
        pause_at_first_words(qtbot, window, engines, "q0.png")

        kept = answer(qtbot, "Keep captioning")
        window.quit_action.trigger()  # File → Quit (Ctrl+Q)
        assert kept[0] == "3 images are still queued: quit anyway?"
        assert "resume next time" in kept[1]
        assert window.isVisible()

        quit_ = answer(qtbot, "Quit")
        window.quit_action.trigger()
        assert quit_ and not window.isVisible()


def test_quitting_with_nothing_queued_asks_nothing(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines()
    engines.images(tmp_path, ["a.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path])
        wait_all_finished(qtbot, window, 1)
        asked = answer(qtbot, "Quit", within_s=1.0)
        window.quit_action.trigger()
        asked.stop()
        assert not asked and not window.isVisible()


# --- 9. The skipped bar: after a run, for that run -----------------------------------------------------


def test_the_skipped_bar_tells_of_a_run_once_it_is_over_and_goes_with_the_list(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    first = engines.images(tmp_path / "first", ["a.png", "b.png", "c.png"])
    second = engines.images(tmp_path / "second", ["d.png"])
    for photo in (*first[:2], *second):
        photo.with_suffix(".txt").write_text("had one\n", encoding="utf-8")
    with fake_window(qtbot, engines, installed(models), start_when_added=False) as window:
        for folder in ("first", "second"):
            drop(window, [tmp_path / folder])
        qtbot.waitUntil(lambda: sum(e.earlier for e in window.queue.entries) == 3, timeout=WAIT_MS)
        assert window.skipped_bar.isHidden()  # nothing ran: nothing was skipped

        click_toolbar(qtbot, window, window.start_action)
        wait_all_finished(qtbot, window, 4)
        qtbot.waitUntil(window.skipped_bar.isVisible, timeout=WAIT_MS)
        assert window.skipped_bar.label.text() == "3 already captioned, skipped."

        window.list_view.selectAll()
        qtbot.keyClick(window.list_view, Qt.Key.Key_Delete)  # type: ignore[no-untyped-call]
        assert not window.queue.entries
        assert window.skipped_bar.isHidden()


# --- 10. The filter finds captions ----------------------------------------------------------------------


def test_the_filter_finds_a_word_of_a_caption(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines(FakeEngine(scripts={"a.png": Script(pieces=("A harbour at dusk",)),
                                              "b.png": Script(pieces=("A cat on a sofa",)),
                                              "c.png": Script(error=EngineError("no luck"))}))
    engines.images(tmp_path, ["a.png", "b.png", "c.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path])
        wait_all_finished(qtbot, window, 3)
        qtbot.keyClicks(window.images.filter_edit, "HARBOUR")  # type: ignore[no-untyped-call]
        assert window.proxy.rowCount() == 1
        assert window.queue.entry(window.proxy.mapToSource(window.proxy.index(0, 0)).row()).item.file_name == "a.png"
        window.images.filter_edit.clear()
        assert window.proxy.rowCount() == 3
        qtbot.keyClicks(window.images.filter_edit, "b.png")  # type: ignore[no-untyped-call]  # names still count
        assert window.proxy.rowCount() == 1

        window.status_line.failedClicked.emit()  # "1 failed": the failed rows only
        assert window.proxy.rowCount() == 1
        assert window.queue.entry(window.proxy.mapToSource(window.proxy.index(0, 0)).row()).state == State.FAILED


# --- 11. A caption cut off at the token limit ----------------------------------------------------------


def test_a_caption_cut_off_at_the_token_limit_says_so_on_its_row_and_in_details(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"long.png": Script(finish_reason="length")}))
    engines.images(tmp_path, ["long.png", "short.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path])
        wait_all_finished(qtbot, window, 2)
        assert [row_text(window, r) for r in range(2)] == ["Done · cut off", "Done"]
        window.list_view.setCurrentIndex(window.proxy.index(0, 0))
        details = window.panel.details.toPlainText().splitlines()
        assert "Finished: cut off at 32 tokens (the most a caption may have)" in details
        window.list_view.setCurrentIndex(window.proxy.index(1, 0))
        assert "Finished: complete (the model ended it)" in window.panel.details.toPlainText().splitlines()


# --- 12. Esc during a re-caption ----------------------------------------------------------------------


def test_esc_during_a_recaption_says_the_images_are_still_to_be_recaptioned(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    photos = engines.images(tmp_path, [f"e{i}.png" for i in range(5)])
    for photo in photos:
        photo.with_suffix(".txt").write_text("an old caption\n", encoding="utf-8")
    with fake_window(qtbot, engines, installed(models)) as window:
        gate = engines.hold("e0.png")
        answer(qtbot, "Replace all")
        with qtbot.waitSignal(window.controller.eventHandled, timeout=WAIT_MS,
                              check_params_cb=lambda event: isinstance(event, ItemText)):
            window.controller.ask_replace(paths=[tmp_path])
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
        kept = answer(qtbot, "Keep captioning")
        qtbot.keyClick(window.list_view, Qt.Key.Key_Escape)  # type: ignore[no-untyped-call]
        assert kept[0] == "5 images are still to be re-captioned. Stop re-captioning?"
        assert window.controller.running and not window.controller.stopped
        gate.set()
        wait_all_finished(qtbot, window, 5)


# --- 17. The title, the speed, the shortcuts, plurals, where Open starts --------------------------------


def test_the_title_of_a_run_of_two_folders_names_both(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "trip", ["a.png"])
    engines.images(tmp_path / "home", ["b.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        titles: list[str] = []
        window.windowTitleChanged.connect(titles.append)
        drop(window, [tmp_path / "trip", tmp_path / "home"])
        wait_all_finished(qtbot, window, 2)
        running = [t for t in titles if " / 2 — " in t]
        assert running and all(t.startswith("trip, home — ") for t in running), titles


def test_a_run_that_made_no_caption_leaves_no_speed_of_an_earlier_one(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"bad.png": Script(error=EngineError("no luck"))}))
    engines.images(tmp_path / "good", ["good.png"])
    engines.images(tmp_path / "bad", ["bad.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path / "good"])
        wait_all_finished(qtbot, window, 1)
        assert window.status_line.speed_label.text().endswith("tokens/s")
        drop(window, [tmp_path / "bad"])
        wait_all_finished(qtbot, window, 2)
        assert window.status_line.speed_label.text() == ""


def test_the_keyboard_shortcuts_are_a_table_of_keys_and_what_they_do(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    with fake_window(qtbot, FakeEngines(), installed(models)) as window:
        rows = window.help.shortcuts()
        for pair in (("F5", "Start"), ("F6", "Pause"), ("Esc", "Cancel"), ("Ctrl+E", "Export captions"),
                     ("Ctrl+Shift+O", "Open folder")):
            assert pair in rows
        window.help.shortcuts_action.trigger()
        box = QApplication.activeModalWidget() or window.findChild(QMessageBox, "shortcutsBox")
        assert isinstance(box, QMessageBox) and box.textFormat() == Qt.TextFormat.RichText
        # Each key and its action in cells of their own: never "Ctrl+Shift+OOpen folder".
        assert "<td style='padding-right: 16px'><b>Ctrl+Shift+O</b></td><td>Open folder</td>" in box.text()
        box.accept()


def test_counts_of_one_are_said_in_the_singular(qtbot: QtBot, models: ModelFiles, tmp_path: Path) -> None:
    engines = FakeEngines(FakeEngine(scripts={"a.png": Script(pieces=("A",))}))
    engines.images(tmp_path, ["a.png"])
    with fake_window(qtbot, engines, installed(models)) as window:
        drop(window, [tmp_path])
        wait_all_finished(qtbot, window, 1)
        window.list_view.setCurrentIndex(window.proxy.index(0, 0))
        assert window.panel.counter.text() == "1 character · 1 token"


def test_open_images_starts_in_the_pictures_folder(
    qtbot: QtBot, models: ModelFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def pick_files(parent: object, caption: str, folder: str, *args: object) -> tuple[list[str], str]:
        started.append(folder)
        return [], ""

    def pick_folder(parent: object, caption: str, folder: str, *args: object) -> str:
        started.append(folder)
        return ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", pick_files)  # (the dialogs themselves are the system's)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", pick_folder)
    with fake_window(qtbot, FakeEngines(), installed(models)) as window:
        window.open_files_action.trigger()
        window.open_folder_action.trigger()
    assert started == [str(pictures_folder())] * 2
