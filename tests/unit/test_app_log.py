"""A native crash of the app process is found at the next start, reported once, and kept among the newest few."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from caprl_desktop.core.app_log import CRASHES_KEPT, native_crash_path, previous_crash, start_logging

_CRASH = textwrap.dedent("""
    import faulthandler
    from caprl_desktop.core.app_log import start_logging
    start_logging("gui")
    faulthandler._sigsegv()
""")


def _crash_a_process() -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-c", _CRASH], capture_output=True, text=True, timeout=60,
                            env=os.environ.copy())
    assert result.returncode != 0
    return result


def test_a_native_crash_is_found_at_the_next_start_and_reported_once(isolated_home: Path) -> None:
    _crash_a_process()
    assert "Segmentation fault" in native_crash_path("gui").read_text()

    assert start_logging("gui") is not None
    crash = previous_crash()
    assert crash is not None
    assert "Fatal Python error: Segmentation fault" in crash.text and "<string>" in crash.text
    assert crash.path.parent == native_crash_path("gui").parent and crash.path.read_text() == crash.text
    # Set aside, so a later start does not report it again (this process has no crash file of its own to write:
    # the test runner's faulthandler is the one enabled here).
    assert not native_crash_path("gui").exists() or not native_crash_path("gui").read_text().strip()
    again = subprocess.run([sys.executable, "-c", "from caprl_desktop.core.app_log import start_logging, "
                            "previous_crash; start_logging('gui'); print(previous_crash())"],
                           capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert again.stdout.strip() == "None", again.stderr


def test_a_clean_start_reports_nothing(isolated_home: Path) -> None:
    native_crash_path("gui").parent.mkdir(parents=True)
    native_crash_path("gui").write_text("\n")  # opened by a process that ended well: nothing written
    start_logging("gui")
    assert previous_crash() is None


def test_only_the_newest_crashes_are_kept(isolated_home: Path) -> None:
    folder = native_crash_path("gui").parent
    folder.mkdir(parents=True)
    for day in range(1, 6):
        (folder / f"gui-native-crash-2026120{day}-120000.log").write_text(f"crash {day}\n")
    native_crash_path("gui").write_text("Fatal Python error: Aborted\n")
    start_logging("gui")
    crash = previous_crash()
    assert crash is not None and crash.text == "Fatal Python error: Aborted\n"
    kept = sorted(p.name for p in folder.glob("gui-native-crash-*.log"))
    assert len(kept) == CRASHES_KEPT and crash.path.name in kept
    assert "gui-native-crash-20261201-120000.log" not in kept
