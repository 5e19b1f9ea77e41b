"""The window at the sizes people use: the first window fits the screen, the preview follows the splitter, and a
finished go says what became of it (failures one click away)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QRect, QTranslator
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from caprl_desktop.core.metadata import read_description, write_description
from caprl_desktop.core.metadata.fields import clean_for_xml
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.app import install_translators
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.settings_dialog import SettingsDialog
from tests.support.gui import drop, wait_all_finished
from tests.support.images import save_noise


def test_the_first_window_fits_the_usable_area_of_the_screen(qtbot: QtBot, installed: ModelStore) -> None:
    win = MainWindow()  # no saved geometry: a first start
    qtbot.addWidget(win)
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert win.width() <= area.width() and win.height() <= area.height()
    assert win.width() >= min(1000, area.width() * 8 // 10)  # and not needlessly small
    win.close()


@pytest.mark.qt_log_ignore("JPEG datastream contains no image")  # the broken file's thumbnail
def test_a_finished_go_says_what_became_of_it_and_the_failures_are_one_click_away(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    drop(window, [broken, save_noise(tmp_path / "a.jpg", seed=1), save_noise(tmp_path / "b.jpg", seed=2)])
    window.controller.start()
    wait_all_finished(qtbot, window, 3)
    label = window.status_line.progress_label
    assert label.text() == '2 done · <a href="failed">1 failed</a>'
    label.linkActivated.emit("failed")  # what a click on the link sends
    proxy = window.images.proxy
    assert proxy.rowCount() == 1 and proxy.index(0, 0).data().startswith("broken.jpg\nFailed: ")
    window.images.filter_edit.clear()  # the filter's clear button lists them all again
    assert proxy.rowCount() == 3


def test_the_preview_never_holds_the_window_to_the_pictures_size(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    drop(window, [save_noise(tmp_path / "big.png", 1600, 1200, seed=3)])
    window.controller.start()
    wait_all_finished(qtbot, window, 1)
    window.images.select_first()
    preview = window.preview
    qtbot.waitUntil(lambda: preview.pixmap() is not None and not preview.pixmap().isNull(), timeout=10_000)
    window.right_splitter.setSizes([120, 600])  # the user drags the splitter up
    qtbot.wait(50)
    assert preview.height() <= 150  # it shrank with the splitter (the picture did not hold it open)
    shown = preview.pixmap().deviceIndependentSize().toSize()
    assert shown.height() <= preview.height() and shown.width() <= preview.width()  # rescaled to fit


def test_the_title_names_the_folder_and_how_far_the_go_is(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    for i in range(3):
        save_noise(folder / f"p{i}.jpg", seed=i)
    titles: list[str] = []
    window.windowTitleChanged.connect(titles.append)
    drop(window, [folder])
    window.controller.start()
    wait_all_finished(qtbot, window, 3)
    # With the model in use: a file picked on disk is named by its file name.
    assert "imgs — 0 / 3 — CapRL-3B.F32 — CapRL Desktop" in titles
    assert "imgs — 2 / 3 — CapRL-3B.F32 — CapRL Desktop" in titles
    assert window.windowTitle() == "CapRL Desktop — CapRL-3B.F32"  # over


def test_help_tells_the_versions_the_keys_and_copies_a_report(qtbot: QtBot, window: MainWindow) -> None:
    about = window.help.about_text()
    assert "CapRL Desktop 0." in about and "llama-cpp-python" in about and "Engine: " in about
    keys = window.help.shortcuts()
    for shortcut in (("F5", "Start"), ("F6", "Pause"), ("Esc", "Cancel"), ("Ctrl+E", "Export captions")):
        assert shortcut in keys
    with qtbot.waitSignal(window.help.reportCopied, timeout=60_000) as blocker:
        window.help.report_action.trigger()
    window.help.wait()
    assert blocker.args is not None
    copied = QGuiApplication.clipboard().text()
    assert copied == blocker.args[0] and "[app] CapRL Desktop" in copied and "[llama.cpp]" in copied


@pytest.mark.parametrize("language", ["en", "ja"])
def test_at_1000_by_700_nothing_sits_outside_the_window_in_either_language(
    qtbot: QtBot, qapp: QApplication, installed: ModelStore, tmp_path: Path, language: str
) -> None:
    before = set(qapp.findChildren(QTranslator))
    install_translators(qapp, language)
    try:
        win = MainWindow()
        qtbot.addWidget(win)
        win.show()
        win.resize(1000, 700)
        drop(win, [save_noise(tmp_path / f"wide-{i}.png", 1600, 900, seed=i) for i in range(2)])
        qtbot.waitUntil(lambda: len(win.queue.entries) == 2, timeout=10_000)
        win.images.select_first()
        combo = win.caption_choices.preset_combo
        combo.setCurrentIndex(combo.findData("custom"))  # the custom prompt's field shows too
        qtbot.wait(100)
        assert (win.width(), win.height()) == (1000, 700)  # no widget holds the window wider or taller
        bounds = win.rect().adjusted(-1, -1, 1, 1)
        outside = [f"{type(w).__name__} {w.objectName()} {w.mapTo(win, w.rect().topLeft())} {w.size()}"
                   for w in win.findChildren(QWidget)
                   if w.isVisible() and w.window() is win
                   and not bounds.contains(QRect(w.mapTo(win, w.rect().topLeft()), w.size()))]
        assert outside == []
        assert win.caption_choices.prompt_edit.isVisible()
        win.close()
    finally:
        for translator in set(qapp.findChildren(QTranslator)) - before:
            qapp.removeTranslator(translator)
            translator.deleteLater()


@pytest.mark.parametrize("gpu", [False, True])
def test_settings_keep_everyday_choices_apart_and_offer_gpu_layers_only_with_a_gpu(
    qtbot: QtBot, window: MainWindow, gpu: bool
) -> None:
    dialog = SettingsDialog(window.settings, window, gpu=gpu)
    qtbot.addWidget(dialog)
    dialog.show()
    everyday, advanced = dialog.pages.widget(0), dialog.pages.widget(2)
    assert everyday is not None and advanced is not None
    assert dialog.pages.widget(1) is dialog.engine_page  # this computer or servers, between the two
    on_first: list[QWidget] = [dialog.detail, dialog.max_tokens, dialog.start_when_added, dialog.overwrite,
                               dialog.caption_folder, dialog.interface_language]
    on_second: list[QWidget] = [dialog.temperature, dialog.seed, dialog.gpu_layers, dialog.threads, dialog.parallel]
    assert all(everyday.isAncestorOf(w) for w in on_first) and all(advanced.isAncestorOf(w) for w in on_second)
    dialog.pages.setCurrentIndex(2)
    assert dialog.gpu_layers.isVisible() == gpu
    dialog.reject()


def test_the_counter_shows_an_edited_captions_tokens(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    drop(window, [save_noise(tmp_path / "a.jpg", seed=4)])
    window.controller.start()
    wait_all_finished(qtbot, window, 1)
    window.images.select_first()
    with qtbot.waitSignal(window.controller.tokensCounted, timeout=30_000) as blocker:
        window.panel.editor.setPlainText("A short caption, edited by hand.")
        window.panel.save()
    assert blocker.args is not None
    path, text, tokens = blocker.args
    assert path == window.panel.path and text == "A short caption, edited by hand." and tokens > 0
    assert window.panel.counter.text() == f"{len(text)} characters · {tokens} tokens"


def test_menus_keep_their_place_on_macos_and_no_shortcut_clashes_with_the_system(window: MainWindow) -> None:
    assert window.quit_action.menuRole() == QAction.MenuRole.QuitRole  # found by role, 「終了」 or not
    assert window.settings_action.menuRole() == QAction.MenuRole.PreferencesRole
    assert window.help.about_action.menuRole() == QAction.MenuRole.AboutRole
    others = [a for a in window.actions() if a not in (window.quit_action, window.settings_action)]
    assert {a.menuRole() for a in others} == {QAction.MenuRole.NoRole}  # Qt's guess by text moves nothing
    taken = {a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
    assert "Ctrl+M" not in taken and "Ctrl+H" not in taken  # Cmd+M minimizes, Cmd+H hides on macOS


def test_the_window_writes_descriptions_into_the_images_when_chosen_and_says_so(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    dialog = SettingsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.metadata.setCurrentIndex(dialog.metadata.findData("embed"))
    dialog.accept()
    assert window.settings.choices.metadata == "embed" and AppSettings().metadata == "embed"  # remembered
    photo = save_noise(tmp_path / "photo.jpg", seed=8)
    drop(window, [photo])
    window.controller.start()
    wait_all_finished(qtbot, window, 1)
    window.images.select_first()
    assert window.panel.description.isVisible()
    assert window.panel.description.text() == "Description written into the image"
    found = read_description(photo)
    assert found is not None
    # As written: what XML 1.0 cannot hold (random-weight captions have control characters) is left out.
    assert found.text == clean_for_xml(photo.with_suffix(".txt").read_text(encoding="utf-8")).strip()


def test_the_panel_says_whose_description_an_image_holds(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.settings.metadata = "embed"
    window.settings.start_when_added = False  # listed, not captioned: the panel reads what the files hold
    photo = save_noise(tmp_path / "theirs.jpg", seed=9)
    write_description(photo, "A harbour at dusk.", "en", {})  # as another program would have
    # Someone else's description: make it human by replacing the app's marks with a plain XMP edit.
    subprocess.run(["exiftool", "-overwrite_original", "-XMP-caprl:all=", "-XMP-xmp:CreatorTool=Lightroom",
                    "-XMP-dc:Description=A harbour at dusk.", str(photo)], check=True, capture_output=True)
    plain = save_noise(tmp_path / "plain.jpg", seed=10)
    drop(window, [photo, plain])
    qtbot.waitUntil(lambda: len(window.queue.entries) == 2, timeout=10_000)
    expected = {0: "Description in the image, written by someone else", 1: "No description in the image"}
    for row, text in expected.items():
        window.images.list_view.setCurrentIndex(window.images.proxy.index(row, 0))
        qtbot.waitUntil(lambda text=text: window.panel.description.text() == text, timeout=10_000)  # type: ignore[misc]


def test_removing_the_loaded_model_ends_its_engine_first(qtbot: QtBot, window: MainWindow) -> None:
    """Windows cannot delete a memory-mapped model file: the engine that has it open is ended before removal
    (on the worker's thread: the window goes on meanwhile, and the files go once it has ended)."""
    def loaded() -> bool:
        return window.controller.engine_info is not None

    pid = window.controller.engine_pid
    assert pid is not None and loaded()
    window.show_models()
    dialog = window.model_dialog
    assert dialog is not None
    [model] = [m for m in window.controller.store.files() if m.role == "model"]
    dialog.remove_model(model)
    qtbot.waitUntil(lambda: model.id not in {m.id for m in window.controller.store.files()}, timeout=30_000)
    assert not loaded() and window.controller.engine_pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
