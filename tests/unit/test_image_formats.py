"""One list of image types for discovery, the loader and the file-manager entries; files that only look like images."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from caprl_desktop.core.errors import ImageLoadError
from caprl_desktop.core.images.formats import FORMATS, IMAGE_EXTENSIONS, ImageFormat
from caprl_desktop.core.images.loading import MAX_FILE_BYTES, load_image
from caprl_desktop.core.integration import linux, windows
from caprl_desktop.core.jobs.discovery import find_images, is_image_path
from tests.support.images import save_noise


@pytest.mark.parametrize("image_format", FORMATS, ids=lambda f: f.decoder)
def test_every_listed_type_is_found_read_and_offered_by_the_file_manager_entries(
    image_format: ImageFormat, tmp_path: Path
) -> None:
    for ext in image_format.extensions:
        path = save_noise(tmp_path / f"photo{ext}", format=image_format.decoder)
        assert is_image_path(path)
        assert load_image(path, 64 * 28 * 28).source_format == image_format.decoder
        assert any(key.endswith(f"\\{ext}\\shell\\{windows.VERB}") for key in windows.verb_keys()), ext


def test_the_desktop_entries_name_every_type() -> None:
    files = linux.plan(["caprl-desktop"], "en", None).files
    entry = next(f.content.decode() for f in files if f.path.name == "caprl-desktop.desktop")
    nemo = next(f.content.decode() for f in files if f.path.suffix == ".nemo_action")
    for image_format in FORMATS:
        assert image_format.mime_type in entry
    for ext in IMAGE_EXTENSIONS:
        assert f";{ext.lstrip('.')};" in nemo, ext


def test_a_file_too_large_for_an_image_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "video.jpg"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk space used
    with pytest.raises(ImageLoadError, match=r"video\.jpg is 1\.0 GiB, too large for an image"):
        load_image(big, 1000)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files")
def test_special_files_named_like_images_are_found_and_refused_by_the_loader_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    items, missing = find_images([tmp_path])  # no crash on the loop, no open of the pipe
    assert sorted(i.path.name for i in items) == ["loop.jpg", "pipe.png", "zero.jpg"] and missing == []
    reasons = {}
    for item in items:
        with pytest.raises(ImageLoadError) as caught:
            load_image(item.path, 1000)
        reasons[item.path.name] = str(caught.value)
    assert reasons == {
        "loop.jpg": "loop.jpg is a symbolic link that leads back to itself",
        "pipe.png": "pipe.png is a named pipe (FIFO), not an image file",
        "zero.jpg": "zero.jpg is a device, not an image file",
    }
