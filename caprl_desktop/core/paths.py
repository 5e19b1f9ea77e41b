"""Where the app keeps its files: under ``CAPRL_DESKTOP_HOME`` when set, else the platform's user folders."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import platformdirs

from caprl_desktop.core.errors import ModelFileError

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


def _windows_short_name(path: str) -> str | None:
    """Windows' 8.3 short form of an existing path (None where it has none, e.g. 8.3 names are off)."""
    import ctypes  # Windows only

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    size = kernel32.GetShortPathNameW(path, None, 0)
    buffer = ctypes.create_unicode_buffer(size)
    if size and kernel32.GetShortPathNameW(path, buffer, size):
        return str(buffer.value)
    return None


def llama_openable(path: Path, *, platform: str | None = None,
                   short_name: Callable[[str], str | None] | None = None) -> Path:
    """``path`` as llama.cpp can open it: on Windows its C runtime opens model files by an ANSI name, so a path
    with characters outside ASCII (a Japanese user or folder name) is given in its 8.3 short form; where that
    still is not ASCII (8.3 names turned off on the drive), a ``ModelFileError`` says what to do."""
    if (platform or sys.platform) != "win32" or str(path).isascii():
        return path
    short = (short_name or _windows_short_name)(str(path))
    if short is not None and short.isascii():
        return Path(short)
    raise ModelFileError(f"{path} cannot be opened by llama.cpp on Windows: its path has characters outside "
                         "ASCII and the drive keeps no short (8.3) names. Move the model files to a folder whose "
                         "path is ASCII only, for example C:\\Models, and choose them there.")


def ascii_safe(path: Path) -> Path:
    """On Windows, the 8.3 short form of a non-ASCII path, which llama.cpp's file opening copes with.

    The user name is part of the data folder there, and llama.cpp has failed to open model paths with
    non-ASCII characters on Windows; elsewhere paths are bytes and need no change.
    """
    if os.name != "nt" or str(path).isascii():
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
        short = _windows_short_name(str(path))
        if short is not None and short.isascii():
            return Path(short)
    except OSError:
        pass
    return path
