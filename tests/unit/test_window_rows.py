"""The list's rows and the queue's pace, Qt only: aligned thumbnails, honest row states, an estimate that means it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot

from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.ui.go_progress import seconds_left
from caprl_desktop.ui.queue_model import THUMB_SIZE, ImageLoader, QueueModel, State
from tests.support.images import save_noise


def test_thumbnails_of_any_shape_take_the_same_square_so_row_text_lines_up(qtbot: QtBot, tmp_path: Path) -> None:
    loader = ImageLoader()
    wide = save_noise(tmp_path / "wide.jpg", 400, 100)
    tall = save_noise(tmp_path / "tall.jpg", 100, 400)
    for path in (wide, tall):
        with qtbot.waitSignal(loader.loaded, timeout=10_000):
            assert loader.get(path, THUMB_SIZE) is None  # loading
    sizes = {(p.width(), p.height()) for p in (loader.get(wide, THUMB_SIZE), loader.get(tall, THUMB_SIZE))
             if p is not None}
    assert sizes == {(THUMB_SIZE, THUMB_SIZE)}
    loader.wait()


def test_a_row_says_it_reads_the_image_until_the_first_word_comes(qtbot: QtBot, tmp_path: Path) -> None:
    loader = ImageLoader()
    queue = QueueModel(loader)
    items, _ = find_images([save_noise(tmp_path / "a.jpg")])
    queue.add(items)
    queue.begin(0)
    assert queue.state_text(queue.entry(0)) == "Reading the image…"
    queue.append_text(0, "A")
    assert queue.state_text(queue.entry(0)) == "Captioning… 1 token"
    assert queue.entry(0).state == State.CAPTIONING
    loader.wait()


def test_the_estimate_goes_by_the_captions_made_not_the_images_skipped() -> None:
    # 8 of 11 had captions (skipped at once), one was made in 30 s, two are left: about a minute, not "0 s".
    assert seconds_left(done=9, skipped=8, total=11, elapsed=30.0) == 60.0
    assert seconds_left(done=8, skipped=8, total=11, elapsed=0.2) is None  # nothing made yet: no guess
    assert seconds_left(done=11, skipped=0, total=11, elapsed=30.0) is None  # over
    assert seconds_left(done=99, skipped=0, total=100, elapsed=0.5) == 1.0  # never "0 s" while one is left


@pytest.mark.qt_log_ignore(".*")  # Qt says what it finds wrong in the broken file
def test_a_row_without_a_picture_keeps_its_text_in_line(qtbot: QtBot, tmp_path: Path) -> None:
    loader = ImageLoader()
    queue = QueueModel(loader)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    items, _ = find_images([broken, save_noise(tmp_path / "good.jpg")])
    queue.add(items)
    for row in (0, 1):
        icon = queue.data(queue.index(row), Qt.ItemDataRole.DecorationRole)  # loading: a square already
        assert isinstance(icon, QIcon) and icon.availableSizes() == [QSize(THUMB_SIZE, THUMB_SIZE)]
    qtbot.waitUntil(lambda: loader.get(broken, THUMB_SIZE) is not None, timeout=10_000)
    icon = queue.data(queue.index(0), Qt.ItemDataRole.DecorationRole)  # no picture at all: still the square
    assert isinstance(icon, QIcon) and icon.availableSizes() == [QSize(THUMB_SIZE, THUMB_SIZE)]
    loader.wait()
