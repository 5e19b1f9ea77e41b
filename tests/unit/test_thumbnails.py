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


@pytest.mark.parametrize(("name", "pillow_format"), [("IMG_0001.HEIC", "HEIF"), ("PXL_0001.avif", "AVIF")])
def test_a_phone_photo_in_heic_or_avif_gets_a_thumbnail_upright(
    tmp_path: Path, qapp: object, name: str, pillow_format: str
) -> None:
    """Qt cannot read HEIC or AVIF: their thumbnails come through the caption loader, orientation applied."""
    from PIL import Image

    photo = tmp_path / name
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view", as a phone held upright writes it
    save_noise(photo, 300, 200, format=pillow_format, exif=exif.tobytes())
    image = read_thumbnail(photo, 56)
    assert not image.isNull()
    assert (image.width(), image.height()) == (37, 56)  # portrait: turned as the phone was held
