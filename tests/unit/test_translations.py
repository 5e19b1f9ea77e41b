"""The interface translations are complete and the shipped .qm files match their .ts sources."""

from __future__ import annotations

import subprocess
import sys

from tests.support.cli import REPO


def test_translations_are_complete_and_compiled() -> None:
    """Every tr() string of the UI has a Japanese translation and the shipped .qm matches the .ts."""
    result = subprocess.run([sys.executable, str(REPO / "packaging" / "translations.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
