"""Entries of a folder that are named like images but are not: none can stop, hang or crash a run."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.export.writers import read_csv
from tests.support.cli import fast_args, model_args
from tests.support.images import save_noise
from tests.support.models import ModelFiles

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")


def hostile_folder(root: Path) -> Path:
    folder = root / "mixed"
    save_noise(folder / "good1.jpg", seed=1)
    save_noise(folder / "good2.png", seed=2)
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")  # a link to itself
    os.mkfifo(folder / "fifo.jpg")  # opening it for reading would wait for a writer for ever
    (folder / "zero.jpg").symlink_to("/dev/zero")  # endless bytes
    return folder


def test_a_folder_of_hostile_entries_finishes_with_the_good_images_captioned(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = hostile_folder(tmp_path)
    csv_path = tmp_path / "out.csv"
    started = time.monotonic()
    code = main(["caption", str(folder), "--csv", str(csv_path), *fast_args(seed=1234), *model_args(models)])
    assert time.monotonic() - started < 60
    err = capsys.readouterr().err
    assert code == 1, err  # some failed
    assert "Traceback" not in err
    assert (folder / "good1.txt").read_text(encoding="utf-8").strip()
    assert (folder / "good2.txt").read_text(encoding="utf-8").strip()
    errors = {Path(r["path"]).name: r["error"] for r in read_csv(csv_path)}
    assert errors["good1.jpg"] == errors["good2.png"] == ""
    assert "symbolic link that leads back to itself" in errors["loop.jpg"]
    assert "a named pipe (FIFO), not an image file" in errors["fifo.jpg"]
    assert "a device, not an image file" in errors["zero.jpg"]
    assert "Done: 2 captioned, 3 failed." in err
    assert not (folder / "fifo.txt").exists() and not (folder / "zero.txt").exists()


def test_a_hostile_entry_named_directly_is_reported_not_read(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = hostile_folder(tmp_path)
    code = main(["caption", str(folder / "fifo.jpg"), *fast_args(seed=1234), *model_args(models)])
    assert code == 1
    assert "fifo.jpg is a named pipe (FIFO), not an image file" in capsys.readouterr().err
