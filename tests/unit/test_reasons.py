"""Why an image failed, in the interface's language: the core gives each reason a kind and its parameters, the
window words it (in Japanese in the Japanese window), and the command line and the exports keep the core's
English sentence exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from pytestqt.qtbot import QtBot

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.errors import OTHER, ImageLoadError, Reason
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.jobs import folder_locks
from caprl_desktop.core.jobs.sidecars import write_sidecar
from caprl_desktop.ui.app import TRANSLATIONS
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.reasons import ReasonWords, reason_text
from tests.support.fake_engine import FakeEngine, Script
from tests.support.fake_engines import FakeEngines
from tests.support.fake_queue import fake_queue, loaded, row_of, wait_finished
from tests.support.models import ModelFiles, installed

CORE = Path(__file__).resolve().parents[2] / "caprl_desktop" / "core"
# An error of the core's raised with a kind (``…Error(…, kind="…"``), or a reason made on its own (``reason("…"``).
_KIND = re.compile(r'Error\((?:(?!Error\().){0,400}?kind="([a-z_]+)"|\breason\(\s*"([a-z_]+)"', re.DOTALL)


def core_kinds() -> set[str]:
    """Every kind of reason the core gives, read off its source."""
    found = (_KIND.findall(path.read_text(encoding="utf-8")) for path in CORE.rglob("*.py"))
    return {kind for matches in found for pair in matches for kind in pair if kind}


def test_every_reason_the_core_gives_is_worded_by_the_window(qtbot: QtBot) -> None:
    kinds = core_kinds()
    assert {"image_damaged", "not_saved", "engine_crashed_on_image", "no_server_answers", "folder_busy"} <= kinds
    words = ReasonWords()
    assert [kind for kind in sorted(kinds - {OTHER}) if words.template(Reason(kind, "")) is None] == []


@pytest.fixture
def japanese(qtbot: QtBot) -> Iterator[None]:
    """The Japanese interface, as the app installs it, for this test only."""
    app = QCoreApplication.instance()
    assert app is not None
    translator = QTranslator()
    assert translator.load(str(TRANSLATIONS / "caprl_desktop_ja.qm"))
    app.installTranslator(translator)
    yield
    app.removeTranslator(translator)


def test_a_damaged_image_fails_in_japanese_in_the_japanese_window_and_in_english_in_its_record(
    qtbot: QtBot, japanese: None, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"empty.png": Script(pieces=("",))}))
    engines.images(tmp_path, ["good.png", "empty.png"])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageLoadError) as english:
        load_image(broken, 1 << 20)
    with fake_queue(engines, installed(models)) as queue:
        loaded(qtbot, queue)
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 3)
        failed = queue.queue.entry(row_of(queue, broken))
        assert failed.state == State.FAILED
        # The record, which exports and the journal keep, says what the command line says.
        assert failed.record is not None and failed.record.error == str(english.value)
        assert str(english.value).startswith("broken.png is damaged or not a supported image (")
        shown = queue.queue.state_text(failed)
        assert shown.startswith("失敗: broken.png は壊れているか、対応していない画像です（"), shown
        empty = queue.queue.entry(row_of(queue, tmp_path / "empty.png"))
        assert queue.queue.state_text(empty) == "失敗: モデルが空のキャプションを返しました"
        assert empty.record is not None and empty.record.error == "the model returned an empty caption"


def test_an_image_the_engine_crashes_on_fails_in_japanese(
    qtbot: QtBot, japanese: None, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines(FakeEngine(scripts={"b.png": Script(crashes=2)}))
    engines.images(tmp_path, ["a.png", "b.png"])
    with fake_queue(engines, installed(models)) as queue:
        queue.add_paths([tmp_path])
        wait_finished(qtbot, queue, 2)
        crashed = queue.queue.entry(1)
        assert crashed.record is not None
        assert crashed.record.error.startswith("the engine crashed on this image 2 times, so it was skipped: ")
        shown = queue.queue.state_text(crashed)
        assert shown.startswith("失敗: この画像でエンジンが 2 回クラッシュしたため、スキップしました："), shown


def test_a_folder_another_run_holds_is_refused_in_japanese(
    qtbot: QtBot, japanese: None, models: ModelFiles, tmp_path: Path
) -> None:
    engines = FakeEngines()
    engines.images(tmp_path / "held", ["a.png"])
    with fake_queue(engines, installed(models)) as queue:
        said: list[str] = []
        queue.message.connect(lambda text, ms: said.append(text))
        loaded(qtbot, queue)
        with folder_locks.folder_locks([tmp_path / "held"], what="caprl-desktop caption"):
            queue.add_paths([tmp_path / "held"])
            wait_finished(qtbot, queue, 1)
        [entry] = queue.queue.entries
        assert "is being captioned by process" in entry.error  # (the core's English, for the record)
        assert "がキャプション付け中です" in queue.queue.state_text(entry)
        assert any("がキャプション付け中です" in text for text in said)  # the status bar too


def test_a_reason_of_an_earlier_session_or_a_kind_not_worded_shows_the_cores_sentence(
    qtbot: QtBot, japanese: None
) -> None:
    assert reason_text(Reason(OTHER, "llama.cpp failed while generating")) == "llama.cpp failed while generating"
    assert reason_text(Reason("a_kind_of_tomorrow", "as the core says it")) == "as the core says it"


def test_a_caption_file_that_cannot_be_written_says_why_in_japanese(
    qtbot: QtBot, japanese: None, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "photos"
    not_a_folder.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(WriteError) as failed:
        write_sidecar(not_a_folder / "a.txt", "a caption")
    why = failed.value.reason
    assert why.kind.startswith("write_") and why.text == str(failed.value)  # the command line's sentence, as it was
    assert reason_text(why) != why.text and "a.txt" in reason_text(why)
