"""The caption panel's Details say only what is known, in words (a server's caption, a failed image, one cut off);
a checksum keeps whole however narrow the box; the model dialog's lists grow with it."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerInfo
from caprl_desktop.core.engine.reports import CaptionStats
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.jobs.provenance import caption_provenance, remote_job_provenance
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.settings import CaptionSettings
from caprl_desktop.ui.caption_panel import CaptionPanel
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.model_dialog import ModelDialog
from tests.support.fake_engines import FakeEngines

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def stats(**changes: object) -> CaptionStats:
    made = {"image_tokens": 0, "image_width": 448, "image_height": 336, "prompt_tokens": 20, "image_encode_ms": 0.0,
            "prompt_ms": 0.0, "output_tokens": 40, "decode_ms": 900.0, "total_seconds": 1.2,
            "finish_reason": "stop", "seed": 42, "engine": "http://gpu-box:8000/v1", "engine_model": "caprl"}
    made.update(changes)
    return CaptionStats(**made)  # type: ignore[arg-type]


def server_job() -> Provenance:
    info = RemoteInfo((ServerInfo("http://gpu-box:8000/v1", "caprl", 4, answering=True, label="gpu-box"),),
                      parallel=4)
    return remote_job_provenance(info, CaptionSettings().job_options("caprl"))


def lines(panel: CaptionPanel, provenance: Provenance) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in panel.details_text(provenance).splitlines())


def test_a_servers_caption_shows_no_empty_model_checksums_or_image_tokens(qtbot: QtBot) -> None:
    panel = CaptionPanel()
    qtbot.addWidget(panel)
    shown = lines(panel, caption_provenance(server_job(), stats()))
    assert shown["Model"] == "caprl" and "()" not in panel.details_text(server_job())
    assert shown["Server"] == "http://gpu-box:8000/v1 · caprl"
    assert shown["Image"] == "448×336 px"  # the server says nothing of image tokens: no "0 image tokens"
    assert "Model sha256" not in shown and "Projector sha256" not in shown and "Projector" not in shown
    assert shown["Finished"] == "complete (the model ended it)"


def test_a_failed_image_shows_no_seed_size_or_times(qtbot: QtBot) -> None:
    panel = CaptionPanel()
    qtbot.addWidget(panel)
    shown = lines(panel, server_job())  # (a failure's record: the job's provenance, nothing of a caption)
    assert not {"Seed", "Image", "Finished", "Times"} & set(shown)
    assert shown["Sampling"].startswith("temperature ")
    assert all(value.strip() for value in shown.values())


def test_a_caption_cut_off_at_the_token_limit_says_so_in_words(qtbot: QtBot) -> None:
    panel = CaptionPanel()
    qtbot.addWidget(panel)
    cut = caption_provenance(server_job(), stats(finish_reason="length"))
    assert lines(panel, cut)["Finished"] == f"cut off at {cut.max_tokens} tokens (the most a caption may have)"


def test_a_checksum_is_never_split_with_a_character_alone_in_a_narrow_window(qtbot: QtBot) -> None:
    window = MainWindow(engines=FakeEngines())
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    panel = window.panel
    local = dataclasses.replace(server_job(), model_file="CapRL-3B.Q4_K_M.gguf", model_family="CapRL-3B",
                              model_quant="Q4_K_M", model_sha256=SHA, projector_file="CapRL-3B.mmproj-Q8_0.gguf",
                              projector_sha256=SHA)
    panel.details_button.click()
    panel.details.setPlainText(panel.details_text(local))
    # However wide this machine's font draws a checksum, the box is made narrower than it (as at 1000 px with a
    # wider font): the checksum must then still not be split.
    hash_width = panel.details.fontMetrics().horizontalAdvance(SHA)
    left, right = window.splitter.sizes()
    window.splitter.setSizes([left + right - hash_width + 40, hash_width - 40])
    QApplication.processEvents()
    assert panel.details.viewport().width() < hash_width
    document = panel.details.document()
    for number in range(document.blockCount()):
        block = document.findBlockByNumber(number)
        layout = block.layout()
        pieces = [block.text()[layout.lineAt(i).textStart():][:layout.lineAt(i).textLength()]
                  for i in range(layout.lineCount())]
        assert all(len(piece.strip()) > 1 for piece in pieces), pieces  # no line of one character
        if SHA in block.text():
            assert any(SHA in piece for piece in pieces), pieces  # the checksum whole on one line
    window.close()


def test_the_model_dialogs_lists_grow_with_the_dialog(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # (the hub is not asked; the layout is the same)
    dialog = ModelDialog(ModelStore())
    qtbot.addWidget(dialog)
    dialog.resize(760, 640)
    dialog.show()
    qtbot.waitExposed(dialog)
    try:
        heights = []
        for height in (640, 1000, 1400):
            dialog.resize(760, height)
            QApplication.processEvents()
            heights.append((dialog.installed_tree.height(), dialog.remote_tree.height()))
        (installed, remote), (taller_installed, taller_remote), (tallest_installed, tallest_remote) = heights
        assert installed < taller_installed < tallest_installed  # the models on this computer too, not capped
        assert remote < taller_remote < tallest_remote
        assert tallest_remote - taller_remote > tallest_installed - taller_installed  # the hub's list the more
    finally:
        dialog.shutdown()
