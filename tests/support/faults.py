"""Fault injection: file creation that fails with a chosen errno, in one folder, after a number of successes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from caprl_desktop.core import atomic


def fail_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, error: int, after: int = 0) -> Callable[[], int]:
    """Make file creation in ``folder`` fail with ``error`` after ``after`` successes; returns a call counter."""
    real = tempfile.mkstemp
    calls = 0

    def mkstemp(dir: Path, prefix: str, suffix: str) -> tuple[int, str]:
        nonlocal calls
        if Path(dir).is_relative_to(folder):
            calls += 1
            if calls > after:
                raise OSError(error, os.strerror(error), str(dir))
        return real(dir=dir, prefix=prefix, suffix=suffix)

    monkeypatch.setattr(atomic, "tempfile", SimpleNamespace(mkstemp=mkstemp))
    return lambda: calls
