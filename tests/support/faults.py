"""Fault injection: file creation that fails with a chosen errno, in one folder, after a number of successes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from caprl_desktop.core import atomic


def fail_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, error: int, after: int = 0) -> Callable[[], int]:
    """Make file creation in ``folder`` fail with ``error`` after ``after`` successes; returns a call counter."""
    real = atomic._open_temp
    calls = 0

    def open_temp(dir: Path, prefix: str) -> tuple[int, Path]:
        nonlocal calls
        if Path(dir).is_relative_to(folder):
            calls += 1
            if calls > after:
                raise OSError(error, os.strerror(error), str(dir))
        return real(dir, prefix)

    monkeypatch.setattr(atomic, "_open_temp", open_temp)
    return lambda: calls
