"""Windows: per-user Explorer verbs under ``HKCU\\Software\\Classes`` (no administrator rights needed).

"Caption with CapRL" on folders (``Directory\\shell``), on a folder's empty background
(``Directory\\Background\\shell``, which passes ``%V``) and on image files (``SystemFileAssociations``,
which works whatever program opens the type).  Explorer starts the command with the path as one
quoted argument; a selection of several items starts it once per item, and the single-instance
hand-off gathers them in one window.  Windows 11 lists such classic verbs under "Show more options".
"""

from __future__ import annotations

import subprocess
import sys

from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS
from caprl_desktop.core.integration.plan import GUI_ARGS, LABELS, Plan, RegistryEntry

VERB = "CapRLDesktop.Caption"
CLASSES = "Software\\Classes"


def command_line(launcher: list[str], placeholder: str) -> str:
    r"""The verb's command: the launcher, quoted the way the C runtime splits a command line, then Explorer's
    placeholder quoted so that a path with spaces stays one argument.

    ``%V`` (a folder's background) can be a drive root, ``E:\``: quoted as ``"%V"`` that ends in ``"``, which
    the C runtime reads as a literal quote, so the app would get ``E:"``. ``"%V\."`` names the same folder
    (``E:\.``, ``C:\Photos\.``) and never ends in a backslash before the quote; paths drop the ``.``."""
    quoted = f'"{placeholder}\\."' if placeholder == "%V" else f'"{placeholder}"'
    return subprocess.list2cmdline([*launcher, *GUI_ARGS]) + " " + quoted


def verb_keys() -> list[str]:
    keys = [f"{CLASSES}\\Directory\\shell\\{VERB}", f"{CLASSES}\\Directory\\Background\\shell\\{VERB}"]
    keys += [f"{CLASSES}\\SystemFileAssociations\\{ext}\\shell\\{VERB}" for ext in IMAGE_EXTENSIONS]
    return keys


def plan(launcher: list[str], language: str, icon: str | None) -> Plan:
    label = LABELS.get(language, LABELS["en"])
    entries: list[RegistryEntry] = []
    for key in verb_keys():
        placeholder = "%V" if "\\Background\\" in key else "%1"
        entries.append(RegistryEntry(key, "MUIVerb", label))
        # Explorer hides a verb when more than 15 items are selected, unless it takes them as one "player".
        entries.append(RegistryEntry(key, "MultiSelectModel", "Player"))
        entries.append(RegistryEntry(key, "Icon", icon or launcher[0]))
        entries.append(RegistryEntry(key + "\\command", "", command_line(launcher, placeholder)))
    return Plan("windows", registry=tuple(entries), registry_roots=tuple(verb_keys()), notes=(
        f'Explorer: right-click a folder, its background or an image → "{label}"',
        'Windows 11 shows it under "Show more options" (Shift+F10), as it does every classic entry',
    ))


if sys.platform == "win32":  # the class exists where winreg does
    import winreg

    class WinRegistry:
        """``winreg`` under HKEY_CURRENT_USER (Windows only)."""

        def set_value(self, key: str, name: str, value: str) -> None:
            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

        def get_value(self, key: str, name: str) -> str | None:
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                    value, _ = winreg.QueryValueEx(handle, name)
            except OSError:
                return None
            return str(value)

        def delete_tree(self, key: str) -> None:
            """Remove ``key`` with its subkeys (winreg deletes only keys without subkeys)."""
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                    subkeys: list[str] = []
                    while True:
                        try:
                            subkeys.append(winreg.EnumKey(handle, len(subkeys)))
                        except OSError:
                            break
                for subkey in subkeys:
                    self.delete_tree(f"{key}\\{subkey}")
                winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
            except FileNotFoundError:
                pass
