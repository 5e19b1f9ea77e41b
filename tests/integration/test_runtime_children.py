"""A runtime's server ends with the app however the app ends: real processes, the app killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.support.cli import REPO

# The "app": starts a long sleep as its child the runtime's way, says the child's pid, and waits to be killed.
APP = """
import os, sys, time
from caprl_desktop.core.runtimes.children import start_child
child = start_child(["sleep", "300"], env=os.environ, output=open(os.devnull, "wb"), platform=sys.argv[1])
print(child.pid, flush=True)
time.sleep(300)
"""


def gone(pid: int, timeout: float) -> bool:
    """Whether ``pid`` ends within ``timeout`` (a zombie left for a parent that does not reap counts as ended)."""
    try:
        process = psutil.Process(pid)
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        try:
            return process.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal, and the watcher")
@pytest.mark.parametrize("platform", ["linux", "darwin"])  # prctl; the watcher macOS uses (it runs here too)
def test_the_child_dies_when_the_app_is_killed(platform: str) -> None:
    with subprocess.Popen([sys.executable, "-c", APP, platform], stdout=subprocess.PIPE, cwd=REPO,
                          text=True) as app:
        assert app.stdout is not None
        child = int(app.stdout.readline())
        try:
            assert psutil.Process(child).ppid() == app.pid
            assert os.getsid(child) == child  # a session of its own: a Ctrl+C at the terminal reaches the app only
            app.kill()
            app.wait()
            assert gone(child, timeout=10), f"the child {child} outlived the app killed with SIGKILL"
        finally:
            app.kill()
            if not gone(child, 0):
                os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the watcher with /bin/sh")
def test_the_watcher_ends_by_itself_when_the_child_ends() -> None:
    from caprl_desktop.core.runtimes.children import start_child

    with open(os.devnull, "wb") as sink:
        child = start_child(["sleep", "300"], env=os.environ, output=sink, platform="darwin")
    watchers = [p for p in psutil.process_iter(["cmdline"])
                if f"kill -0 {child.pid}" in " ".join(p.info["cmdline"] or ())]
    assert watchers
    child.kill()
    child.wait()
    for watcher in watchers:
        assert gone(watcher.pid, timeout=10)
