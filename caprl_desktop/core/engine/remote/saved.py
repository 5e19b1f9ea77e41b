"""The caption servers the user saved by name (``caprl-desktop engines add gpu http://gpu-box:8000/v1#32``).

Kept in ``engines.json`` in the config folder: name, address, captions at a time, and the *name* of the
environment variable that holds the server's API key. The key itself is never written anywhere by the app
(not here, not in the journal, exports or logs): it is read from that variable when a run starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text
from caprl_desktop.core.engine.remote.servers import Server, ServerAddressError, parse_server

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def saved_file() -> Path:
    return paths.config_dir() / "engines.json"


def load() -> dict[str, Server]:
    """The saved servers by name; a missing or unreadable file is an empty list (said by ``problem``)."""
    try:
        data = json.loads(saved_file().read_text(encoding="utf-8"))
        entries = data["engines"]
        return {e["name"]: Server(e["url"], int(e["slots"]), e.get("api_key_env")) for e in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _save(servers: dict[str, Server]) -> None:
    entries = [{"name": name, "url": s.url, "slots": s.slots, "api_key_env": s.api_key_env}
               for name, s in sorted(servers.items())]
    saved_file().parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved_file(), json.dumps({"engines": entries}, indent=1) + "\n")


def add(name: str, address: str, api_key_env: str | None = None) -> Server:
    """Save (or replace) a server; raises ``ServerAddressError`` for a bad name, address or variable name."""
    if not _NAME.match(name) or "://" in name:
        raise ServerAddressError(f"{name!r} cannot name a server: use letters, digits, '.', '_' or '-'")
    if api_key_env is not None and not _ENV.match(api_key_env):
        raise ServerAddressError(f"{api_key_env!r} is not an environment variable's name (give the variable that "
                                 "holds the key, not the key)")
    server = parse_server(address, api_key_env)
    servers = load()
    servers[name] = server
    _save(servers)
    return server


def remove(name: str) -> bool:
    servers = load()
    if servers.pop(name, None) is None:
        return False
    _save(servers)
    return True


def resolve(given: str) -> Server:
    """A saved server's name, or an address (``URL[#N]``)."""
    saved = load()
    name, _, count = given.partition("#")
    if name in saved:
        server = saved[name]
        return parse_server(f"{server.url}#{count}", server.api_key_env) if count else server
    if "://" not in given:
        known = ", ".join(sorted(saved)) or "none saved"
        raise ServerAddressError(f"no saved server is called {given!r} ({known}); give its address, e.g. "
                                 "http://127.0.0.1:8080/v1")
    return parse_server(given)
