"""Hostile folders, links, images and model files (issue 25): none escapes, leaks, floods memory or crashes."""

from __future__ import annotations

import io
import os
import struct
import sys
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from PIL import Image

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.images import loading
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.jobs.discovery import ImageItem, UnreadFolder, find_images
from caprl_desktop.core.jobs.existing import existing_captions
from caprl_desktop.core.jobs.sidecars import SidecarLink, plan_sidecars, read_sidecar
from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.models.gguf_header import GGUFFormatError, read_header
from caprl_desktop.ui.drop_report import DropReport, report_text
from tests.support.images import save_noise
from tests.support.models import ModelFiles

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="links need a privilege on Windows; FIFOs are POSIX")


@POSIX
def test_a_sidecar_that_links_outside_its_folder_is_never_read(tmp_path: Path) -> None:
    """``ln -s ../secret.txt a.txt`` put the secret's text in the export as a.jpg's caption."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2\n", encoding="utf-8")
    folder = tmp_path / "photos"
    save_noise(folder / "a.jpg")
    save_noise(folder / "b.jpg")
    save_noise(folder / "c.jpg")
    (folder / "a.txt").symlink_to(Path("..") / "secret.txt")  # leads out of the folder
    (folder / "b.txt").symlink_to(folder / "kept" / "b-caption.txt")  # leads into a folder inside: fine
    (folder / "kept").mkdir()
    (folder / "kept" / "b-caption.txt").write_text("a dog on a beach\n", encoding="utf-8")
    os.mkfifo(folder / "c.txt")  # reading it would wait for a writer for ever

    assert read_sidecar(folder / "a.txt") is None
    assert read_sidecar(folder / "b.txt") == "a dog on a beach\n"
    assert read_sidecar(folder / "c.txt") is None  # and returns at once
    items, _ = find_images([folder])
    found = existing_captions(items)  # what the window reads: "captioned earlier", the question before replacing
    assert {image.name: caption.text for image, caption in found.items()} == {"b.jpg": "a dog on a beach"}
    notes = [note for note in plan_sidecars(items).clashes if isinstance(note, SidecarLink)]
    assert [(n.images, n.target) for n in notes] == [(("a.jpg",), secret)]
    assert notes[0].describe() == f"a.txt is a link to {secret}, outside {folder}: it is not read as the caption of " \
                                  "a.jpg"


@POSIX
def test_a_sidecar_in_the_caption_folder_that_links_out_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private\n", encoding="utf-8")
    items, _ = find_images([save_noise(tmp_path / "photos" / "a.jpg").parent])
    out = tmp_path / "OUT"
    (out / "photos").mkdir(parents=True)
    (out / "photos" / "a.txt").symlink_to(secret)
    assert existing_captions(items, out) == {}
    assert [n.images for n in plan_sidecars(items, out).clashes if isinstance(n, SidecarLink)] == [("a.jpg",)]


@pytest.mark.parametrize(("given", "named"), [("..", "p"), (".", "sub"), ("a/b/..", "a")])
def test_a_folder_given_with_dots_keeps_its_captions_inside_the_caption_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, named: str
) -> None:
    """``cd p/sub; caption .. --output-dir OUT`` once wrote OUT/../top.txt: the folder's name was "..";"""
    sub = tmp_path / "p" / "sub"
    save_noise(tmp_path / "p" / "top.jpg")
    save_noise(sub / "inner.jpg")
    save_noise(sub / "a" / "b" / "deep.jpg")
    monkeypatch.chdir(sub)
    out = tmp_path / "OUT"
    items, missing = find_images([Path(given)])
    assert items and not missing
    plan = plan_sidecars(items, out)
    for image, sidecar in plan.paths.items():
        where = sidecar.resolve()
        assert where.is_relative_to(out / named), (image, sidecar)
        assert where == (out / named / image.relative_to(given)).with_suffix(".txt").resolve()


def gguf_with_one_array(path: Path, item_type: gguf.GGUFValueType, count: int, size: int = 123) -> Path:
    """A GGUF header with one metadata array that claims ``count`` values, padded with zeros to ``size`` bytes."""
    key = b"tokenizer.ggml.scores"
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
    head += struct.pack("<IIQ", gguf.GGUFValueType.ARRAY, item_type, count)
    path.write_bytes(head.ljust(size, b"\0"))
    return path


@pytest.mark.parametrize(
    ("item_type", "count"),
    [
        (gguf.GGUFValueType.UINT64, 1 << 32),  # the review's file: one read of 32 GiB, "unexpected error (MemoryError)"
        (gguf.GGUFValueType.UINT8, (1 << 32) - 1),
        (gguf.GGUFValueType.FLOAT32, 1000),  # short, but still more than 123 bytes hold
    ],
)
def test_a_gguf_array_longer_than_its_file_is_damage_not_a_memory_error(
    models: ModelFiles, tmp_path: Path, item_type: gguf.GGUFValueType, count: int
) -> None:
    bad = gguf_with_one_array(tmp_path / "CapRL-3B.Q4_K_M.gguf", item_type, count)
    assert bad.stat().st_size == 123
    with pytest.raises(GGUFFormatError, match="claims more values than the file holds"):
        read_header(bad)
    with pytest.raises(ModelFileError, match=r"CapRL-3B\.Q4_K_M\.gguf is damaged or incomplete \(.*tokenizer"
                                             r"\.ggml\.scores claims more values than the file holds\)"):
        check_model_pair(bad, models.mmproj)


