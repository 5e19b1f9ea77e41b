r"""Windows paths past MAX_PATH: the ``\\?\`` form for the file calls that read and write images and captions.

Windows refuses a path of 260 characters or more (248 for a folder to create) unless the machine has long
paths switched on in the registry *and* the program's manifest says it is aware of them; neither can be
counted on. A deep photo archive, or a caption folder that repeats a long relative path, passes that
easily. The ``\\?\`` prefix lifts the limit for any program, but the path must then be absolute and
normalised (no ``..``, no ``/``), since Windows no longer does it. Only the calls get this form: the
paths the app shows, journals and exports stay as the user wrote them.

Written with ``ntpath`` so that the Windows rules run (and are tested) on any OS.
"""

from __future__ import annotations

import ntpath
import os
from pathlib import Path

# CreateDirectoryW's limit (MAX_PATH less room for an 8.3 name); files may go to 259, but one threshold is simpler.
LIMIT = 248
_PREFIXES = ("\\\\?\\", "\\\\.\\")


def extended(path: str, *, windows: bool | None = None) -> str:
    r"""``path`` as Windows file calls accept it at any length: unchanged when short, off Windows, or already
    in the device form; else ``\\?\C:\...`` or, for a share, ``\\?\UNC\server\share\...``."""
    if not (os.name == "nt" if windows is None else windows) or path.startswith(_PREFIXES):
        return path
    full = ntpath.normpath(ntpath.abspath(path))
    if len(full) < LIMIT:
        return path
    if full.startswith("\\\\"):
        return "\\\\?\\UNC\\" + full[2:]
    return "\\\\?\\" + full


def for_os(path: Path) -> Path:
    """``path`` for an ``open``/``mkdir``/``replace`` call on this OS (see ``extended``)."""
    long = extended(str(path))
    return path if long == str(path) else Path(long)
