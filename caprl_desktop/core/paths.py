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


def models_dir() -> Path:
    """Where downloaded models live; ASCII where the OS allows (see ``ascii_safe``)."""
    return ascii_safe(data_dir() / "models")


def ascii_safe(path: Path) -> Path:
    """On Windows, the 8.3 short form of a non-ASCII path, which llama.cpp's file opening copes with.

    The user name is part of the data folder there, and llama.cpp has failed to open model paths with
    non-ASCII characters on Windows; elsewhere paths are bytes and need no change.
    """
    if os.name != "nt" or str(path).isascii():
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
        import ctypes  # Windows only

        size = ctypes.windll.kernel32.GetShortPathNameW(str(path), None, 0)  # type: ignore[attr-defined,unused-ignore]
        buffer = ctypes.create_unicode_buffer(size)
        if size and ctypes.windll.kernel32.GetShortPathNameW(str(path), buffer, size):  # type: ignore[attr-defined,unused-ignore]
            short = buffer.value
            if short.isascii():
                return Path(short)
    except OSError:
        pass
    return path