@pytest.mark.parametrize("field", ["tensors", "keys", "string"])
def test_every_other_gguf_length_is_bounded_by_the_file_size(tmp_path: Path, field: str) -> None:
    tensors, keys, key_length = {"tensors": (1 << 31, 0, 4), "keys": (0, 1 << 31, 4),
                                 "string": (0, 1, 60 << 20)}[field]
    bad = tmp_path / "bad.gguf"
    bad.write_bytes((b"GGUF" + struct.pack("<IQQQ", 3, tensors, keys, key_length)).ljust(123, b"\0"))
    with pytest.raises(GGUFFormatError, match="than the file holds"):
        read_header(bad)


def reduced_both_ways(img: Image.Image, tmp_path: Path, max_pixels: int, monkeypatch: pytest.MonkeyPatch,
                      ) -> np.ndarray:
    """The image loaded reduced in one strip and in many; both must give the same pixels."""
    path = tmp_path / "x.png"
    img.save(path)
    loaded = []
    for strip_bytes in (1 << 30, 4096):
        monkeypatch.setattr(loading, "_STRIP_BYTES", strip_bytes)
        prepared = load_image(path, max_pixels)
        loaded.append(np.frombuffer(prepared.rgb, np.uint8).reshape(prepared.height, prepared.width, 3))
    assert np.array_equal(loaded[0], loaded[1])
    return loaded[0]


def test_a_reduced_image_keeps_transparency_tones_and_orientation(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    budget = 60 * 40  # a quarter of 120×80 at most: reduced by 2, then scaled
    rgba = np.zeros((80, 120, 4), np.uint8)
    rgba[:, 60:] = (0, 128, 0, 255)  # left half transparent black, right half green
    px = reduced_both_ways(Image.fromarray(rgba, "RGBA"), tmp_path, budget, monkeypatch)
    assert tuple(px[10, 5]) == (255, 255, 255) and tuple(px[10, -5]) == (0, 128, 0)

    palette = Image.new("P", (120, 80), 0)
    palette.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    palette.paste(1, (60, 0, 120, 80))
    palette.info["transparency"] = 0
    px = reduced_both_ways(palette, tmp_path, budget, monkeypatch)
    assert tuple(px[10, 5]) == (255, 255, 255) and tuple(px[10, -5]) == (200, 30, 30)

    deep = np.full((80, 120), 0x2000, np.uint16)
    deep[40:] = 0xE000
    px = reduced_both_ways(Image.fromarray(deep), tmp_path, budget, monkeypatch)
    assert px[5, 5, 0] == 31 and px[-5, 5, 0] == 223

    turned = Image.new("RGB", (120, 80), (255, 0, 0))
    turned.paste((0, 0, 255), (60, 0, 120, 80))
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to show: red on top
    path = tmp_path / "turned.png"
    turned.save(path, exif=exif)
    prepared = load_image(path, budget)
    assert prepared.height > prepared.width
    px = np.frombuffer(prepared.rgb, np.uint8).reshape(prepared.height, prepared.width, 3)
    assert px[3, 10, 0] > 200 and px[-3, 10, 2] > 200


def test_16_bit_and_float_images_are_never_copied_as_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[np.dtype[Any]] = []
    real = np.array

    def watching(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        made.append(result.dtype)
        return result

    monkeypatch.setattr(np, "array", watching)
    monkeypatch.setattr(np, "asarray", watching)
    for img in (Image.fromarray(np.full((64, 64), 40000, np.uint16)),
                Image.fromarray(np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64))):
        buf = io.BytesIO()
        img.save(buf, "TIFF")
        load_image(buf.getvalue(), 64 * 64, name="x.tif")
    assert made and np.dtype(np.float64) not in made


def test_a_drop_names_every_folder_it_could_not_read(tmp_path: Path) -> None:
    found = [ImageItem(tmp_path / "album" / "p.jpg", tmp_path / "album")]
    unread = [UnreadFolder(tmp_path / "album" / name, "permission denied") for name in ("a", "b", "c", "d")]
    report = DropReport([tmp_path / "album"], [], found, unread=unread[:1])
    report.listed(0, found)
    assert report_text(report) == "Added 1 from album · could not read a (permission denied)"
    nothing = DropReport([tmp_path / "album"], [], [], unread=unread)
    assert report_text(nothing) == "No images found in album · could not read a, b and 2 more"
