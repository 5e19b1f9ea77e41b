"""Captions must not be damaged by accident: the window for real, offscreen, with the tiny GGUFs in a real engine.

Keys are real key events (Tab, Esc, typing); the window's questions are answered by clicking their buttons.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QToolBar, QWidget
from pytestqt.qtbot import QtBot

from caprl_desktop.cli.main import main as cli_main
from caprl_desktop.core.export.writers import CaptionRecord, read_csv
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemText
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.caption_panel import SAVE_DELAY_MS
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel, State
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.settings_dialog import SettingsDialog
from tests.support.gui import CAPTION_TIMEOUT_MS, answer, drop, open_window, shown, states, wait_all_finished
from tests.support.images import save_noise


def active(qtbot: QtBot, window: MainWindow) -> None:
    """Make the window the active one: its shortcuts (Esc) and focus chain work only then."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def state_text(window: MainWindow, row: int) -> str:
    return str(window.queue.data(window.queue.index(row), Qt.ItemDataRole.DisplayRole)).split("\n", 1)[1]


@pytest.fixture
def waiting(qtbot: QtBot, installed: ModelStore) -> Iterator[MainWindow]:
    """A window as it is by default: images added wait for Start."""
    settings = AppSettings()
    settings.start_when_added = False
    settings.sync()
    win = open_window(qtbot)
    yield win
    win.close()


def press_start(qtbot: QtBot, window: MainWindow) -> None:
    """Click Start on the toolbar."""
    toolbar = window.findChild(QToolBar, "captionToolbar")
    assert toolbar is not None
    button = toolbar.widgetForAction(window.start_action)
    assert button is not None and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]


# --- 1. Tab moves focus, never into the caption ---------------------------------------------------


