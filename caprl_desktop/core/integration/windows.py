"""Windows: per-user Explorer verbs under ``HKCU\\Software\\Classes`` (no administrator rights needed).

"Caption with CapRL" on folders (``Directory\\shell``), on a folder's empty background
(``Directory\\Background\\shell``, which passes ``%V``) and on image files (``SystemFileAssociations``,
which works whatever program opens the type).  Explorer starts the command with the path as one
quoted argument; a selection of several items starts it once per item, and the single-instance
hand-off gathers them in one window.  Windows 11 lists such classic verbs under "Show more options".

A Start-menu entry, ``CapRL Desktop.lnk`` in the user's Programs folder, carries the AppUserModelID the
window sets for itself (``APP_ID``), so a pinned taskbar icon and the running window are one button.  A
``.lnk`` is written by the shell's own ``IShellLink`` (through pywin32), the one writer Explorer reads
back faithfully; the property store on it holds the ID.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS
from caprl_desktop.core.integration.plan import GUI_ARGS, LABELS, Plan, RegistryEntry, ShortcutEntry

VERB = "CapRLDesktop.Caption"
CLASSES = "Software\\Classes"
APP_ID = "CapRLDesktop.CapRLDesktop"  # Company.Product, as Windows asks; the window sets the same one
APP_NAME = "CapRL Desktop"
DESCRIPTIONS = {"en": "Caption images with CapRL, on this computer",
                "ja": "CapRLで画像のキャプションをこのコンピューター上で作成"}


def programs_dir() -> Path:
    """The user's Start-menu Programs folder (no administrator rights needed)."""
    roaming = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    return Path(roaming) / "Microsoft" / "Windows" / "Start Menu" / "Programs"


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
    shortcut = ShortcutEntry(programs_dir() / f"{APP_NAME}.lnk", target=launcher[0],
                             arguments=subprocess.list2cmdline([*launcher[1:], "gui"]), icon=icon or launcher[0],
                             app_id=APP_ID, description=DESCRIPTIONS.get(language, DESCRIPTIONS["en"]))
    return Plan("windows", registry=tuple(entries), registry_roots=tuple(verb_keys()), shortcuts=(shortcut,), notes=(
        f'Start menu: "{APP_NAME}"',
        f'Explorer: right-click a folder, its background or an image → "{label}"',
        'Windows 11 shows it under "Show more options" (Shift+F10), as it does every classic entry',
    ))


if sys.platform == "win32":  # the classes exist where winreg and pywin32 do
    import winreg

    # pywin32 (a Windows-only dependency): the shell's own shortcut writer.
    import pythoncom
    from win32com.propsys import propsys, pscon
    from win32com.shell import shell

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

    class WinShortcuts:
        """``.lnk`` files through the shell's ``IShellLink`` and its property store (Windows only)."""

        @staticmethod
        def _link() -> Any:
            return pythoncom.CoCreateInstance(shell.CLSID_ShellLink, None, pythoncom.CLSCTX_INPROC_SERVER,
                                              shell.IID_IShellLink)

        def write(self, entry: ShortcutEntry) -> None:
            link = self._link()
            link.SetPath(entry.target)
            link.SetArguments(entry.arguments)
            link.SetIconLocation(entry.icon, 0)
            link.SetDescription(entry.description)
            store = link.QueryInterface(propsys.IID_IPropertyStore)
            store.SetValue(pscon.PKEY_AppUserModel_ID, propsys.PROPVARIANTType(entry.app_id, pythoncom.VT_LPWSTR))
            store.Commit()
            link.QueryInterface(pythoncom.IID_IPersistFile).Save(str(entry.path), 0)

        def read(self, path: Path) -> ShortcutEntry | None:
            link = self._link()
            try:
                link.QueryInterface(pythoncom.IID_IPersistFile).Load(str(path))
            except pythoncom.com_error:
                return None
            store = link.QueryInterface(propsys.IID_IPropertyStore)
            app_id = store.GetValue(pscon.PKEY_AppUserModel_ID).GetValue()
            return ShortcutEntry(path, target=link.GetPath(shell.SLGP_RAWPATH)[0], arguments=link.GetArguments(),
                                 icon=link.GetIconLocation()[0], app_id=str(app_id or ""),
                                 description=link.GetDescription())
