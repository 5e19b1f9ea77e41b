"""Sleep is held off while a job runs, on each system in its own way, and released when the job ends."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from caprl_desktop.core import keep_awake as keep_awake_module
from caprl_desktop.core.jobs import session
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.keep_awake import inhibitor_command, keep_awake
from tests.support.images import save_noise
from tests.support.jobs import options


def test_each_system_has_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    assert inhibitor_command("Captioning", "darwin", pid=42) == ["caffeinate", "-i", "-w", "42"]
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    linux = inhibitor_command("Captioning", "linux", pid=42)
    assert linux is not None and linux[0] == "systemd-inhibit" and "--what=idle:sleep" in linux
    assert linux[-4:] == ["tail", "--pid=42", "-f", "/dev/null"]  # ends with the app, even a killed one
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert inhibitor_command("Captioning", "linux") is None  # no logind: the job simply runs


def test_the_holder_runs_during_the_job_and_is_ended_after(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def popen(command: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real(["sleep", "30"], **kwargs)  # type: ignore[call-overload]
        started.append(process)
        return process

    monkeypatch.setattr(keep_awake_module, "inhibitor_command", lambda reason: ["caffeinate"])
    monkeypatch.setattr(subprocess, "Popen", popen)
    with keep_awake():
        assert len(started) == 1 and started[0].poll() is None
    assert started[0].poll() is not None  # released


def test_a_job_keeps_the_machine_awake_while_it_holds_its_folders(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    states: list[str] = []

    @contextmanager
    def recording() -> Iterator[None]:
        states.append("awake")
        yield
        states.append("released")

    monkeypatch.setattr(session, "keep_awake", recording)
    items, _ = find_images([save_noise(tmp_path / "a.jpg")])
    with Journal() as journal, session.start_job(journal, items, options(), holder="t"):
        assert states == ["awake"]
    assert states == ["awake", "released"]
