"""File-manager integration: "Caption with CapRL" on folders, folder backgrounds and images, per user.

``current_plan()`` builds the plan for this OS (or the one named, to inspect it elsewhere);
``install``/``uninstall``/``status`` apply it.  See the platform modules for what each writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from caprl_desktop import __version__
from caprl_desktop.core.integration import linux, macos, windows
from caprl_desktop.core.integration.plan import Plan, Registry, Shortcuts, apply, launcher, remove, state
from caprl_desktop.core.prompts import default_language

System = Literal["linux", "windows", "macos"]
ICONS = Path(__file__).resolve().parent.parent / "data" / "icons"


def this_system() -> System:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def current_plan(system: System | None = None, language: str | None = None,
                 command: list[str] | None = None) -> Plan:
    system = system or this_system()
    language = language or default_language()
    command = command or launcher()
    png = ICONS / "caprl-desktop-256.png"
    if system == "windows":
        ico = ICONS / "caprl-desktop.ico"
        return windows.plan(command, language, str(ico) if ico.exists() else None)
    if system == "macos":
        icns = ICONS / "caprl-desktop.icns"
        return macos.plan(command, language, __version__, icns if icns.exists() else None)
    return linux.plan(command, language, png if png.exists() else None)


def system_registry() -> Registry | None:
    if sys.platform == "win32":
        return windows.WinRegistry()
    return None


def system_shortcuts() -> Shortcuts | None:
    if sys.platform == "win32":
        return windows.WinShortcuts()
    return None


def install(plan: Plan, registry: Registry | None = None, shortcuts: Shortcuts | None = None) -> None:
    apply(plan, registry if registry is not None else system_registry(),
          shortcuts if shortcuts is not None else system_shortcuts())


def uninstall(plan: Plan, registry: Registry | None = None) -> list[Path]:
    return remove(plan, registry if registry is not None else system_registry())


def status(plan: Plan, registry: Registry | None = None, shortcuts: Shortcuts | None = None) -> str:
    return state(plan, registry if registry is not None else system_registry(),
                 shortcuts if shortcuts is not None else system_shortcuts())


__all__ = ["Plan", "Registry", "Shortcuts", "current_plan", "install", "status", "this_system", "uninstall"]
