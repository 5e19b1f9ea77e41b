"""What a file-manager integration consists of, as plain data: files to write and registry values to set.

Each platform module turns the launcher command into such a plan; ``apply`` writes it, ``remove`` takes
it away, ``state`` says how much of it is in place.  Plans are data so that tests can read every entry
on any OS, and so that uninstall removes exactly what install wrote.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from caprl_desktop.core.atomic import WriteError, atomic_write_bytes, write_error
from caprl_desktop.core.errors import CaprlError

LABELS = {"en": "Caption with CapRL", "ja": "CapRLでキャプション"}
# The entries open the window with the paths queued; "--" keeps a name such as "-rf.jpg" a path.
GUI_ARGS = ("gui", "--")


def shell_line(launcher: list[str], rest: str) -> str:
    """``launcher gui --`` quoted for sh, then ``rest`` (``"$@"`` or a field code) as it is."""
    return " ".join(shlex.quote(a) for a in [*launcher, *GUI_ARGS]) + " " + rest


def launcher() -> list[str]:
    """The command that starts this installation of the app, as separate arguments.

    Started from a file manager, the working folder is the folder right-clicked: ``python -m`` would put it
    first on ``sys.path``, where a ``json.py`` in it would replace the standard library's. So: the installed
    GUI script when there is one (its own folder comes first), else ``python -P`` (3.11+; ``-I`` before)."""
    if getattr(sys, "frozen", False):  # a PyInstaller build: the windowed executable beside the console one
        exe = Path(sys.executable)
        windowed = exe.with_name("CapRL Desktop" + exe.suffix)
        return [str(windowed if windowed.exists() else exe)]
    python = Path(sys.executable)
    script = python.with_name("caprl-desktop-gui" + (".exe" if os.name == "nt" else ""))
    if script.exists():
        return [str(script)]
    if os.name == "nt" and python.with_name("pythonw.exe").exists():
        python = python.with_name("pythonw.exe")  # no console window behind the app
    return [str(python), "-P" if sys.version_info >= (3, 11) else "-I", "-m", "caprl_desktop"]


@dataclass(frozen=True)
class FileEntry:
    path: Path
    content: bytes
    executable: bool = False


@dataclass(frozen=True)
class RegistryEntry:
    """A value under HKEY_CURRENT_USER; ``name`` "" is the key's default value."""

    key: str
    name: str
    value: str


@dataclass(frozen=True)
class ShortcutEntry:
    """A Windows shortcut (``.lnk``): a binary file that only the shell's own COM object writes faithfully."""

    path: Path
    target: str
    arguments: str
    icon: str
    app_id: str  # the AppUserModelID: the taskbar groups the running window with this entry by it
    description: str


class Shortcuts(Protocol):
    """Writes and reads shortcuts (the shell's ``IShellLink`` on Windows; a dict in tests)."""

    def write(self, entry: ShortcutEntry) -> None: ...

    def read(self, path: Path) -> ShortcutEntry | None: ...


class Registry(Protocol):
    """The few registry calls an integration needs (``winreg`` on Windows; a dict in tests)."""

    def set_value(self, key: str, name: str, value: str) -> None: ...

    def get_value(self, key: str, name: str) -> str | None: ...

    def delete_tree(self, key: str) -> None: ...


@dataclass(frozen=True)
class Plan:
    system: Literal["linux", "windows", "macos"]
    files: tuple[FileEntry, ...] = ()
    registry: tuple[RegistryEntry, ...] = ()
    registry_roots: tuple[str, ...] = ()  # keys removed whole on uninstall
    shortcuts: tuple[ShortcutEntry, ...] = ()
    folders: tuple[Path, ...] = ()  # bundle folders removed whole on uninstall (macOS workflow)
    notes: tuple[str, ...] = field(default=())
    refused: str = ""  # why it must not be installed from here (a sentence), e.g. a macOS app run from a copy


class IntegrationRefused(CaprlError):
    pass


def apply(plan: Plan, registry: Registry | None = None, shortcuts: Shortcuts | None = None) -> None:
    """Write every entry; running it again rewrites the same entries (idempotent).  Raises ``WriteError``, or
    ``IntegrationRefused`` when the plan says it must not be installed from here."""
    if plan.refused:
        raise IntegrationRefused(plan.refused)
    for entry in plan.files:
        try:
            entry.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, entry.path) from exc
        atomic_write_bytes(entry.path, entry.content)
        if entry.executable:
            entry.path.chmod(0o755)
    if plan.registry:
        if registry is None:
            raise WriteError("the Windows registry is not available here")
        for value in plan.registry:
            registry.set_value(value.key, value.name, value.value)
    if plan.shortcuts:
        if shortcuts is None:
            raise WriteError("Windows shortcuts cannot be made here")
        for shortcut in plan.shortcuts:
            try:
                shortcut.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_error(exc, shortcut.path) from exc
            shortcuts.write(shortcut)


def remove(plan: Plan, registry: Registry | None = None) -> list[Path]:
    """Take away everything ``apply`` wrote; returns the files removed."""
    removed = []
    for path in [entry.path for entry in plan.files] + [shortcut.path for shortcut in plan.shortcuts]:
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise write_error(exc, path) from exc
    for folder in plan.folders:
        _remove_empty_dirs(folder)
    if registry is not None:
        for key in plan.registry_roots:
            registry.delete_tree(key)
    return removed


def _remove_empty_dirs(folder: Path) -> None:
    if not folder.is_dir():
        return
    for child in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child.is_dir():
            with contextlib.suppress(OSError):  # not empty: something not ours is in it
                child.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def state(plan: Plan, registry: Registry | None = None, shortcuts: Shortcuts | None = None
          ) -> Literal["installed", "partly", "not installed"]:
    present = [e.path.is_file() and e.path.read_bytes() == e.content for e in plan.files]
    if registry is not None:
        present += [registry.get_value(v.key, v.name) == v.value for v in plan.registry]
    if shortcuts is not None:
        present += [s.path.is_file() and shortcuts.read(s.path) == s for s in plan.shortcuts]
    if present and all(present):
        return "installed"
    return "partly" if any(present) else "not installed"
