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
