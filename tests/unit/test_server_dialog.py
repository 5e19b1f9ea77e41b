"""Adding a caption server, as typed: an address without a scheme, the plain-http warning shown whole and taken
back without a gap, and Check's answer on a line of its own under the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from caprl_desktop.core.engine.remote import saved
from caprl_desktop.core.engine.remote.servers import parse_server
from caprl_desktop.ui.engine_page import EnginePage
from caprl_desktop.ui.server_dialog import ServerDialog
from caprl_desktop.ui.settings import AppSettings
from tests.support.servers import StandInServer


@pytest.fixture
def dialog(qtbot: QtBot) -> ServerDialog:
    shown = ServerDialog()
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def test_an_address_without_a_scheme_is_taken_as_http(qtbot: QtBot, dialog: ServerDialog) -> None:
    assert parse_server("127.0.0.1:8801").url == "http://127.0.0.1:8801/v1"
    assert parse_server("gpu-box:8000/v1#8").url == "http://gpu-box:8000/v1"
    qtbot.keyClicks(dialog.name, "local")  # type: ignore[no-untyped-call]
    qtbot.keyClicks(dialog.address, "127.0.0.1:8801")  # type: ignore[no-untyped-call]
    [buttons] = dialog.findChildren(QDialogButtonBox)
    qtbot.mouseClick(buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert dialog.result() == ServerDialog.DialogCode.Accepted
    assert saved.load()["local"].url == "http://127.0.0.1:8801/v1"


def test_the_plain_http_warning_is_shown_whole_and_leaves_no_gap_once_gone(
    qtbot: QtBot, dialog: ServerDialog
) -> None:
    height = dialog.height()
    qtbot.keyClicks(dialog.address, "http://10.0.0.7:8000/v1")  # type: ignore[no-untyped-call] # another computer, unencrypted
    warning = dialog.warning
    assert warning.isVisible() and warning.text().startswith("Not encrypted: http://10.0.0.7:8000/v1")
    assert warning.height() >= warning.heightForWidth(warning.width())  # every line of it, none cut off
    assert dialog.height() > height

    dialog.address.clear()
    qtbot.keyClicks(dialog.address, "http://127.0.0.1:8801")  # type: ignore[no-untyped-call] # "http://1" on the way was another computer
    assert not warning.isVisible()
    assert dialog.height() == height  # no empty row where the warning was


@pytest.fixture
def server() -> Iterator[StandInServer]:
    running = StandInServer("served-caprl").start()
    yield running
    running.stop()


def test_checks_answer_goes_on_a_line_of_its_own(qtbot: QtBot, server: StandInServer) -> None:
    saved.add("box", server.url)
    page = EnginePage(AppSettings())
    qtbot.addWidget(page)
    page.on_servers.setChecked(True)
    page.check_button.click()
    item = page.servers.item(0)
    qtbot.waitUntil(lambda: "answers" in item.text(), timeout=20_000)
    first, second = item.text().split("\n")
    assert first.startswith("box · ") and second == "answers, serving served-caprl"
    page.check_button.click()  # asked again: the answer is replaced, not added
    qtbot.waitUntil(page.check_button.isEnabled, timeout=20_000)
    assert item.text().count("\n") == 1


def test_the_engine_page_says_what_to_run_on_the_other_computer(qtbot: QtBot) -> None:
    page = EnginePage(AppSettings())
    qtbot.addWidget(page)
    assert "llama-server" in page.how_to.text() and "docs/" not in page.how_to.text()
