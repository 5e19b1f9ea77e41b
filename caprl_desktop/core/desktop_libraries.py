"""Whether this Linux desktop has the system libraries Qt's X11 platform plugin needs, checked before Qt starts.

Without ``libxcb-cursor0`` (Qt 6.5 and later) or, on minimal installs, a few other xcb libraries, Qt prints
"could not load the Qt platform plugin xcb" and aborts the process. The window checks first and says which
libraries are missing and the command that installs them. Wayland sessions and other platforms need none of
this. Qt-free: it only asks the dynamic loader for each library by its soname.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Library:
    soname: str
    debian: str  # Debian / Ubuntu package
    fedora: str  # Fedora / RHEL package


# What Qt 6's libqxcb.so and libQt6XcbQpa.so link (read with ldd from the PySide6 wheel), less the libraries any
# X11 desktop has; the first rows are the ones minimal installs lack.
XCB_LIBRARIES = (
    Library("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    Library("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    Library("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    Library("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    Library("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    Library("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    Library("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    Library("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    Library("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    Library("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    Library("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    Library("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    Library("libEGL.so.1", "libegl1", "libglvnd-egl"),
    Library("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    Library("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will start its X11 (xcb) platform plugin here."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform) != "linux":
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen == "xcb"
    return not env.get("WAYLAND_DISPLAY") and bool(env.get("DISPLAY"))


def missing_xcb_libraries(loads: Callable[[str], bool] | None = None) -> list[Library]:
    check = loads or _loads
    return [library for library in XCB_LIBRARIES if not check(library.soname)]


def explain_missing(missing: list[Library]) -> str:
    names = ", ".join(library.soname for library in missing)
    debian = " ".join(dict.fromkeys(library.debian for library in missing))
    fedora = " ".join(dict.fromkeys(library.fedora for library in missing))
    return (f"the window needs system libraries that are missing: {names}.\n"
            f"  Debian / Ubuntu: sudo apt install {debian}\n"
            f"  Fedora:          sudo dnf install {fedora}\n"
            "The commands (caprl-desktop caption, models, jobs) work without them.")
