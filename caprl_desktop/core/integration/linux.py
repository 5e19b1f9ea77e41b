"""Linux: a desktop entry for the app ("Open with"), a Nautilus script, a Dolphin service menu, a Nemo action.

All per user under ``$XDG_DATA_HOME`` (``~/.local/share``).  Paths reach the app as separate arguments:
the desktop entries use the file manager's ``%F`` (each file one argument, no shell), and the Nautilus
script passes ``"$@"`` on, so no name is ever read as shell text.  Thunar is left out on purpose: its
actions share one ``uca.xml`` that Thunar rewrites while it runs, so an edit from outside can be lost.
"""

from __future__ import annotations

import os
from pathlib import Path

from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS, IMAGE_MIME_TYPES
from caprl_desktop.core.integration.plan import (
    GUI_ARGS,
    LABELS,
    FileEntry,
    Plan,
    shell_line,
)

APP_ID = "caprl-desktop"
# The Desktop Entry spec's reserved characters: an argument holding one must be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME")
    return Path(value) if value and Path(value).is_absolute() else Path.home() / ".local" / "share"


def exec_value(arguments: list[str]) -> str:
    """A desktop entry ``Exec`` value running ``arguments`` exactly (quoting, then the file's own escaping)."""
    quoted = []
    for arg in arguments:
        if arg.startswith("%") and len(arg) == 2:  # a field code such as %F, for the file manager
            quoted.append(arg)
            continue
        arg = arg.replace("%", "%%")
        if any(ch in _RESERVED for ch in arg) or not arg:
            arg = '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'
        quoted.append(arg)
    # Exec is a string value: its backslashes are escaped once more in the file.
    return " ".join(quoted).replace("\\", "\\\\")


def _desktop_file(groups: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    lines = []
    for name, keys in groups:
        lines.append(f"[{name}]")
        lines.extend(f"{key}={value}" for key, value in keys)
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def plan(launcher: list[str], language: str, icon: Path | None) -> Plan:
    home = data_home()
    command = exec_value([*launcher, *GUI_ARGS, "%F"])
    mime = ";".join((*IMAGE_MIME_TYPES, "inode/directory")) + ";"
    icon_keys = [("Icon", APP_ID)] if icon is not None else []
    files: list[FileEntry] = []
    if icon is not None:
        files.append(FileEntry(home / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png", icon.read_bytes()))

    files.append(FileEntry(home / "applications" / f"{APP_ID}.desktop", _desktop_file([("Desktop Entry", [
        ("Type", "Application"),
        ("Version", "1.4"),
        ("Name", "CapRL Desktop"),
        ("GenericName", "Image Captioner"),
        ("GenericName[ja]", "画像キャプション"),
        ("Comment", "Caption images offline with CapRL, in Japanese or English"),
        ("Comment[ja]", "CapRLで画像に日本語・英語のキャプションを付けます（オフライン）"),
        ("Exec", command),
        *icon_keys,
        ("Terminal", "false"),
        ("Categories", "Graphics;Viewer;"),
        ("MimeType", mime),
        ("StartupNotify", "true"),
    ])])))

    files.append(FileEntry(home / "kio" / "servicemenus" / f"{APP_ID}-caption.desktop", _desktop_file([
        ("Desktop Entry", [
            ("Type", "Service"),
            ("Name", LABELS["en"]),
            ("MimeType", mime),
            ("Actions", "captionWithCapRL;"),
            ("X-KDE-Priority", "TopLevel"),
        ]),
        ("Desktop Action captionWithCapRL", [
            ("Name", LABELS["en"]),
            ("Name[ja]", LABELS["ja"]),
            *icon_keys,
            ("Exec", command),
        ]),
    ]), executable=True))  # Plasma 6 runs only service menus marked executable

    script = "\n".join([
        "#!/bin/sh",
        "# Installed by `caprl-desktop integrate install`; removed by `caprl-desktop integrate uninstall`.",
        "# The selected names arrive as arguments and are passed on as arguments: never read as shell text.",
        '[ "$#" -gt 0 ] || set -- "$PWD"',
        "exec " + shell_line(launcher, '"$@"'),
        "",
    ])
    files.append(FileEntry(home / "nautilus" / "scripts" / LABELS.get(language, LABELS["en"]), script.encode(),
                           executable=True))

    extensions = ";".join(["dir", *(e.lstrip(".") for e in IMAGE_EXTENSIONS)]) + ";"
    files.append(FileEntry(home / "nemo" / "actions" / f"{APP_ID}-caption.nemo_action", _desktop_file([
        ("Nemo Action", [
            ("Name", LABELS.get(language, LABELS["en"])),
            ("Comment", LABELS.get(language, LABELS["en"])),
            ("Exec", shell_line(launcher, "%F")),
            ("Selection", "any"),
            ("Extensions", extensions),
        ]),
    ])))
    return Plan("linux", tuple(files), notes=(
        "Nautilus: right-click → Scripts → " + LABELS.get(language, LABELS["en"]),
        "Dolphin and Nemo: right-click → " + LABELS.get(language, LABELS["en"]),
        "Any file manager: right-click → Open With → CapRL Desktop",
    ))
