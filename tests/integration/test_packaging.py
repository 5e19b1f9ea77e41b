"""The wheel holds what a user runs: the app's packages and data, no benchmark, model maker or test support."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.cli import REPO


def test_the_wheel_ships_the_app_and_no_developer_tools(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(REPO), "-w", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("caprl_desktop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    modules = {n for n in names if n.endswith(".py")}
    assert "caprl_desktop/core/engine/_llama/worker.py" in modules  # the engine process's part is shipped
    assert "caprl_desktop/core/jobs/session.py" in modules and "caprl_desktop/ui/main_window.py" in modules
    assert any(n.endswith("caprl_desktop_ja.qm") for n in names) and any("model_catalog.json" in n for n in names)
    shipped_tools = [n for n in modules if any(word in n for word in ("bench", "synthetic", "devtools", "same_text",
                                                                        "hub_standin", "translations", "icons"))]
    assert shipped_tools == []
    assert not [n for n in names if n.startswith(("tests/", "packaging/"))]
