"""The sha256 of a model file, computed once: what the model store recorded at install, else a cache.

Hashing a 2 GB quant takes seconds, so it is never done per run. A downloaded file's checksum is in the
store's manifest (verified against the hub's). A file given by path (``--model FILE``) or added from disk
is hashed at first use, and the result kept in ``checksums.json`` in the data folder, keyed by its resolved
path with its size and modification time: a file replaced or rewritten in place is hashed again.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.store import InstalledFile, ModelStore

CACHE_NAME = "checksums.json"


def cache_path() -> Path:
    return paths.data_dir() / CACHE_NAME


def file_sha256(path: Path, store: ModelStore | None = None) -> str:
    """The sha256 of ``path`` (hex), from the store or the cache when they know this very file."""
    resolved = path.resolve()
    stat = resolved.stat()
    installed = installed_entry(resolved, store)
    if installed is not None and installed.sha256 and installed.size == stat.st_size:
        return installed.sha256
    key = str(resolved)
    cache = _read_cache()
    entry = cache.get(key)
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns \
            and isinstance(entry.get("sha256"), str):
        return str(entry["sha256"])
    from caprl_desktop.core.models import downloads  # (the hub's client with it: not at the window's start)

    digest = downloads.sha256_of(resolved)
    cache[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    # Two processes writing at once may lose one entry: it is then hashed again next time, nothing worse.
    with contextlib.suppress(CaprlError, OSError):
        cache_path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache_path(), json.dumps(cache, ensure_ascii=False, indent=1))
    return digest


def installed_entry(path: Path, store: ModelStore | None = None) -> InstalledFile | None:
    """The store's record of the file at ``path``, if it is an installed one."""
    resolved = path.resolve()
    try:
        store = store or ModelStore()
        return next((f for f in store.files() if store.path_of(f).resolve() == resolved), None)
    except (CaprlError, OSError):  # a store that cannot be read: the cache still works
        return None


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: it is only a cache
    return data if isinstance(data, dict) else {}
