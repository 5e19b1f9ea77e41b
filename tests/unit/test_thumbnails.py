"""The window's thumbnail reader: entries named like images that are not files never block a pool thread."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from caprl_desktop.core.images.loading import MAX_FILE_BYTES
from caprl_desktop.ui.queue_model import read_thumbnail
from tests.support.images import save_noise


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")
def test_special_files_give_no_thumbnail_and_never_block(tmp_path: Path, qapp: object) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    big = tmp_path / "video.jpg"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    started = time.monotonic()
    for name in ("pipe.jpg", "loop.jpg", "zero.jpg", "video.jpg"):
        assert read_thumbnail(tmp_path / name, 56).isNull(), name
    assert time.monotonic() - started < 5
    image = read_thumbnail(save_noise(tmp_path / "real.jpg", 300, 200), 56)  # a real photo still works
    assert (image.width(), image.height()) == (56, 37)
