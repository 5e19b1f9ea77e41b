"""The captions on disk as the library, with the real engine (issue 28 items 1 and 3; the rules are tested on the
fake engine in tests/unit/test_window_library.py): a folder captioned by llama.cpp in one window is exported from
the next with each caption's provenance, and a hand edit there reaches the description ExifTool reads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caprl_desktop.core.export.writers import SOURCE_EDITED, SOURCE_MODEL, read_jsonl, record_from_json
from caprl_desktop.core.metadata import clean_for_xml
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.main_window import MainWindow
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.settings import AppSettings
from tests.support.exiftool import exiftool, make_photo
from tests.support.gui import drop, open_window, wait_all_finished
from tests.support.models import ModelFiles


def test_a_folder_captioned_in_one_window_is_exported_and_described_from_the_next(
    qtbot: QtBot, installed: ModelStore, models: ModelFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    for i in range(2):
        make_photo(folder / f"p{i}.jpg", "JPEG")
    settings = AppSettings()
    settings.metadata = "embed"
    settings.sync()
    first = open_window(qtbot)
    drop(first, [folder])
    wait_all_finished(qtbot, first, 2)
    made = {e.path: e.caption for e in first.queue.entries if e.state == State.DONE}
    first.close()
    assert made, "the random-weight model failed every caption"

    again: MainWindow = open_window(qtbot)  # another day: the folder is listed, nothing runs
    again.settings.start_when_added = False
    drop(again, [folder])
    qtbot.waitUntil(lambda: sum(e.earlier for e in again.queue.entries) == len(made), timeout=10_000)
    again.export(tmp_path / "all.jsonl", "jsonl")
    rows = {Path(r.path): r for r in map(record_from_json, read_jsonl(tmp_path / "all.jsonl"))}
    assert set(rows) == set(made)
    for path, record in rows.items():
        assert record.source == SOURCE_MODEL and record.caption.strip() == made[path].strip()
        assert record.provenance is not None and record.provenance.seed == 1234
        assert record.provenance.model_file == models.model.name

    photo = next(iter(made))
    row = again.queue.row_of(photo)
    assert row is not None
    again.list_view.setCurrentIndex(again.proxy.mapFromSource(again.queue.index(row)))
    editor = again.panel.editor
    qtbot.waitUntil(lambda: not editor.isReadOnly(), timeout=10_000)
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)  # type: ignore[no-untyped-call]
    qtbot.keyClicks(editor, "A photo, described by a person.")  # type: ignore[no-untyped-call]
    again.panel.flush()
    qtbot.waitUntil(lambda: again.panel.description.text() == "Description written into the image"
                    and exiftool(photo, "-XMP-dc:Description").get("XMP-dc:Description")
                    == clean_for_xml("A photo, described by a person."), timeout=20_000)
    assert exiftool(photo, "-XMP:all")["XMP-caprl:Source"] == "edited by hand"
    again.export(tmp_path / "again.jsonl", "jsonl")
    edited = {Path(r.path): r for r in map(record_from_json, read_jsonl(tmp_path / "again.jsonl"))}[photo]
    assert (edited.source, edited.model_caption.strip()) == (SOURCE_EDITED, made[photo].strip())
    again.close()
