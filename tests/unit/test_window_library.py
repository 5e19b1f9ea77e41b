"""The window treats the captions on disk as the user's library (issue 28 items 1-7), on the fake engine, driven by
real events: a reopened folder exports every caption it has with what the journal knows; a resumed run exports
whole; a hand edit reaches the description inside the image (or the panel says it is out of date and writes it)
and no longer credits the model; descriptions are written for the selection and a folder; each image's history
gives Undo (after switching images), Revert and the caption a re-caption replaced; the re-caption question offers
three answers with an exact count of captions edited by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog, QLabel, QMenu, QMessageBox, QRadioButton
from pytestqt.qtbot import QtBot

from caprl_desktop.core import metadata
from caprl_desktop.core.export.writers import SOURCE_DISK, SOURCE_EDITED, SOURCE_MODEL, read_jsonl, record_from_json
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal, default_path, journaled
from caprl_desktop.core.jobs.replay import why_not
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.ui import caption_edits
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.settings_dialog import SettingsDialog
from tests.support.exiftool import exiftool, exiftool_write
from tests.support.fake_engine import Script
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import WAIT_MS, fake_queue, wait_finished
from tests.support.gui import answer, drop, on_next_dialog, wait_all_finished
from tests.support.jobs import options
from tests.support.library import library_window, made_engine, select, type_caption
from tests.support.models import ModelFiles, installed


def listed(qtbot: QtBot, window: MainWindow, paths: list[Path], count: int) -> None:
    drop(window, paths)
    qtbot.waitUntil(lambda: len(window.queue.entries) == count and not window.controller.listing, timeout=WAIT_MS)


def export_jsonl(qtbot: QtBot, window: MainWindow) -> tuple[str, str, Path]:
    """Ctrl+E, JSON Lines, Export, as a user would: the preview once the captions on disk are read, what the
    status bar said, and the file."""
    window.export_action.trigger()
    dialog = window.export_box
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.on_disk is not None, timeout=WAIT_MS)
    button = dialog.findChild(QRadioButton, "format_jsonl")
    assert button is not None
    with qtbot.waitSignal(dialog.refreshed, timeout=WAIT_MS):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))  # type: ignore[no-untyped-call]
    preview, target = dialog.preview.text(), dialog.target
    assert target is not None and dialog.export_button.isEnabled(), preview
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    return preview, window.statusBar().currentMessage(), target


def test_a_reopened_folder_exports_every_caption_on_disk_with_what_the_journal_knows(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    folder = tmp_path / "library"
    a, b, c, _ = engines.images(folder, ["a.png", "b.png", "c.png", "d.png"])
    with fake_queue(engines, installed(models)) as queue:  # captioned in another session
        queue.add_paths([a, b])
        wait_finished(qtbot, queue, 2)
    b.with_suffix(".txt").write_text("Fixed in a text editor.\n", encoding="utf-8")
    c.with_suffix(".txt").write_text("Written by hand before the app.\n", encoding="utf-8")

    with library_window(qtbot, engines, installed(models)) as window:
        listed(qtbot, window, [folder], 4)
        qtbot.waitUntil(lambda: sum(e.earlier for e in window.queue.entries) == 3, timeout=WAIT_MS)
        select(qtbot, window, a)  # its Details: its run's, from the journal
        qtbot.waitUntil(lambda: "Seed: 7" in window.panel.details.toPlainText().splitlines(), timeout=WAIT_MS)
        select(qtbot, window, b)
        qtbot.waitUntil(lambda: window.panel.details.toPlainText().split("\n")[0] == "Edited by hand", timeout=WAIT_MS)
        assert "The model's caption (the details below are of it): b.png caption" in window.panel.details.toPlainText()
        preview, said, target = export_jsonl(qtbot, window)

    assert preview == "3 captions to export (1 by the model, 1 edited by hand, 1 found on disk) · left out: 1 not " \
                      "captioned"
    assert said == f"Exported 3 captions to {target} (1 by the model, 1 edited by hand, 1 found on disk) · left " \
                   "out: 1 not captioned"
    rows = {Path(str(row["path"])).name: row for row in read_jsonl(target)}
    assert set(rows) == {"a.png", "b.png", "c.png"}
    made = record_from_json(rows["a.png"])
    assert (made.source, made.caption, made.language, made.model) == (SOURCE_MODEL, "a.png caption", "en",
                                                                      models.model.name)
    assert made.provenance is not None and made.provenance.seed == 7 and made.provenance.model_sha256
    edited = record_from_json(rows["b.png"])
    assert (edited.source, edited.caption, edited.model_caption) == (SOURCE_EDITED, "Fixed in a text editor.",
                                                                     "b.png caption")
    assert edited.provenance is not None  # of the model's caption, kept beside the edit
    found = record_from_json(rows["c.png"])
    assert (found.source, found.provenance, found.model) == (SOURCE_DISK, None, "")


def test_after_a_resume_the_window_lists_and_exports_the_whole_run(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engine = made_engine(tmp_path)
    photos = engine.images(tmp_path / "trip", [f"t{i}.png" for i in range(5)])
    items, _ = find_images(photos)
    with Journal() as journal:  # a run that stopped after 2 of 5 (the app quit)
        job = journal.create(items, options())
        list(journaled(run_job(items[:2], options(), engine), journal, job))
    with library_window(qtbot, FakeEngines(engine), installed(models)) as window:
        qtbot.waitUntil(window.resume_bar.isVisible, timeout=WAIT_MS)
        qtbot.mouseClick(window.resume_bar.button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        wait_all_finished(qtbot, window, 5)
        assert [e.path for e in window.queue.entries] == photos  # the whole run, in its order
        _, said, target = export_jsonl(qtbot, window)
    assert said == f"Exported 5 captions to {target}"
    rows = [record_from_json(row) for row in read_jsonl(target)]
    assert [Path(r.path).name for r in rows] == [p.name for p in photos]
    assert all(r.source == SOURCE_MODEL and r.provenance is not None and r.provenance.seed is not None for r in rows)
    with Journal() as journal:
        assert [j.id for j in journal.jobs()] == [job]  # one run, gone on


def test_a_hand_edit_reaches_the_description_and_no_longer_credits_the_model(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path / "pics", ["photo.png"])
    with library_window(qtbot, engines, installed(models), metadata="embed", start_when_added=True) as window:
        listed(qtbot, window, [photo], 1)
        wait_all_finished(qtbot, window, 1)
        select(qtbot, window, photo)
        panel = window.panel
        assert panel.description.text() == "Description written into the image"
        assert exiftool(photo, "-XMP:all")["XMP-dc:Description"] == "photo.png caption"

        type_caption(qtbot, window, "A red square, typed by a person.")
        assert panel.description.text() == "Writing the description into the image…"
        qtbot.waitUntil(lambda: panel.description.text() == "Description written into the image"
                        and _description(photo) == "A red square, typed by a person.", timeout=WAIT_MS)
        tags = exiftool(photo, "-XMP:all")
        assert tags["XMP-dc:Description"] == "A red square, typed by a person."
        assert tags["XMP-caprl:Source"] == "edited by hand"  # beside the model's provenance, which is of its words
        assert panel.versions.revert_button.isVisible()
        assert panel.versions.edited.text().startswith("Edited by hand · ")
        qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        details = panel.details.toPlainText().splitlines()
        assert details[0].startswith("Edited by hand: ")
        assert details[1] == "The model's caption (the details below are of it): photo.png caption"

        window.export(tmp_path / "out.jsonl", "jsonl")
    [record] = [record_from_json(row) for row in read_jsonl(tmp_path / "out.jsonl")]
    assert (record.source, record.model_caption) == (SOURCE_EDITED, "photo.png caption")
    assert record.edited_at and "edited by hand" in why_not(record)


def test_with_descriptions_off_an_edit_is_said_to_leave_the_description_behind_and_a_click_writes_it(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path / "pics", ["old.png"])
    with library_window(qtbot, engines, installed(models), metadata="embed", start_when_added=True) as window:
        listed(qtbot, window, [photo], 1)
        wait_all_finished(qtbot, window, 1)
        window.settings.metadata = "off"  # turned off since
        select(qtbot, window, photo)
        panel = window.panel
        type_caption(qtbot, window, "Edited after the description was written.")
        qtbot.waitUntil(panel.describe_button.isVisible, timeout=WAIT_MS)
        assert panel.description.text() == "The description in the image is the caption before this edit"
        assert _description(photo) == "old.png caption"  # nothing written until asked

        qtbot.mouseClick(panel.describe_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        qtbot.waitUntil(lambda: _description(photo) == "Edited after the description was written.", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not panel.describe_button.isVisible(), timeout=WAIT_MS)
        assert panel.description.text() == "Description written into the image"


def test_descriptions_are_written_for_the_selection_and_for_a_folder_keeping_someone_elses_unless_told(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    folder = tmp_path / "album"
    made, by_hand, bare = engines.images(folder, ["made.png", "by_hand.png", "bare.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([made])
        wait_finished(qtbot, queue, 1)
    by_hand.with_suffix(".txt").write_text("Written by a person.\n", encoding="utf-8")
    exiftool_write(by_hand, "-XMP-dc:Description=Grandma's garden")

    with library_window(qtbot, engines, installed(models)) as window:
        listed(qtbot, window, [folder], 3)
        window.list_view.selectAll()
        menu = window.list_menu()
        [write] = [a for a in menu.actions() if a.text() == "Write descriptions into the images"]
        write.trigger()
        done = "Description written into 1 image · 1 kept the description someone else wrote · 1 has no caption " \
               "to write"
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == done, timeout=WAIT_MS)
        assert exiftool(made, "-XMP:all")["XMP-dc:Description"] == "made.png caption"
        assert _description(by_hand) == "Grandma's garden" and _description(bare) is None
        row = window.queue.row_of(made)
        assert row is not None and window.queue.entry(row).description == "Description written into the image"

        window.settings.metadata_existing = "replace"
        folders = {a.text(): a for a in window.folders.folder_menu(folder).actions()}
        folders["Write descriptions into the images"].trigger()  # the Folders panel's menu
        qtbot.waitUntil(lambda: _description(by_hand) == "Written by a person.", timeout=WAIT_MS)
        assert exiftool(by_hand, "-XMP:all")["XMP-caprl:Source"] == "from disk"
    with Journal() as journal:  # what was replaced can be put back (`metadata restore`)
        previous = journal.replaced_description(by_hand)
    assert previous is not None and previous.xmp.get("x-default") == "Grandma's garden"


def test_undo_survives_switching_images_revert_gives_the_models_caption_and_a_recaption_shows_the_one_it_replaced(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    scripts: dict[str, Script] = {}
    engines = FakeEngines(made_engine(tmp_path, scripts))
    a, b = engines.images(tmp_path / "pics", ["a.png", "b.png"])
    sidecar = a.with_suffix(".txt")
    with library_window(qtbot, engines, installed(models), start_when_added=True) as window:
        listed(qtbot, window, [a, b], 2)
        wait_all_finished(qtbot, window, 2)
        versions = window.panel.versions
        select(qtbot, window, a)
        type_caption(qtbot, window, "Mine.")
        qtbot.waitUntil(versions.undo_button.isEnabled, timeout=WAIT_MS)

        select(qtbot, window, b)
        select(qtbot, window, a)  # the editor's own undo is gone; the history is not
        qtbot.waitUntil(versions.undo_button.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(versions.undo_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        assert window.panel.editor.toPlainText() == "a.png caption"
        assert sidecar.read_text(encoding="utf-8") == "a.png caption\n"

        type_caption(qtbot, window, "A second try.")
        qtbot.waitUntil(versions.revert_button.isVisible, timeout=WAIT_MS)
        qtbot.mouseClick(versions.revert_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        assert sidecar.read_text(encoding="utf-8") == "a.png caption\n"
        qtbot.waitUntil(lambda: not versions.revert_button.isVisible(), timeout=WAIT_MS)

        scripts["a.png"] = Script(pieces=("New", " words."))
        window.list_view.clearSelection()
        select(qtbot, window, a)
        answer(qtbot, "Replace all")
        with qtbot.waitSignal(window.controller.runRequested, timeout=WAIT_MS):
            window.recaption_action.trigger()
        wait_all_finished(qtbot, window, 2)
        assert sidecar.read_text(encoding="utf-8") == "New words.\n"
        select(qtbot, window, b)
        select(qtbot, window, a)
        qtbot.waitUntil(versions.replaced.isVisible, timeout=WAIT_MS)
        assert versions.replaced.toPlainText() == "a.png caption"  # beside the new one
        assert window.panel.editor.toPlainText() == "New words."
        qtbot.mouseClick(versions.put_back_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        assert sidecar.read_text(encoding="utf-8") == "a.png caption\n"
        qtbot.waitUntil(lambda: versions.versions.count() == 7, timeout=WAIT_MS)  # (read again once saved)
        versions.list_button.click()
        kinds = [versions.versions.item(i).text().split(" — ")[0].split(" · ")[0]
                 for i in range(versions.versions.count())]
        assert kinds == ["Put back", "Made by the model", "Reverted to the model's caption", "Edited by hand",
                         "Put back", "Edited by hand", "Made by the model"]


def test_the_recaption_question_offers_three_answers_and_keeps_exactly_the_captions_edited_by_hand(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    scripts = {"c.png": Script(pieces=("Line one.\r\n", "Line two."))}
    engines = FakeEngines(made_engine(tmp_path, scripts))
    a, b, c = engines.images(tmp_path / "pics", ["a.png", "b.png", "c.png"])
    with library_window(qtbot, engines, installed(models), start_when_added=True) as window:
        listed(qtbot, window, [a, b, c], 3)
        wait_all_finished(qtbot, window, 3)
        select(qtbot, window, b)
        type_caption(qtbot, window, "Mine, by hand.")
        select(qtbot, window, c)
        window.save_action.trigger()  # Ctrl+S: saved back as the editor holds it, \r\n as \n; no word changed
        assert c.with_suffix(".txt").read_bytes() == b"Line one.\nLine two.\n"

        window.list_view.selectAll()
        seen: list[str] = []

        def cancel(box: QDialog) -> None:
            assert isinstance(box, QMessageBox)
            seen.extend([box.text(), box.informativeText(), *(button.text() for button in box.buttons())])
            assert box.defaultButton() is box.escapeButton() and box.defaultButton().text() == "Cancel"
            [no] = [button for button in box.buttons() if button.text() == "Cancel"]
            qtbot.mouseClick(no, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]

        on_next_dialog(QMessageBox, cancel)
        window.recaption_action.trigger()
        qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
        assert seen[0] == "Replace 3 existing captions?"
        assert "1 of them was edited by hand since CapRL Desktop wrote it." in seen[1]
        assert sorted(seen[2:]) == ["Cancel", "Replace all", "Replace all but the 1 edited by hand"]
        assert not window.controller.running

        scripts.update({name: Script(pieces=("Again.",)) for name in ("a.png", "b.png", "c.png")})
        answer(qtbot, "Replace all but the 1 edited by hand")
        with qtbot.waitSignal(window.controller.runRequested, timeout=WAIT_MS):
            window.recaption_action.trigger()
        wait_all_finished(qtbot, window, 3)
        assert [p.with_suffix(".txt").read_text(encoding="utf-8") for p in (a, b, c)] == [
            "Again.\n", "Mine, by hand.\n", "Again.\n"]
        assert {e.path.name: e.state for e in window.queue.entries} == {n: State.DONE for n in ("a.png", "b.png",
                                                                                                   "c.png")}


def _description(photo: Path) -> str | None:
    found = metadata.read_description(photo)
    return found.text if found is not None else None


def test_a_caption_nothing_recorded_is_kept_in_its_history_when_a_recaption_replaces_it(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    [photo] = engines.images(tmp_path / "pics", ["x.png"])
    photo.with_suffix(".txt").write_text("Written by hand, years ago.\n", encoding="utf-8")
    with library_window(qtbot, engines, installed(models)) as window:
        listed(qtbot, window, [photo], 1)
        select(qtbot, window, photo)
        qtbot.waitUntil(lambda: window.panel.editor.toPlainText() == "Written by hand, years ago.", timeout=WAIT_MS)
        asked = answer(qtbot, "Replace all")
        with qtbot.waitSignal(window.controller.runRequested, timeout=WAIT_MS):
            window.recaption_action.trigger()
        wait_all_finished(qtbot, window, 1)
        assert "1 of them was not written by CapRL Desktop" in asked[1]
        assert photo.with_suffix(".txt").read_text(encoding="utf-8") == "x.png caption\n"
        versions = window.panel.versions
        qtbot.waitUntil(versions.replaced.isVisible, timeout=WAIT_MS)
        assert versions.replaced.toPlainText() == "Written by hand, years ago."
        assert versions.versions.item(1).text().startswith("Found on disk · ")
        qtbot.mouseClick(versions.put_back_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
        assert photo.with_suffix(".txt").read_text(encoding="utf-8") == "Written by hand, years ago.\n"


def test_settings_say_the_description_choice_is_for_new_captions_and_where_the_rest_are_written(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path
) -> None:
    with library_window(qtbot, FakeEngines(), installed(models)) as window:
        dialog = SettingsDialog(window.settings, window)
        qtbot.addWidget(dialog)
        dialog.show()
        hint = dialog.findChild(QLabel, "metadataHint")
        assert hint is not None and hint.isVisible()
        assert hint.text() == ("For new captions and edits. For captions already made: Caption → Write descriptions "
                               "into the images.")
        [caption_menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Caption"]
        assert isinstance(caption_menu, QMenu) and window.describe_action in caption_menu.actions()  # where it says
        dialog.reject()


def test_a_recaption_replaces_nothing_when_the_journal_cannot_keep_the_captions_it_would_replace(
    qtbot: QtBot, models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caption_edits, "KEEP_WAIT_S", 0.3)
    engines = FakeEngines()
    [photo] = engines.images(tmp_path / "pics", ["held.png"])
    photo.with_suffix(".txt").write_text("Nobody else has this caption.\n", encoding="utf-8")
    with library_window(qtbot, engines, installed(models)) as window:
        listed(qtbot, window, [photo], 1)
        select(qtbot, window, photo)
        holder = sqlite3.connect(default_path(), isolation_level=None)  # another process's long write
        holder.execute("BEGIN EXCLUSIVE")
        try:
            asked = answer(qtbot, "Replace all")
            window.recaption_action.trigger()
            qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith(
                "Nothing was re-captioned: the captions edited by hand could not be kept in their history"),
                timeout=WAIT_MS)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert asked and not window.controller.running and engines.fake.submitted == []
        assert photo.with_suffix(".txt").read_text(encoding="utf-8") == "Nobody else has this caption.\n"
