"""The import contracts hold for modules nobody listed: a stray llama_cpp import anywhere breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import REPO


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # before the editable install: the copy is what is analysed
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "caprl_desktop", copy / "caprl_desktop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.qm", "*.ts", "data"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_copy_keeps_every_contract(tree: Path) -> None:
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("stray", ["core/engine/remote/stray.py", "core/jobs/stray.py", "ui/stray.py"])
def test_llama_cpp_imported_outside_the_engine_process_breaks_a_contract(tree: Path, stray: str) -> None:
    (tree / "caprl_desktop" / stray).write_text('"""A module nobody listed."""\n\nimport llama_cpp  # noqa: F401\n')
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert "Only the engine's private part imports llama.cpp BROKEN" in result.stdout
    assert "caprl_desktop." + stray.removesuffix(".py").replace("/", ".") + " -> llama_cpp" in result.stdout
