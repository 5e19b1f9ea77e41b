"""Opening a driver's own library (NVML, the Vulkan loader) by its usual name or path, without raising."""

from __future__ import annotations

import ctypes
import ntpath
import os
from collections.abc import Mapping, Sequence
from pathlib import Path


def open_first(candidates: Sequence[str]) -> tuple[ctypes.CDLL, str] | str:
    """The first candidate that loads, with its name; or why none did, in words ("libvulkan.so.1 not found").

    A bare name is left to the system's search (the driver installs it there); a full path must exist, so that
    a missing file reads as "not found" rather than as the loader's message. cdecl everywhere: NVML's and
    Vulkan's calling conventions only differ on 32-bit Windows, which llama.cpp publishes no build for.
    """
    if not candidates:
        return "not looked for on this system"
    reasons: list[str] = []
    for candidate in candidates:
        path = Path(candidate)
        name = path.name
        if path.parent != Path() and not path.is_file():
            reasons.append(f"{candidate} not found")
            continue
        try:
            return ctypes.CDLL(candidate), name
        except OSError as exc:
            text = str(exc)
            missing = "cannot open shared object file" in text or "No such file" in text or "not found" in text
            reasons.append(f"{name} not found" if missing else f"{name} could not be loaded: {text}")
    return "; ".join(reasons)


def system32(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Where Windows keeps a driver's DLL: named by full path so a DLL of that name elsewhere is never picked."""
    env = os.environ if environ is None else environ
    return ntpath.join(env.get("SystemRoot", "C:\\Windows"), "System32", name)
