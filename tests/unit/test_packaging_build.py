"""`python packaging/build.py` without PyInstaller says what to install in one sentence, as every command does."""

from __future__ import annotations

import subprocess
import sys

from tests.support.cli import REPO


def test_building_without_pyinstaller_names_what_to_install() -> None:
    # -I leaves site-packages out, so PyInstaller is missing whatever this machine has installed.
    result = subprocess.run([sys.executable, "-I", str(REPO / "packaging" / "build.py"), "--no-check"],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert 'PyInstaller is not installed in this Python: pip install -e ".[dev]" pyinstaller' in result.stderr
