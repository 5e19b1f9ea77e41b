"""Hostile file names through the whole path: a real CLI process and exports read back (the window: test_gui.py).

Names are data: a folder called ``a"; rm -rf ~; ".jpg``, files with ``$HOME``, backticks, ``;``, ``&``, ``%``,
quotes, a newline, a leading dash, Japanese and emoji, and a path thousands of characters long must be
captioned under exactly that name, exported exactly, and never do anything else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.core.export.writers import read_csv, read_jsonl
from tests.support.cli import REPO, fast_args
from tests.support.hostile import hostile_tree
from tests.support.images import save_noise
from tests.support.models import ModelFiles

FAST = fast_args(max_tokens=8, seed=11)

def sidecar_of(image: Path) -> Path:
    return image.with_suffix(".txt")


def test_cli_process_captions_hostile_names_exactly(models: ModelFiles, tmp_path: Path) -> None:
    home = Path(os.environ["CAPRL_DESKTOP_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    canary = home / "canary"
    canary.write_text("still here")
    work = tmp_path / "cwd"
    work.mkdir()
    images = hostile_tree(tmp_path)
    folder = images[0].parent
    csv_path, jsonl_path = tmp_path / "out.csv", tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "caprl_desktop.cli.main", "caption", str(folder), "--csv", str(csv_path),
         "--jsonl", str(jsonl_path), *FAST, "--model", str(models.model), "--mmproj", str(models.mmproj)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for image in images:
        assert sidecar_of(image).read_text(encoding="utf-8").strip(), image.name
    expected = sorted(p.relative_to(csv_path.parent).as_posix() for p in images)  # (from the exports' folder)
    assert sorted(r["file_name"] for r in read_csv(csv_path)) == expected
    assert sorted(str(r["file_name"]) for r in read_jsonl(jsonl_path)) == expected
    assert {r["path"] for r in read_csv(csv_path)} == {str(p) for p in images}
    assert canary.read_text() == "still here"
    assert list(work.iterdir()) == []  # nothing ran: no "pwned", no output of id
    assert not (folder / "pwned").exists()


def test_cli_takes_a_dash_name_after_double_dash(models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from caprl_desktop.cli.main import main

    image = save_noise(tmp_path / "-rf.jpg", seed=3)
    monkeypatch.chdir(tmp_path)
    code = main(["caption", *FAST, "--model", str(models.model), "--mmproj", str(models.mmproj), "--", "-rf.jpg"])
    assert code == 0, capsys.readouterr().err
    assert sidecar_of(image).exists()
