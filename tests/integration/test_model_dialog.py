"""The model dialog for real, offscreen: quants with fit verdicts from a hub stand-in on 127.0.0.1, a download
with progress, cancel and resume, the offline state, files already on disk in one dialog, the same sizes as
the command line, and the first-run path from an empty window to a loaded engine."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTranslator
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot

from caprl_desktop.cli.main import main
from caprl_desktop.core.models.downloads import part_path
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.local_model_dialog import LocalModelDialog
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.model_dialog import ModelDialog
from caprl_desktop.ui.settings import AppSettings
from tests.support.hub_standin import QWEN3VL_2B, STATIC, HubStandIn
from tests.support.models import HubFiles, ModelFiles
from tests.support.synthetic_gguf import TINY, write_mmproj

TIMEOUT_MS = 60_000
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port: the connection is refused at once


class MarkingTranslator(QTranslator):
    """Wraps every translated string in «», so a test sees which texts went through tr() and which did not."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str:
        return f"«{source}»"

    def isEmpty(self) -> bool:
        return False


@pytest.fixture
def marked(qapp: QApplication) -> Iterator[None]:
    translator = MarkingTranslator()
    qapp.installTranslator(translator)
    yield
    qapp.removeTranslator(translator)


def open_dialog(qtbot: QtBot, until_listed: bool = True) -> ModelDialog:
    dlg = ModelDialog(ModelStore())
    qtbot.addWidget(dlg)
    dlg.show()
    if until_listed:
        qtbot.waitUntil(lambda: dlg.offer is not None, timeout=TIMEOUT_MS)
    return dlg


def visible_texts(widget: QWidget) -> list[str]:
    return [label.text() for label in widget.findChildren(QLabel) if label.isVisibleTo(widget) and label.text()]


@pytest.fixture
def dialog(qtbot: QtBot, hub: HubStandIn) -> Iterator[ModelDialog]:
    dlg = open_dialog(qtbot)
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


def test_each_family_is_a_choice_with_its_description_and_its_own_quants(
    qtbot: QtBot, dialog: ModelDialog, hub: HubStandIn
) -> None:
    choice = dialog.family_choice
    assert [choice.itemText(i) for i in range(choice.count())] == ["CapRL-3B", "CapRL-Qwen3VL-2B", "CapRL-Qwen3VL-4B"]
    assert "huggingface.co/internlm/CapRL-3B" in dialog.family_description.text()
    # Chosen as a user does: the combo box has the focus, the arrow key moves to the next model.
    choice.setFocus()
    qtbot.keyClick(choice, Qt.Key.Key_Down)  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: dialog.offer is not None and dialog.offer.catalog.family.key == "caprl-qwen3vl-2b",
                    timeout=TIMEOUT_MS)
    assert "Qwen3-VL-2B" in dialog.family_description.text()
    assert "huggingface.co/internlm/CapRL-Qwen3VL-2B" in dialog.family_description.text()
    assert set(remote_rows(dialog)) == {"Q4_K_M"} and not dialog.imatrix_check.isEnabled()  # no imatrix repo
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        click(qtbot, dialog.download_button)
    assert ended.args == ["installed"]
    pair = dialog.store.default_pair()
    assert pair is not None and pair.mmproj.repo == QWEN3VL_2B
    assert (pair.model.filename, pair.mmproj.filename) == ("CapRL-Qwen3VL-2B-Q4_K_M.gguf",
                                                           "mmproj-CapRL-Qwen3VL-2B-Q8_0.gguf")
    qtbot.keyClick(choice, Qt.Key.Key_Up)  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: dialog.offer is not None and dialog.offer.catalog.family.key == "caprl-3b",
                    timeout=TIMEOUT_MS)
    assert "i1-IQ2_M" in remote_rows(dialog) and dialog.imatrix_check.isEnabled()


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


# --- offline ----------------------------------------------------------------------------------


