"""Hostile folders, links, images and model files (issue 25): none escapes, leaks, floods memory or crashes."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import pytest

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.sidecars import plan_sidecars
from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.models.gguf_header import GGUFFormatError, read_header
from tests.support.images import save_noise
from tests.support.models import ModelFiles


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
