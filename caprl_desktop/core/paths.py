"""Where the app keeps its files: under ``CAPRL_DESKTOP_HOME`` when set, else the platform's user folders."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "caprl-desktop"  # ASCII on purpose: llama.cpp has failed to open non-ASCII paths on Windows
HOME_ENV = "CAPRL_DESKTOP_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
