"""The command line's one place for errors: a sentence for what is expected, one line and the log for a bug."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from caprl_desktop.cli import jobs_command
from caprl_desktop.cli.exit_codes import EXIT_INTERNAL, EXIT_TRY_AGAIN, EXIT_USAGE
from caprl_desktop.cli.main import main
from caprl_desktop.core import paths
from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.jobs.journal import JournalBusyError


def failing_with(exc: BaseException) -> Callable[[argparse.Namespace, argparse.ArgumentParser], int]:
    def handler(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        raise exc
    return handler


def test_an_unexpected_error_is_one_line_and_a_log_with_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(jobs_command, "run_list", failing_with(OSError(28, "No space left on device")))
    assert main(["jobs", "list"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    log = paths.log_dir() / "cli.log"
    assert f"The details are in {log}" in err and "OSError: [Errno 28] No space left on device" in err
    text = log.read_text(encoding="utf-8")
    assert "unexpected error in caprl-desktop jobs" in text and "Traceback (most recent call last)" in text
    assert "No space left on device" in text


def test_an_expected_error_is_its_sentence(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(jobs_command, "run_list", failing_with(ModelFileError("the model file is damaged")))
    assert main(["jobs", "list"]) == EXIT_USAGE
    assert capsys.readouterr().err == "caprl-desktop: error: the model file is damaged\n"


def test_a_busy_journal_asks_to_try_again(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(jobs_command, "run_list", failing_with(JournalBusyError("The job journal is busy")))
    assert main(["jobs", "list"]) == EXIT_TRY_AGAIN
    assert "busy" in capsys.readouterr().err
