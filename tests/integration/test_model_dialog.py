"""The model dialog for real, offscreen: quants with fit verdicts from a hub stand-in on 127.0.0.1, a download
with progress, cancel and resume, files already on disk, and the first-run path from an empty window to a
loaded engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from caprl_desktop.core.models.downloads import part_path
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.model_dialog import ModelDialog, guess_projector
from caprl_desktop.ui.settings import AppSettings
from tests.support.hub_standin import HubStandIn
from tests.support.models import HubFiles, ModelFiles

TIMEOUT_MS = 60_000


@pytest.fixture
def dialog(qtbot: QtBot, hub: HubStandIn) -> Iterator[ModelDialog]:
    dlg = ModelDialog(ModelStore())
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.offer is not None, timeout=TIMEOUT_MS)
    yield dlg
    dlg.shutdown()


def remote_rows(dialog: ModelDialog) -> dict[str, QTreeWidgetItem]:
    tree = dialog.remote_tree
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    return {item.text(0): item for item in items if item is not None}


def installed_names(dialog: ModelDialog) -> list[str]:
    tree = dialog.installed_tree
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    return [item.text(0) for item in items if item is not None]


def click(qtbot: QtBot, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[no-untyped-call]


def test_quants_are_listed_with_sizes_and_fit_and_the_recommended_one_is_chosen(dialog: ModelDialog) -> None:
    rows = remote_rows(dialog)
    assert set(rows) == {"Q4_K_M", "Q8_0", "i1-IQ2_M", "i1-Q4_K_M"}
    assert rows["i1-Q4_K_M"].text(1) == "imatrix" and rows["Q4_K_M"].text(1) == "static"
    assert rows["i1-Q4_K_M"].isHidden() and not rows["Q4_K_M"].isHidden()
    dialog.imatrix_check.setChecked(True)
    assert not rows["i1-Q4_K_M"].isHidden()
    assert dialog.offer is not None
    for label, item in rows.items():
        advice = dialog.offer.advice_for(label)
        assert advice is not None
        assert item.text(4).split(" · ")[0] == advice.verdict
    # On a CPU the recommendation stops at Q4_K_M; the hub's tiny files all fit.
    assert dialog.offer.recommended == "Q4_K_M"
    assert "recommended" in rows["Q4_K_M"].text(4)
    assert dialog.remote_tree.currentItem() is rows["Q4_K_M"]
    assert dialog.download_button.isEnabled()
    assert "available" in dialog.budget_label.text()
    assert installed_names(dialog)[0].startswith("No model yet")


def test_download_with_progress_cancel_and_resume(
    qtbot: QtBot, dialog: ModelDialog, hub: HubStandIn, hub_files: HubFiles
) -> None:
    big = remote_rows(dialog)["Q8_0"]
    dialog.remote_tree.setCurrentItem(big)
    hub.faults.bytes_per_second = 1_500_000  # the 6 MB quant takes a few seconds
    seen: list[str] = []
    click(qtbot, dialog.download_button)
    assert dialog.cancel_button.isVisible() and not dialog.download_button.isEnabled()

    def midway() -> bool:
        text = dialog.progress_label.text()
        seen.append(text)
        return "CapRL-3B.Q8_0.gguf:" in text and dialog.progress_bar.value() > 300

    qtbot.waitUntil(midway, timeout=TIMEOUT_MS)
    assert seen[-1].startswith("File 2 of 2 · ") and "/s" in seen[-1] and "left" in seen[-1]
    assert any(t.startswith("File 1 of 2 · CapRL-3B.mmproj-Q8_0.gguf") for t in seen)
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        click(qtbot, dialog.cancel_button)
    assert ended.args == ["cancelled"]
    assert "continues from there" in dialog.progress_label.text()
    remote = dialog.offer.catalog.find_model("Q8_0") if dialog.offer else None
    assert remote is not None
    kept = part_path(dialog.store.destination(remote)).stat().st_size
    assert 0 < kept < len(hub_files.big)
    assert dialog.store.default_pair() is None

    hub.faults.bytes_per_second = None
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        click(qtbot, dialog.download_button)
    assert ended.args == ["installed"]
    assert hub.downloads_of("CapRL-3B.Q8_0.gguf")[-1].range == f"bytes={kept}-"
    pair = dialog.store.default_pair()
    assert pair is not None and pair.model_path.read_bytes() == hub_files.big
    assert installed_names(dialog) == ["Q8_0 (in use)"]
    assert "installed" in remote_rows(dialog)["Q8_0"].text(4)


def test_a_gguf_on_disk_is_checked_and_used(qtbot: QtBot, dialog: ModelDialog, models: ModelFiles,
                                            tmp_path: Path) -> None:
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        dialog.add_local_files(tmp_path / "missing.gguf", models.mmproj)
    assert ended.args == ["failed"] and "missing.gguf" in dialog.progress_label.text()
    with qtbot.waitSignal(dialog.modelsChanged, timeout=TIMEOUT_MS):
        dialog.add_local_files(models.model, models.mmproj)
    pair = dialog.store.default_pair()
    assert pair is not None and pair.model_path == models.model.resolve()
    assert installed_names(dialog) == [f"{models.model.name} (in use)"]
    assert guess_projector(models.model) == models.mmproj  # the one mmproj beside it


def test_offline_offers_the_bundled_list_without_downloads(qtbot: QtBot, hub: HubStandIn,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dlg = ModelDialog(ModelStore())
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.offer is not None, timeout=TIMEOUT_MS)
    assert not dlg.offer.catalog.from_hub  # type: ignore[union-attr]
    assert "Q4_K_M" in remote_rows(dlg)
    assert not dlg.download_button.isEnabled() and dlg.retry_button.isVisible()
    assert hub.log == []  # not one request
    dlg.shutdown()


def test_first_run_from_an_empty_window_to_a_loaded_engine(qtbot: QtBot, hub: HubStandIn) -> None:
    settings = AppSettings()
    settings.detail = "fast"
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    assert win.status_line.model_label.text() == "No model installed"
    assert win.status_line.get_model_button.isVisible()
    click(qtbot, win.status_line.get_model_button)
    dlg = win.model_dialog
    assert dlg is not None and dlg.isVisible()
    qtbot.waitUntil(lambda: dlg.offer is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(dlg.downloadEnded, timeout=TIMEOUT_MS) as ended:
        click(qtbot, dlg.download_button)  # the recommended quant, preselected
    assert ended.args == ["installed"]
    qtbot.waitUntil(lambda: win.controller.engine_info is not None, timeout=TIMEOUT_MS)
    assert win.controller.engine_info is not None
    assert win.controller.engine_info.model.model_path.name == "CapRL-3B.Q4_K_M.gguf"
    assert not win.status_line.get_model_button.isVisible()
    assert "CapRL-3B.Q4_K_M.gguf" in win.status_line.model_label.text()
    win.close()
