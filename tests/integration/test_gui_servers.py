"""The window on caption servers: Settings → Engine, streaming captions from a saved server, and its figures.

The server is the stand-in (``StandInServer``) on 127.0.0.1, slowed down so that captions stream piece by
piece as a real server's do; keys go to the test's own keyring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox
from pytestqt.qtbot import QtBot

from caprl_desktop.core.engine.remote import consent, keys, saved
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.server_dialog import ServerDialog
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.settings_dialog import SettingsDialog
from tests.support.gui import CAPTION_TIMEOUT_MS, answer, drop, on_next_dialog, wait_all_finished
from tests.support.images import save_noise
from tests.support.keyrings import MemoryKeyring
from tests.support.servers import StandInServer

PIECES = ("Streaming ", "from ", "the ", "saved ", "server.")
SECRET = "sk-caprl-window-93c1d7e0"
PASTED_KEY = "hf_caprl_window_5a17e2"  # a key that looks like a variable's name, typed where the name belongs


@pytest.fixture
def slow_server() -> Iterator[StandInServer]:
    server = StandInServer("served-caprl").start()
    server.script.pieces = PIECES
    server.script.delay_s = 0.25  # each piece: the text grows in the window while the image is captioning
    yield server
    server.stop()


def click_ok(dialog: QDialog) -> None:
    [box] = dialog.findChildren(QDialogButtonBox, options=Qt.FindChildOption.FindDirectChildrenOnly)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.click()


def window_on_box(qtbot: QtBot, address: str) -> MainWindow:
    """A window whose captions go to the server saved as "box" at ``address``, once it has answered."""
    saved.add("box", address)
    settings = AppSettings()
    settings.engine_servers = ("box",)
    settings.sync()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.controller.remote_info is not None, timeout=CAPTION_TIMEOUT_MS)
    return window


def test_the_window_captions_through_a_saved_server_with_streaming_text(
    qtbot: QtBot, slow_server: StandInServer, installed: ModelStore, tmp_path: Path
) -> None:
    window = window_on_box(qtbot, slow_server.url + "#2")
    assert window.controller.engine_info is None  # no model loaded here for it
    assert window.status_line.model_label.text() == "Servers: box · 2 captions at a time"
    assert window.status_line.backend_label.text() == "served-caprl"
    assert window.windowTitle() == "CapRL Desktop — box"
    folder = tmp_path / "photos"
    for i in range(3):
        save_noise(folder / f"p{i}.png", 160, 120, seed=i)
    drop(window, [folder])
    full = "".join(PIECES)
    partial: set[str] = set()

    def streaming() -> bool:
        if not window.queue.entries:
            return False
        text = window.panel.editor.toPlainText()
        shown_row = window.queue.entries[0]
        if shown_row.state == State.CAPTIONING and text and text != full:
            partial.add(text)
        return len(partial) >= 2 or shown_row.state == State.DONE

    qtbot.waitUntil(streaming, timeout=CAPTION_TIMEOUT_MS)
    assert len(partial) >= 2 and all(full.startswith(text) for text in partial)  # grew piece by piece
    wait_all_finished(qtbot, window, 3)
    assert [e.state for e in window.queue.entries] == [State.DONE] * 3
    assert all((folder / f"p{i}.txt").read_text(encoding="utf-8").strip() == full for i in range(3))
    assert window.panel.editor.toPlainText() == full
    # Each server's share, in the status bar once the run is over; what made each caption, in the journal.
    qtbot.waitUntil(lambda: window.status_line.servers_label.text().startswith("box: 3 done · "), timeout=5000)
    assert window.status_line.servers_label.text().endswith(" img/min") and window.status_line.servers_label.isVisible()
    assert "3 captions" in window.status_line.servers_label.toolTip()
    assert window.status_line.servers_label.toolTip().endswith(", 2 at a time")  # as given with #2
    assert window.status_line.model_label.text() == "Servers: box · 2 captions at a time"
    with Journal() as journal:
        [job] = journal.jobs()
        records = journal.records(job.id)
    assert job.options is not None and job.options.model_label == "served-caprl"
    assert [(r.model, r.provenance.engine if r.provenance else "") for r in records] == \
        [("served-caprl", slow_server.url)] * 3
    assert slow_server.script.requests == 3

    # Back to this computer: the local model loads, and the status bar says so.
    dialog = SettingsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.engine_page.check_button.click()  # whether each saved server answers, asked off the GUI thread
    qtbot.waitUntil(lambda: "answers, serving served-caprl" in dialog.engine_page.servers.item(0).text(),
                    timeout=CAPTION_TIMEOUT_MS)
    dialog.engine_page.this_computer.setChecked(True)
    dialog.accept()
    assert window.settings.engine_servers == ()
    window.controller.engine.settings_changed()
    qtbot.waitUntil(lambda: window.controller.engine_info is not None, timeout=CAPTION_TIMEOUT_MS)
    assert window.controller.remote_info is None
    assert not window.status_line.model_label.text().startswith("Servers")
    assert window.status_line.servers_label.text() == ""
    window.close()


def test_adding_a_server_in_settings_keeps_its_key_in_the_keyring_and_asks_once_before_plain_http(
    qtbot: QtBot, memory_keyring: MemoryKeyring, isolated_home: Path
) -> None:
    settings = AppSettings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    page = dialog.engine_page
    assert page.this_computer.isChecked() and page.servers.count() == 0

    refusals: list[list[str]] = []

    def fill(server_dialog: QDialog) -> None:
        assert isinstance(server_dialog, ServerDialog)
        qtbot.keyClicks(server_dialog.name, "lan-box")  # type: ignore[no-untyped-call]
        qtbot.keyClicks(server_dialog.address, "http://192.0.2.10:8000/v1")  # type: ignore[no-untyped-call]
        assert server_dialog.warning.isVisible() and "plain http" in server_dialog.warning.text()
        server_dialog.slots.setValue(8)
        # The key pasted where the variable's name belongs: refused, and not shown back.
        server_dialog.key_kind.setCurrentIndex(server_dialog.key_kind.findData("env"))
        qtbot.keyClicks(server_dialog.key, PASTED_KEY)  # type: ignore[no-untyped-call]
        refusals.append(answer(qtbot, "OK"))
        click_ok(server_dialog)
        assert refusals[0] and server_dialog.isVisible()
        server_dialog.key_kind.setCurrentIndex(server_dialog.key_kind.findData("keyring"))
        qtbot.keyClicks(server_dialog.key, SECRET)  # type: ignore[no-untyped-call]
        click_ok(server_dialog)

    filled = on_next_dialog(ServerDialog, fill)
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert filled
    [refused] = refusals
    assert "No environment variable of that name" in refused[0] and PASTED_KEY not in " ".join(refused)
    assert page.on_servers.isChecked() and page.ticked() == ("lan-box",)
    assert memory_keyring.passwords == {(keys.SERVICE, "lan-box"): SECRET}
    server = saved.load()["lan-box"]
    assert (server.slots, server.api_key_keyring, server.api_key_env) == (8, True, None)
    assert SECRET not in saved.saved_file().read_text(encoding="utf-8")

    asked = answer(qtbot, "Don't send")
    click_ok(dialog)
    assert asked and "Send images to lan-box without encryption?" in asked[0]
    assert dialog.isVisible() and not settings.engine_servers  # not chosen: nothing will be sent to it
    asked = answer(qtbot, "Send to it")
    click_ok(dialog)
    assert asked and not dialog.isVisible()
    assert settings.engine_servers == ("lan-box",)
    assert consent.unwarned([server]) == []

    again = SettingsDialog(settings)
    qtbot.addWidget(again)
    again.show()
    assert again.engine_page.ticked() == ("lan-box",)
    not_asked = answer(qtbot, "Send to it", within_s=1)
    click_ok(again)
    assert not_asked == [] and not again.isVisible()  # asked once for each server
    written = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert written and [p for p in written if SECRET.encode() in p.read_bytes()] == []

    # Removed, then Cancel: gone from the list, the keyring and the choice alike (runs would fail on the name).
    last = SettingsDialog(settings)
    qtbot.addWidget(last)
    last.show()
    last.engine_page.servers.setCurrentRow(0)
    last.engine_page.remove_button.click()
    last.reject()
    assert last.engine_page.edited
    assert saved.load() == {} and memory_keyring.passwords == {} and not settings.engine_servers


def test_a_server_chosen_without_its_warning_gets_no_image(qtbot: QtBot, isolated_home: Path) -> None:
    """The settings file edited by hand to a server reached unencrypted: the window says so and sends nothing
    (the Settings page is where the user agrees)."""
    saved.add("lan", "http://192.0.2.10:8000/v1")
    settings = AppSettings()
    settings.engine_servers = ("lan",)
    settings.sync()
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "without encryption" in window.status_line.backend_label.text(),
                    timeout=CAPTION_TIMEOUT_MS)
    assert "Settings → Engine" in window.status_line.backend_label.text()
    assert window.controller.remote_info is None
    window.close()


def test_a_server_saved_again_with_a_key_is_asked_with_it_from_the_next_image(
    qtbot: QtBot, slow_server: StandInServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine on servers started with the saved list of its time: saving the server again (a new key) in
    Settings, even when the dialog is then cancelled, makes the next image go with the new key."""
    slow_server.script.delay_s = 0.0
    AppSettings().start_when_added = True
    window = window_on_box(qtbot, slow_server.url + "#2")
    drop(window, [save_noise(tmp_path / "first.png", 120, 90, seed=1)])
    wait_all_finished(qtbot, window, 1)
    assert slow_server.script.authorization == ["Bearer none"]  # no key yet
    monkeypatch.setenv("CAPRL_BOX_KEY", SECRET)

    def fill(server_dialog: QDialog) -> None:
        assert isinstance(server_dialog, ServerDialog)
        server_dialog.name.setText("box")
        server_dialog.address.setText(slow_server.url + "#2")
        server_dialog.key_kind.setCurrentIndex(server_dialog.key_kind.findData("env"))
        server_dialog.key.setText("CAPRL_BOX_KEY")
        click_ok(server_dialog)

    def add_then_cancel(dialog: QDialog) -> None:
        assert isinstance(dialog, SettingsDialog)
        filled.append(on_next_dialog(ServerDialog, fill))
        dialog.engine_page.add_button.click()
        dialog.reject()

    filled: list[list[QDialog]] = []
    on_next_dialog(SettingsDialog, add_then_cancel)
    window.show_settings()
    assert filled and filled[0] and saved.load()["box"].api_key_env == "CAPRL_BOX_KEY"
    qtbot.waitUntil(lambda: window.controller.remote_info is not None, timeout=CAPTION_TIMEOUT_MS)
    drop(window, [save_noise(tmp_path / "second.png", 120, 90, seed=2)])
    wait_all_finished(qtbot, window, 2)
    assert slow_server.script.authorization[-1] == f"Bearer {SECRET}"
    window.close()


def test_choosing_this_computer_without_a_model_lets_the_servers_go(
    qtbot: QtBot, slow_server: StandInServer
) -> None:
    window = window_on_box(qtbot, slow_server.url)
    assert not window.status_line.get_model_button.isVisible()
    dialog = SettingsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.engine_page.check()  # a check still asking when the dialog goes: its answer is dropped, no error
    dialog.engine_page.this_computer.setChecked(True)
    dialog.accept()
    dialog.deleteLater()
    window.controller.engine.settings_changed()
    assert window.controller.remote_info is None
    qtbot.waitUntil(lambda: window.status_line.get_model_button.isVisible(), timeout=CAPTION_TIMEOUT_MS)
    assert window.status_line.model_label.text() == "No model installed"
    qtbot.wait(300)  # the check's answer comes, to a dialog that is gone
    window.close()
