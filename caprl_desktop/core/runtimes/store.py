"""The runtimes installed in the app's data folder, which one captions, and which one to go back to.

Each runtime is a folder ``runtimes/<tag>-<variant>/`` holding ``llama-server`` with its libraries and a
``runtime.json`` saying what it is (written last by ``install``: a folder without it is not a runtime).
``runtimes/state.json`` holds the choice: ``chosen`` (a runtime's name; none: the built-in engine), and
while the chosen one has not captioned yet, ``fallback`` (the runtime or ``builtin`` that was in use before
it): a runtime that cannot start before its first caption gives its place back to the fallback (rollback),
and the fallback is kept on disk until then. ``replaces`` names a runtime an update will remove once the new
one has captioned; ``proven`` lists those that have captioned; ``failed`` says why one could not start.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import filelock

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.runtimes.catalog import VARIANT_WORDS, VARIANTS, Variant

MANIFEST = "runtime.json"
BUILTIN = "builtin"
SERVER_NAME = "llama-server.exe" if sys.platform == "win32" else "llama-server"


class RuntimeStoreError(CaprlError):
    """A runtime that is not installed, or a choice that cannot be made."""


@dataclass(frozen=True)
class InstalledRuntime:
    name: str  # "<tag>-<variant>", its folder's name
    tag: str
    variant: Variant
    folder: Path
    size: int  # bytes its archives had
    assets: tuple[str, ...] = ()

    @property
    def server(self) -> Path:
        return self.folder / SERVER_NAME

    @property
    def label(self) -> str:
        """How records and status lines name it: "llama.cpp b11312 (cpu)"."""
        return f"llama.cpp {self.tag} ({self.variant})"

    @property
    def words(self) -> str:
        return f"llama.cpp {self.tag}, {VARIANT_WORDS[self.variant]}"


def runtime_name(tag: str, variant: Variant) -> str:
    return f"{tag}-{variant}"


def runtimes_dir() -> Path:
    """Where runtimes live; ASCII where the OS allows, as for models (llama.cpp and its loader)."""
    return paths.ascii_safe(paths.data_dir() / "runtimes")


def _read_manifest(folder: Path) -> InstalledRuntime | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("variant") not in VARIANTS or not isinstance(data.get("tag"), str):
        return None
    listed = data.get("assets")
    assets: list[Any] = listed if isinstance(listed, list) else []
    size = sum(a.get("size", 0) for a in assets if isinstance(a, dict) and isinstance(a.get("size"), int))
    names = tuple(str(a.get("name")) for a in assets if isinstance(a, dict))
    return InstalledRuntime(folder.name, data["tag"], cast(Variant, data["variant"]), folder, size, names)


def write_manifest(folder: Path, tag: str, variant: Variant, assets: list[dict[str, Any]]) -> None:
    atomic_write_text(folder / MANIFEST, json.dumps({"tag": tag, "variant": variant, "assets": assets}, indent=1))


def installed() -> list[InstalledRuntime]:
    """The runtimes installed, by name."""
    root = runtimes_dir()
    if not root.is_dir():
        return []
    found = [_read_manifest(folder) for folder in sorted(root.iterdir())
             if folder.is_dir() and not folder.name.startswith(".")]
    return [runtime for runtime in found if runtime is not None]


def find(name: str) -> InstalledRuntime:
    for runtime in installed():
        if runtime.name == name:
            return runtime
    names = ", ".join(r.name for r in installed()) or "none is installed"
    raise RuntimeStoreError(f"no runtime named {name!r} is installed ({names}); see `caprl-desktop runtime list`")


# --- the choice ---------------------------------------------------------------------------------


@dataclass
class Choice:
    chosen: str | None = None  # a runtime's name; None: the built-in engine
    fallback: str | None = None  # while ``chosen`` has not captioned: a runtime's name or BUILTIN
    replaces: str | None = None  # removed once ``chosen`` has captioned (the one an update replaced)
    proven: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _state_path() -> Path:
    return runtimes_dir() / "state.json"


def read_choice() -> Choice:
    try:
        data = json.loads(_state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Choice()
    if not isinstance(data, dict):
        return Choice()

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    proven = data.get("proven")
    failed = data.get("failed")
    return Choice(text("chosen"), text("fallback"), text("replaces"),
                  [p for p in proven if isinstance(p, str)] if isinstance(proven, list) else [],
                  {str(k): str(v) for k, v in failed.items()} if isinstance(failed, dict) else {})


@contextlib.contextmanager
def changing_choice() -> Iterator[Choice]:
    """The choice to change in the ``with`` block, written when it ends; one process at a time."""
    root = runtimes_dir()
    root.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(root / ".state.lock")):
        choice = read_choice()
        yield choice
        atomic_write_text(_state_path(), json.dumps(choice.__dict__, indent=1))


def chosen() -> InstalledRuntime | None:
    """The runtime chosen to caption, None for the built-in engine (also when the chosen one is gone)."""
    name = read_choice().chosen
    if name is None:
        return None
    return next((r for r in installed() if r.name == name), None)


def use(name: str) -> Choice:
    """Caption with runtime ``name`` (or ``BUILTIN``) from now on; what was in use stays the fallback until the
    new one has captioned. Raises ``RuntimeStoreError`` for a runtime that is not installed."""
    target = None if name == BUILTIN else find(name).name
    with changing_choice() as choice:
        if target == choice.chosen:
            return choice
        before = choice.chosen or BUILTIN
        choice.chosen = target
        choice.failed.pop(target or "", None)
        unproven = target is not None and target not in choice.proven
        choice.fallback = before if unproven else None
        choice.replaces = None  # a choice made by hand keeps every runtime installed
        return choice


def use_update(new: str, old: str) -> None:
    """``new`` (an update of ``old``, the runtime in use) captions from now on; ``old`` is kept as the fallback
    until ``new`` has captioned once, then removed."""
    with changing_choice() as choice:
        choice.chosen, choice.fallback, choice.replaces = new, old, old
        choice.proven = [p for p in choice.proven if p != new]
        choice.failed.pop(new, None)


def captioned(name: str) -> str | None:
    """Runtime ``name`` has made a caption: it is proven, its fallback is let go, and the runtime it replaced is
    removed. Returns the name of the one removed, if any."""
    with changing_choice() as choice:
        if name in choice.proven and choice.fallback is None and choice.replaces is None:
            return None
        if name not in choice.proven:
            choice.proven.append(name)
        removed = None
        if choice.chosen == name:
            choice.fallback = None
            if choice.replaces and choice.replaces != name:
                removed = choice.replaces
            choice.replaces = None
    if removed is not None:
        _delete(removed)
    return removed


def roll_back(name: str, reason: str) -> str | None:
    """Runtime ``name`` could not start before its first caption: the fallback is chosen again. Returns the
    fallback's name (``BUILTIN`` for the built-in engine), or None when there is none to go back to."""
    with changing_choice() as choice:
        choice.failed[name] = reason
        if choice.chosen != name or name in choice.proven or choice.fallback is None:
            return None
        fallback = choice.fallback
        choice.chosen = None if fallback == BUILTIN else fallback
        choice.fallback = None
        choice.replaces = None
        return fallback


def remove(name: str) -> InstalledRuntime:
    """Delete runtime ``name``; the one in use is refused (choose another first)."""
    runtime = find(name)
    with changing_choice() as choice:
        if choice.chosen == name:
            raise RuntimeStoreError(f"{name} is the runtime in use; choose another first (`caprl-desktop runtime use "
                                    "builtin`)")
        if choice.fallback == name:
            choice.fallback = None
        if choice.replaces == name:
            choice.replaces = None
        choice.proven = [p for p in choice.proven if p != name]
        choice.failed.pop(name, None)
    _delete(name)
    return runtime


def _delete(name: str) -> None:
    """Remove a runtime's folder: its manifest first, so a removal cut short leaves no half runtime behind."""
    folder = runtimes_dir() / name
    with contextlib.suppress(FileNotFoundError):
        (folder / MANIFEST).unlink()
    shutil.rmtree(folder, ignore_errors=True)