def test_tab_goes_from_the_list_through_the_caption_choices_to_the_caption_and_copy_and_types_no_tab(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    photo = save_noise(tmp_path / "tab.jpg")
    drop(window, [photo])
    wait_all_finished(qtbot, window, 1)
    sidecar = photo.with_suffix(".txt")
    caption = sidecar.read_text(encoding="utf-8")
    active(qtbot, window)
    window.list_view.setFocus()
    choices, panel = window.caption_choices, window.panel

    def tab_through(count: int) -> list[QWidget | None]:
        reached = []
        for _ in range(count):
            widget = QApplication.focusWidget()
            assert widget is not None
            qtbot.keyClick(widget, Qt.Key.Key_Tab)  # type: ignore[no-untyped-call]
            reached.append(QApplication.focusWidget())
        return reached

    assert tab_through(4) == [choices.language_combo, choices.preset_combo, panel.editor, panel.copy_button]
    # With a custom prompt, its box comes between the preset and the caption.
    choices.preset_combo.setCurrentIndex(choices.preset_combo.findData("custom"))
    window.list_view.setFocus()
    assert tab_through(5) == [choices.language_combo, choices.preset_combo, choices.prompt_edit, panel.editor,
                              panel.copy_button]

    panel.editor.setFocus()
    panel.editor.moveCursor(panel.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(panel.editor, " Edited")  # type: ignore[no-untyped-call]
    qtbot.keyClick(panel.editor, Qt.Key.Key_Tab)  # type: ignore[no-untyped-call]
    assert QApplication.focusWidget() is panel.copy_button
    qtbot.waitUntil(lambda: sidecar.read_text(encoding="utf-8") == caption.rstrip() + " Edited\n",
                    timeout=SAVE_DELAY_MS + 5000)
    assert "\t" not in panel.editor.toPlainText() and "\t" not in sidecar.read_text(encoding="utf-8")


# --- 2. A failed image's reason is not its caption -------------------------------------------------


@pytest.mark.qt_log_ignore("JPEG datastream contains no image")  # the thumbnail reader's word on the file
def test_a_failed_image_shows_its_reason_apart_saves_nothing_and_exports_like_the_command_line(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    save_noise(folder / "good.jpg")
    broken = folder / "broken.jpg"
    broken.parent.mkdir(exist_ok=True)
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    drop(window, [folder])
    wait_all_finished(qtbot, window, 2)
    assert states(window) == {"broken.jpg": State.FAILED, "good.jpg": State.DONE}
    row = window.queue.row_of(broken)
    assert row is not None
    failed = window.queue.entry(row)
    window.list_view.setCurrentIndex(window.proxy.mapFromSource(window.queue.index(row)))
    panel = window.panel
    active(qtbot, window)
    panel.editor.setFocus()
    qtbot.keyClicks(panel.editor, "typed over the reason")  # type: ignore[no-untyped-call]
    window.save_action.trigger()  # Ctrl+S
    assert not panel.save_pending  # nothing typed was taken, so nothing waits to be saved later either
    assert not broken.with_suffix(".txt").exists()  # no sidecar, so the next run does not take it for done
    assert panel.editor.toPlainText() == "" and panel.editor.isReadOnly()
    assert panel.error.isVisible() and panel.error.text() == failed.error  # the reason, apart from the caption
    assert state_text(window, row) == f"Failed: {failed.error}"

    window.export(tmp_path / "window.csv", "csv")
    assert cli_main(["caption", str(folder), "--lang", "en", "--detail", "fast", "--max-tokens", "24",
                     "--csv", str(tmp_path / "command.csv")]) != 0  # (an image failed)
    from_window = {r["file_name"]: r for r in read_csv(tmp_path / "window.csv")}
    from_command = {r["file_name"]: r for r in read_csv(tmp_path / "command.csv")}
    # Both files lie beside the folder "mixed": each names the image relative to where it is, alike.
    assert from_window["mixed/broken.jpg"]["caption"] == "" and from_window["mixed/broken.jpg"]["error"] == failed.error
    for column in ("caption", "error"):  # the same from both faces
        assert from_window["mixed/broken.jpg"][column] == from_command["mixed/broken.jpg"][column]

    good = window.queue.row_of(folder / "good.jpg")
    assert good is not None
    window.list_view.setCurrentIndex(window.proxy.mapFromSource(window.queue.index(good)))
    assert not panel.error.isVisible() and not panel.editor.isReadOnly()
    assert shown(panel.editor.toPlainText()) == shown(window.queue.entry(good).caption)


def test_exports_give_a_failed_image_its_reason_and_no_caption_unless_one_was_made(
    qtbot: QtBot, tmp_path: Path
) -> None:
    model = QueueModel(ImageLoader())
    items = [ImageItem(tmp_path / name, tmp_path) for name in ("broken.jpg", "unsaved.jpg")]
    model.add(items)
    reason = "broken.jpg is damaged or not a supported image (cannot identify image file)"
    model.fail(0, reason, record=CaptionRecord("broken.jpg", "", "en", "p", "tiny", None, None, reason,
                                               str(items[0].path)))
    model.set_caption(0, reason)  # what typing into the old editor saved
    not_saved = "caption made but not saved: the disk is full"
    model.fail(1, not_saved, unsaved=True, record=CaptionRecord("unsaved.jpg", "A made caption.", "en", "p", "tiny",
                                                                1.0, 9, not_saved, str(items[1].path)))
    assert [(r.file_name, r.caption, r.error) for r in model.records()] == [
        ("broken.jpg", "", reason), ("unsaved.jpg", "A made caption.", not_saved)]


# --- 3. Nothing is replaced without asking ---------------------------------------------------------


def test_recaption_selected_asks_first_and_says_how_many_were_edited_by_hand(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "album"
    images = [save_noise(folder / f"a{i}.jpg", seed=200 + i) for i in range(3)]
    drop(window, [folder])
    wait_all_finished(qtbot, window, 3)
    (folder / "a1.txt").write_text("Fixed by hand in a text editor.\n", encoding="utf-8")
    window.list_view.setCurrentIndex(window.proxy.index(2, 0))
    window.panel.editor.setFocus()
    qtbot.keyClicks(window.panel.editor, " and by hand here")  # type: ignore[no-untyped-call]
    window.panel.flush()
    before = {p: p.with_suffix(".txt").read_bytes() for p in images}

    window.list_view.selectAll()
    asked = answer(qtbot, "Cancel")
    window.recaption_action.trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    text, details = asked
    assert text == "Replace 3 existing captions?"
    assert "2 of them were edited by hand since CapRL Desktop wrote them." in details
    assert "in English" in details
    # The answer was handled before the test saw it (the question's handler returned first): a run it started
    # would already be running.
    assert not window.controller.running
    assert {p: p.with_suffix(".txt").read_bytes() for p in images} == before  # kept
    with Journal() as journal:
        assert len(journal.jobs()) == 1

    window.settings.seed = 999  # another seed, another caption
    asked = answer(qtbot, "Replace all")
    with qtbot.waitSignal(window.controller.runRequested, timeout=10_000):
        window.recaption_action.trigger()
    wait_all_finished(qtbot, window, 3)
    with Journal() as journal:
        assert [j.counts for j in journal.jobs()] == [{"done": 3}, {"done": 3}]
    assert all(p.with_suffix(".txt").read_bytes() != before[p] for p in images)


def test_esc_asks_before_stopping_a_long_run_and_rows_left_show_the_caption_on_disk(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "night"
    images = [save_noise(folder / f"n{i:02d}.jpg", seed=300 + i) for i in range(12)]
    drop(window, [folder])
    wait_all_finished(qtbot, window, 12)
    earlier = {p: p.with_suffix(".txt").read_text(encoding="utf-8") for p in images}

    # Re-caption them all, long captions this time, and press Esc once the first words come.
    window.settings.max_tokens = 2000
    window.settings.seed = 77
    texts: list[int] = []
    window.controller.eventHandled.connect(lambda e: texts.append(1) if isinstance(e, ItemText) else None)
    window.list_view.selectAll()
    asked = answer(qtbot, "Replace all")
    window.recaption_action.trigger()
    qtbot.waitUntil(lambda: bool(texts), timeout=CAPTION_TIMEOUT_MS)
    assert asked and asked[0] == "Replace 12 existing captions?"
    active(qtbot, window)

    asked = answer(qtbot, "Keep captioning")
    qtbot.keyClick(window.list_view, Qt.Key.Key_Escape)  # type: ignore[no-untyped-call]
    assert asked and asked[0].endswith("images are still to be re-captioned. Stop re-captioning?")
    assert int(asked[0].split()[0]) > 3
    assert (window.controller.running, window.controller.stopped) == (True, False)  # it goes on

    active(qtbot, window)  # (offscreen, the window is not made active again when the box closes)
    asked = answer(qtbot, "Stop captioning")
    qtbot.keyClick(window.list_view, Qt.Key.Key_Escape)  # type: ignore[no-untyped-call]
    assert asked
    qtbot.waitUntil(lambda: not window.controller.running, timeout=CAPTION_TIMEOUT_MS)
    assert window.controller.stopped
    left = [r for r, e in enumerate(window.queue.entries) if e.state == State.IDLE]
    assert left
    # Their old captions are still on disk: the rows say so and show them, once read off the GUI thread.
    qtbot.waitUntil(lambda: all(window.queue.entry(r).earlier for r in left), timeout=10_000)
    for row in left:
        entry = window.queue.entry(row)
        assert state_text(window, row) == "Captioned earlier"
        assert entry.caption == earlier[entry.path].rstrip()
    row = left[-1]
    window.list_view.setCurrentIndex(window.proxy.mapFromSource(window.queue.index(row)))
    editor = window.panel.editor
    assert shown(editor.toPlainText()) == shown(earlier[window.queue.entry(row).path].rstrip())
    editor.setFocus()
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, " More.")  # type: ignore[no-untyped-call]
    window.panel.flush()
    sidecar = window.queue.entry(row).path.with_suffix(".txt")
    assert sidecar.read_text(encoding="utf-8") == earlier[window.queue.entry(row).path].rstrip() + " More.\n"


def test_a_few_images_left_are_cancelled_without_asking(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.settings.max_tokens = 2000
    images = [save_noise(tmp_path / f"f{i}.jpg", seed=400 + i) for i in range(2)]
    texts: list[int] = []
    window.controller.eventHandled.connect(lambda e: texts.append(1) if isinstance(e, ItemText) else None)
    drop(window, images)
    qtbot.waitUntil(lambda: bool(texts), timeout=CAPTION_TIMEOUT_MS)
    active(qtbot, window)
    asked = answer(qtbot, "Keep captioning")
    # Esc asks (when it asks) before it returns: the question is modal, answered from the event loop.
    qtbot.keyClick(window.list_view, Qt.Key.Key_Escape)  # type: ignore[no-untyped-call]
    asked.stop()
    assert not asked
    qtbot.waitUntil(lambda: not window.controller.running, timeout=CAPTION_TIMEOUT_MS)
    assert window.controller.stopped


# --- 4. Start is explicit ---------------------------------------------------------------------------


def test_images_added_wait_for_start_so_the_language_can_be_chosen_first(
    qtbot: QtBot, waiting: MainWindow, tmp_path: Path
) -> None:
    images = [save_noise(tmp_path / f"w{i}.jpg", seed=500 + i) for i in range(2)]
    with qtbot.assertNotEmitted(waiting.controller.runRequested, wait=1500):
        drop(waiting, images)
    assert states(waiting) == {"w0.jpg": State.IDLE, "w1.jpg": State.IDLE}
    assert state_text(waiting, 0) == "Not captioned"
    assert "Start (F5)" in waiting.panel.editor.placeholderText()
    assert waiting.skipped_bar.isHidden()  # nothing had a caption
    assert not any(p.with_suffix(".txt").exists() for p in images)
    choices = waiting.caption_choices
    choices.language_combo.setCurrentIndex(choices.language_combo.findData("ja"))  # chosen before Start

    press_start(qtbot, waiting)
    wait_all_finished(qtbot, waiting, 2)
    assert set(states(waiting).values()) == {State.DONE}
    with Journal() as journal:
        [run] = journal.jobs()
    assert run.options is not None and run.options.prompt.language == "ja"


def test_paths_handed_over_by_the_file_manager_are_captioned_at_once(
    qtbot: QtBot, waiting: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "from-the-file-manager"
    save_noise(folder / "x.jpg", seed=600)
    waiting.receive_paths([folder])
    wait_all_finished(qtbot, waiting, 1)
    assert (folder / "x.txt").exists()


def test_a_reopened_folder_says_what_was_skipped_and_recaptions_it_in_the_language_now(
    qtbot: QtBot, waiting: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "reopened"
    images = [save_noise(folder / f"r{i}.jpg", seed=700 + i) for i in range(3)]
    drop(waiting, [folder])
    qtbot.waitUntil(lambda: len(waiting.queue.entries) == 3, timeout=10_000)
    press_start(qtbot, waiting)
    wait_all_finished(qtbot, waiting, 3)  # in English
    assert waiting.skipped_bar.isHidden()
    english = {p: p.with_suffix(".txt").read_text(encoding="utf-8") for p in images}
    (folder / "r0.txt").write_text("Edited by hand.\n", encoding="utf-8")
    waiting.close()

    again = MainWindow()  # opened again another day
    qtbot.addWidget(again)
    again.show()
    choices = again.caption_choices
    choices.language_combo.setCurrentIndex(choices.language_combo.findData("ja"))
    drop(again, [folder])
    qtbot.waitUntil(lambda: len(again.queue.entries) == 3, timeout=10_000)
    # Before Start the rows say what they have on disk.
    qtbot.waitUntil(lambda: all(e.earlier for e in again.queue.entries), timeout=10_000)
    assert [state_text(again, r) for r in range(3)] == ["Captioned earlier"] * 3
    assert again.queue.entries[0].caption == "Edited by hand."
    assert again.skipped_bar.isHidden()  # nothing ran yet: nothing was skipped
    qtbot.waitUntil(lambda: again.controller.engine_info is not None, timeout=CAPTION_TIMEOUT_MS)
    press_start(qtbot, again)
    wait_all_finished(qtbot, again, 3)
    qtbot.waitUntil(again.skipped_bar.isVisible, timeout=5000)  # said once Start skipped them
    assert again.skipped_bar.label.text() == "3 already captioned, skipped."
    assert again.skipped_bar.button.text() == "Re-caption in 日本語"
    assert {p: p.with_suffix(".txt").read_text(encoding="utf-8") for p in images[1:]} == \
        {p: english[p] for p in images[1:]}

    asked = answer(qtbot, "Replace all")
    with qtbot.waitSignal(again.controller.runRequested, timeout=10_000):
        qtbot.mouseClick(again.skipped_bar.button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert asked[0] == "Replace 3 existing captions?"
    assert "1 of them was edited by hand since CapRL Desktop wrote it." in asked[1]
    assert "in 日本語" in asked[1]
    assert again.skipped_bar.isHidden()
    wait_all_finished(qtbot, again, 3)
    assert all(state_text(again, r).startswith("Done") for r in range(3))  # (" · cut off" at 24 tokens)
    with Journal() as journal:
        last = journal.jobs()[-1]
    assert last.counts == {"done": 3} and last.options is not None and last.options.prompt.language == "ja"
    again.close()


def test_the_start_setting_is_in_the_settings_dialog_and_off_by_default(qtbot: QtBot, waiting: MainWindow) -> None:
    dialog = SettingsDialog(waiting.settings, waiting)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert not dialog.start_when_added.isChecked()
    qtbot.mouseClick(dialog.start_when_added, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    dialog.accept()
    assert AppSettings().start_when_added
    dialog = SettingsDialog(AppSettings(), waiting)
    qtbot.addWidget(dialog)
    assert dialog.start_when_added.isChecked()
    dialog.restore_defaults()
    assert not dialog.start_when_added.isChecked()
