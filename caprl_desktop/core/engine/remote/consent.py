"""The warning about a server reached without encryption comes once per server, before its first image.

The servers whose warning the user has seen (the command line printed it, or the window asked and the user
agreed) are kept by address in ``warned_servers.json`` in the config folder, so later runs do not repeat it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text
from caprl_desktop.core.engine.remote.servers import Server, plain_http_warning


def warned_file() -> Path:
    return paths.config_dir() / "warned_servers.json"


def _warned() -> set[str]:
    try:
        data = json.loads(warned_file().read_text(encoding="utf-8"))
        return {str(shown) for shown in data["warned"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def unwarned(servers: Iterable[Server]) -> list[tuple[Server, str]]:
    """The servers that need the warning and have not had it yet, each with its warning."""
    warned = _warned()
    return [(server, warning) for server in servers
            if (warning := plain_http_warning(server)) is not None and server.shown not in warned]


def remember(servers: Iterable[Server]) -> None:
    """The user has had these servers' warnings: not again."""
    warned = _warned() | {server.shown for server in servers}
    warned_file().parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(warned_file(), json.dumps({"warned": sorted(warned)}, indent=1) + "\n")
