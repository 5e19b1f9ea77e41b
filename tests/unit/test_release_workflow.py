"""The release workflow (.github/workflows/release.yml): actionlint finds nothing in it (and does find a fault put
into a copy), and it builds and smoke-tests the one-folder app on Windows, macOS (arm64) and Linux, on tags and by
hand; ``packaging/build.py --folder``, which it uses for the macOS app bundle, names a folder without a build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def actionlint() -> str:
    """The actionlint command (the dev extra installs it beside this Python)."""
    found = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                            os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip('actionlint is not installed: pip install -e ".[dev]" installs it')
    return found


def lint(workflow: Path) -> subprocess.CompletedProcess[str]:
    # Run from the workflow's own repository: actionlint reads that one's .github/ (configuration, other workflows).
    return subprocess.run([actionlint(), "-no-color", str(workflow.relative_to(workflow.parents[2]))],
                          capture_output=True, text=True, timeout=120, cwd=workflow.parents[2],
                          stdin=subprocess.DEVNULL)


def test_actionlint_finds_nothing_in_the_release_workflow() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("original", "broken", "said"), [
    ("runs-on: ${{ matrix.os }}", "runs-on: ${{ matrix.runner }}", 'property "runner" is not defined'),
    ("needs: build", "needs: bulid", 'needs job "bulid" which does not exist'),
])
def test_actionlint_finds_a_fault_put_into_a_copy(tmp_path: Path, original: str, broken: str, said: str) -> None:
    """The check above can fail: the same workflow with one fault is refused, and the fault named."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert original in text
    copy = tmp_path / ".github" / "workflows" / "release.yml"
    copy.parent.mkdir(parents=True)
    copy.write_text(text.replace(original, broken, 1), encoding="utf-8")
    result = lint(copy)
    assert result.returncode == 1, result
    assert said in result.stdout


def workflow() -> dict[Any, Any]:
    yaml: Any = pytest.importorskip("yaml")  # PyYAML comes with gguf, a dependency of the app
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def test_it_runs_on_version_tags_and_by_hand() -> None:
    data = workflow()
    triggers = data[True] if True in data else data["on"]  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["tags"] == ["v*"]
    assert "workflow_dispatch" in triggers


def test_it_builds_and_smoke_tests_the_app_on_windows_macos_arm64_and_linux() -> None:
    build = workflow()["jobs"]["build"]
    runners = {entry["os"].split("-")[0]: entry for entry in build["strategy"]["matrix"]["include"]}
    assert set(runners) == {"ubuntu", "windows", "macos"}
    mac = runners["macos"]["os"]
    # macos-13 and the -intel / -large labels are Intel machines; macos-14 and later are Apple silicon.
    assert int(mac.split("-")[1]) >= 14 and not mac.endswith(("-intel", "-large")), mac
    assert runners["macos"]["target"].endswith("arm64")
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python packaging/build.py\n" in runs  # builds, then checks: --version, the window, a caption
    assert '--check-only --folder "dist/CapRL Desktop.app/Contents/MacOS"' in runs
    assert '"$cli" doctor' in runs
    uses = [step.get("uses", "") for step in build["steps"]]
    assert any(action.startswith("actions/upload-artifact@") for action in uses)


def test_only_a_tag_drafts_a_release() -> None:
    release = workflow()["jobs"]["release"]
    assert release["needs"] == "build"
    assert release["if"] == "startsWith(github.ref, 'refs/tags/')"
    assert release["permissions"] == {"contents": "write"}
    assert "gh release create" in release["steps"][-1]["run"]
    assert workflow()["permissions"] == {"contents": "read"}  # every other job only reads


def test_build_check_of_a_folder_without_a_build_says_so(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "--check-only", "--folder",
                             str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'caprl-desktop'} does not exist: build first" in result.stderr