def test_offline_mode_offers_the_bundled_list_and_files_on_disk(qtbot: QtBot, hub: HubStandIn,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dlg = open_dialog(qtbot)
    assert not dlg.offer.catalog.from_hub  # type: ignore[union-attr]
    assert "Q4_K_M" in remote_rows(dlg)
    assert dlg.hub_state.isVisible()
    assert dlg.hub_state_title.text() == "Offline: use model files on disk"
    assert dlg.hub_state_reason.text() == "Offline mode is on (HF_HUB_OFFLINE), so Hugging Face was not asked."
    assert not dlg.download_button.isVisible()  # not a greyed button without a reason
    assert dlg.offline_local_button.isVisible() and dlg.offline_local_button.isDefault()
    assert dlg.retry_button.isVisible()
    assert hub.log == []  # not one request
    dlg.shutdown()


def test_no_connection_is_a_state_in_the_users_language_beside_the_list(
    qtbot: QtBot, hub: HubStandIn, monkeypatch: pytest.MonkeyPatch, marked: None
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    dlg = open_dialog(qtbot)
    download_box = dlg.remote_tree.parentWidget()
    assert download_box is not None
    assert dlg.hub_state.isVisible() and dlg.hub_state.parentWidget() is download_box  # where it failed
    assert dlg.hub_state_title.text() == "«Offline: use model files on disk»"
    assert dlg.hub_state_reason.text() == ("«Hugging Face cannot be reached: this computer seems to have no "
                                           "internet connection.»")
    assert "ConnectError" in dlg.hub_state_reason.toolTip()  # the transport's words stay out of the sentence
    texts = visible_texts(dlg)
    assert not [t for t in texts if "ConnectError" in t or "Errno" in t], texts
    # Every sentence the download area shows went through tr(), so the Japanese interface has all of them; the
    # model family's description is data that comes in both languages (the catalog's description_ja).
    description = dlg.family_description.text()
    for text in visible_texts(download_box):
        if text != description:
            assert text.startswith("«") and text.endswith("»"), text
    assert "«Model card»" in description
    assert not dlg.download_button.isVisible()
    assert dlg.offline_local_button.isVisible() and dlg.offline_local_button.isDefault()
    assert dlg.offline_local_button.text() == "«Use model files on disk…»"
    dlg.shutdown()


def test_try_again_lists_the_quants_once_the_hub_answers(qtbot: QtBot, hub: HubStandIn,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    dlg = open_dialog(qtbot)
    assert dlg.hub_state.isVisible() and not dlg.download_button.isVisible()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)  # the connection is back
    offline_offer = dlg.offer
    click(qtbot, dlg.retry_button)
    qtbot.waitUntil(lambda: dlg.offer is not offline_offer, timeout=TIMEOUT_MS)
    assert dlg.offer is not None and dlg.offer.catalog.from_hub
    assert not dlg.hub_state.isVisible()
    assert dlg.download_button.isVisible() and dlg.download_button.isEnabled()
    assert set(remote_rows(dlg)) == {"Q4_K_M", "Q8_0", "i1-IQ2_M", "i1-Q4_K_M"}
    dlg.shutdown()


def test_a_page_that_is_not_the_hub_is_said_as_such(qtbot: QtBot, hub: HubStandIn) -> None:
    hub.faults.garbled_listing.add(STATIC)  # a Wi-Fi sign-in page answers instead
    dlg = open_dialog(qtbot, until_listed=False)
    qtbot.waitUntil(lambda: dlg.hub_state.isVisible(), timeout=TIMEOUT_MS)
    assert dlg.hub_state_title.text() == "Offline: use model files on disk"
    assert dlg.hub_state_reason.text().startswith("Another page answered instead of Hugging Face")
    assert not dlg.budget_label.isVisible() and dlg.remote_tree.topLevelItemCount() == 0
    assert not dlg.download_button.isVisible()
    hub.faults.garbled_listing.clear()
    click(qtbot, dlg.retry_button)
    qtbot.waitUntil(lambda: dlg.offer is not None, timeout=TIMEOUT_MS)
    assert not dlg.hub_state.isVisible() and dlg.download_button.isEnabled()
    dlg.shutdown()


def test_a_repository_gone_from_the_hub_is_not_called_offline(qtbot: QtBot, hub: HubStandIn) -> None:
    del hub.repos[STATIC]
    dlg = open_dialog(qtbot, until_listed=False)
    qtbot.waitUntil(lambda: dlg.hub_state.isVisible(), timeout=TIMEOUT_MS)
    assert dlg.hub_state_title.text() == "Downloads are not available now"
    assert dlg.hub_state_reason.text() == ("The model's files were not found on Hugging Face: they may have been "
                                           "moved.")
    assert STATIC in dlg.hub_state_reason.toolTip()  # the command line's sentence, for the curious
    assert dlg.offline_local_button.isVisible() and not dlg.download_button.isVisible()
    dlg.shutdown()


def test_a_download_cut_off_says_why_in_the_users_language(qtbot: QtBot, dialog: ModelDialog, hub: HubStandIn,
                                                           marked: None) -> None:
    hub.faults.status["CapRL-3B.mmproj-Q8_0.gguf"] = 403
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        click(qtbot, dialog.download_button)
    assert ended.args == ["failed"]
    assert dialog.progress_label.text().startswith(
        "«The download stopped: «Hugging Face answered with an error. Try again later.»» «What was downloaded")
    assert "HTTP 403" in dialog.progress_label.toolTip()


# --- files on disk ----------------------------------------------------------------------------


@pytest.fixture
def on_disk(tmp_path: Path, models: ModelFiles) -> Path:
    """tiny.gguf with tiny.mmproj.gguf beside it, among other projectors a name alone cannot choose from."""
    folder = tmp_path / "LM Studio"
    folder.mkdir()
    shutil.copy(models.model, folder / "tiny.gguf")
    shutil.copy(models.mmproj, folder / "tiny.mmproj.gguf")
    shutil.copy(models.mmproj, folder / "other.mmproj-f16.gguf")
    shutil.copy(models.mmproj, folder / "mmproj-model-f16.gguf")
    return folder


class FilePicker:
    """Stands in for the native file dialog: answers each call with the next path and counts the calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: list[Path] = []
        self.calls = 0
        monkeypatch.setattr(QFileDialog, "getOpenFileName", self._pick)

    def _pick(self, *args: object, **kwargs: object) -> tuple[str, str]:
        self.calls += 1
        return (str(self.answers.pop(0)), "") if self.answers else ("", "")


def open_local(qtbot: QtBot, dialog: ModelDialog, button: QWidget) -> LocalModelDialog:
    click(qtbot, button)
    local = dialog.local_dialog
    assert local is not None
    qtbot.waitExposed(local)
    return local


def test_files_on_disk_are_one_dialog_that_finds_the_projector(
    qtbot: QtBot, dialog: ModelDialog, on_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picker = FilePicker(monkeypatch)
    picker.answers.append(on_disk / "tiny.gguf")
    local = open_local(qtbot, dialog, dialog.local_button)
    assert not local.add_button.isEnabled()
    click(qtbot, local.model_browse)
    assert picker.calls == 1  # one picker, for the model only
    assert Path(local.projector_edit.text()) == on_disk / "tiny.mmproj.gguf"
    assert local.projector_note.text() == "Found beside the model."
    assert not local.model_note.isVisible()
    assert local.add_button.isEnabled()
    with qtbot.waitSignal(dialog.modelsChanged, timeout=TIMEOUT_MS):
        click(qtbot, local.add_button)
    assert picker.calls == 1
    pair = dialog.store.default_pair()
    assert pair is not None
    assert (pair.model_path, pair.mmproj_path) == ((on_disk / "tiny.gguf").resolve(),
                                                   (on_disk / "tiny.mmproj.gguf").resolve())
    assert not local.isVisible() and dialog.local_dialog is None
    assert installed_names(dialog) == ["tiny.gguf (in use)"]


def test_each_file_problem_is_said_beside_its_own_field(
    qtbot: QtBot, dialog: ModelDialog, on_disk: Path, monkeypatch: pytest.MonkeyPatch, marked: None
) -> None:
    picker = FilePicker(monkeypatch)
    local = open_local(qtbot, dialog, dialog.local_button)
    # The projector picked as the model: said under Model, in the user's language.
    picker.answers.append(on_disk / "tiny.mmproj.gguf")
    click(qtbot, local.model_browse)
    assert local.model_note.isVisible()
    assert local.model_note.text() == "«This is a vision projector (mmproj), not the text model.»"
    assert "tiny.mmproj.gguf is a vision projector" in local.model_note.toolTip()
    assert not local.add_button.isEnabled()

    # Typed by hand, the model is checked once the typing pauses, and its projector is found.
    local.model_edit.clear()
    qtbot.keyClicks(local.model_edit, str(on_disk / "tiny.gguf"))  # type: ignore[no-untyped-call]
    qtbot.waitUntil(lambda: local.add_button.isEnabled(), timeout=TIMEOUT_MS)
    assert not local.model_note.isVisible()
    assert Path(local.projector_edit.text()) == on_disk / "tiny.mmproj.gguf"

    # A projector of another model, then a web page saved as a GGUF: said under Projector, not under Model.
    foreign = write_mmproj(on_disk / "foreign.gguf", replace(TINY, v_n_embd=32), projection_dim=96)
    picker.answers.append(foreign)
    click(qtbot, local.projector_browse)
    assert local.projector_note.text() == ("«This projector belongs to another model. Use the mmproj file "
                                           "published with the model.»")
    assert not local.model_note.isVisible() and not local.add_button.isEnabled()
    page = on_disk / "saved.gguf"
    page.write_text("<!DOCTYPE html><html>404</html>")
    picker.answers.append(page)
    click(qtbot, local.projector_browse)
    assert local.projector_note.text().startswith("«This is a web page")
    assert not local.add_button.isEnabled()
    # A projector the user chose is not replaced by the one found when the model changes.
    local.set_model(on_disk / "tiny.gguf")
    assert Path(local.projector_edit.text()) == page


def test_offline_the_main_action_opens_files_on_disk(
    qtbot: QtBot, hub: HubStandIn, on_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", UNREACHABLE)
    dlg = open_dialog(qtbot)
    picker = FilePicker(monkeypatch)
    picker.answers.append(on_disk / "tiny.gguf")
    local = open_local(qtbot, dlg, dlg.offline_local_button)
    click(qtbot, local.model_browse)
    with qtbot.waitSignal(dlg.modelsChanged, timeout=TIMEOUT_MS):
        click(qtbot, local.add_button)
    assert installed_names(dlg) == ["tiny.gguf (in use)"]
    dlg.shutdown()


def test_a_file_gone_before_it_is_added_is_said_in_the_files_dialog(
    qtbot: QtBot, dialog: ModelDialog, on_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = dialog.choose_local_files()
    local.set_model(on_disk / "tiny.gguf")
    assert local.add_button.isEnabled()
    (on_disk / "tiny.mmproj.gguf").unlink()  # after the check, before the worker reads it
    with qtbot.waitSignal(dialog.downloadEnded, timeout=TIMEOUT_MS) as ended:
        dialog.add_local_files(on_disk / "tiny.gguf", on_disk / "tiny.mmproj.gguf")
    assert ended.args == ["failed"]
    assert local.isVisible() and local.projector_note.text() == "This file does not exist."
    assert dialog.progress_label.text() == ""  # not under "Download from Hugging Face"
    assert dialog.store.default_pair() is None


# --- the same sizes as the command line -------------------------------------------------------


def test_a_quant_shows_the_same_sizes_in_the_dialog_and_on_the_command_line(
    qtbot: QtBot, hub: HubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "download", "Q8_0", "--yes"]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    installed_line = next(line for line in capsys.readouterr().out.splitlines() if "Q8_0" in line)
    assert main(["models", "list", "--remote", "--family", "3b"]) == 0
    remote_lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()
                    if line.startswith("  ") and "needs ~" in line}

    dlg = open_dialog(qtbot)
    rows = remote_rows(dlg)
    for label in ("Q4_K_M", "Q8_0", "i1-IQ2_M"):
        size, memory = rows[label].text(2), rows[label].text(3)
        assert re.search(rf"\s{re.escape(size)}\s+needs ~\s*{re.escape(memory)}\s", remote_lines[label]), \
            (label, size, memory, remote_lines[label])
    installed = dlg.installed_tree.topLevelItem(0)
    assert installed is not None and installed.text(0) == "Q8_0 (in use)"
    assert f"  {installed.text(1)}" in installed_line  # the model's size, as in the quant list
    assert installed.text(1) == rows["Q8_0"].text(2)
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
    assert win.status_line.model_label.text().startswith("CapRL-3B Q4_K_M")  # the family and quant downloaded
    assert "CapRL-3B.Q4_K_M.gguf" in win.status_line.model_label.toolTip()  # its files
    win.close()
