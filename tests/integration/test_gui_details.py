"""The caption panel's Details: the selected image's provenance (model, seed, …) after a caption is made; and the
export dialog's full CSV column set."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caprl_desktop.core.export.writers import FULL_COLUMNS, read_csv
from caprl_desktop.core.models.downloads import sha256_of
from caprl_desktop.ui.export_dialog import ExportDialog
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import State
from tests.support.gui import drop, wait_all_finished
from tests.support.images import save_noise
from tests.support.models import ModelFiles


def test_details_show_the_seed_and_model_of_a_captioned_image(
    qtbot: QtBot, window: MainWindow, models: ModelFiles, tmp_path: Path
) -> None:
    window.settings.start_when_added = False
    image = save_noise(tmp_path / "detail.jpg", seed=7)
    drop(window, [image])
    qtbot.waitUntil(lambda: len(window.queue.entries) == 1, timeout=10_000)
    window.list_view.setCurrentIndex(window.proxy.index(0, 0))
    panel = window.panel
    assert not panel.details.isVisible()  # collapsed until asked for
    assert "No details" in panel.details.toPlainText()

    window.controller.start()
    wait_all_finished(qtbot, window, 1)
    [entry] = window.queue.entries
    assert entry.state == State.DONE, entry.error
    window.list_view.setCurrentIndex(window.proxy.index(0, 0))
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]
    assert panel.details.isVisible()
    text = panel.details.toPlainText()
    assert "Seed: 1234" in text.splitlines()  # the window's fixed seed (the installed fixture's)
    assert f"Model: {models.model.name}" in text
    assert f"Model sha256: {sha256_of(models.model)}" in text
    [device] = [line for line in text.splitlines() if line.startswith("Device: ")]
    assert device == "Device: CPU" or ": " in device.removeprefix("Device: ")  # "CUDA: NVIDIA …" on a GPU

    dialog = ExportDialog(window.queue, [], window.settings, window)
    qtbot.addWidget(dialog)
    target = tmp_path / "full.csv"
    dialog.location.setText(str(target))
    assert dialog.full_columns.isEnabled()
    dialog.full_columns.setChecked(True)
    dialog.export()
    [row] = read_csv(target)
    assert tuple(row) == FULL_COLUMNS and row["seed"] == "1234" and row["model_sha256"] == sha256_of(models.model)

