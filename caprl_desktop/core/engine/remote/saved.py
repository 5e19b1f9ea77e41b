"""The caption servers the user saved by name (``caprl-desktop engines add gpu http://gpu-box:8000/v1#32``).

Kept in ``engines.json`` in the config folder: name, address, captions at a time, certificates to trust for
its HTTPS, and where its API key is: the *name* of the environment variable that holds it, or the OS keyring
(``keys``). The key itself is never written into the app's files (not here, not in the journal, exports or
logs): it is read when a run starts. The file is the user's alone all the same (0600): it says which servers
they use and how.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from pathlib import Path

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text, write_error
from caprl_desktop.core.engine.remote import keys
from caprl_desktop.core.engine.remote.servers import Server, ServerAddressError, parse_server

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_REPLY_TIMEOUT_S = 3600.0


def saved_file() -> Path:
    return paths.config_dir() / "engines.json"


def load() -> dict[str, Server]:
    """The saved servers by name; a missing or unreadable file is an empty list (said by ``problem``)."""
    try:
        data = json.loads(saved_file().read_text(encoding="utf-8"))
        entries = data["engines"]
        return {e["name"]: Server(e["url"], int(e["slots"]), e.get("api_key_env"), name=e["name"],
                                  api_key_keyring=bool(e.get("api_key_keyring")), ca_file=e.get("ca_file"),
                                  slots_given=bool(e.get("slots_given", True)),
                                  reply_timeout_s=_seconds(e.get("reply_timeout_s")))
                for e in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _save(servers: dict[str, Server]) -> None:
    entries = [{"name": name, "url": s.url, "slots": s.slots, "api_key_env": s.api_key_env,
                "api_key_keyring": s.api_key_keyring, "ca_file": s.ca_file, "slots_given": s.slots_given,
                "reply_timeout_s": s.reply_timeout_s}
               for name, s in sorted(servers.items())]
    file = saved_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    _owner_only(file)
    atomic_write_text(file, json.dumps({"engines": entries}, indent=1) + "\n")


def _owner_only(file: Path) -> None:
    """Make ``file`` (created empty if missing) 0600 before it is replaced: the replacement takes the mode of
    the file it replaces before a byte is written, so the list is never readable by others, not even briefly."""
    try:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        file.chmod(0o600)
    except OSError as exc:
        raise write_error(exc, file) from exc


def add(name: str, address: str, api_key_env: str | None = None, *, keyring_key: str | None = None,
        ca_file: str | Path | None = None, reply_timeout_s: float | None = None) -> Server:
    """Save (or replace) a server; raises ``ServerAddressError`` for a bad name, address, variable name,
    certificate file or time-out, ``keys.KeyStoreError`` when ``keyring_key`` cannot be kept in the OS keyring.
    ``reply_timeout_s``: how long a caption waits for its reply there (None: it follows the server's pace)."""
    if not _NAME.match(name) or "://" in name:
        raise ServerAddressError(f"{name!r} cannot name a server: use letters, digits, '.', '_' or '-'")
    if api_key_env is not None and not _ENV.match(api_key_env):
        # Not the text itself in the message: it may be the key, given where the variable's name belongs.
        raise ServerAddressError("that is not an environment variable's name (letters, digits and _): give the "
                                 "variable that holds the key, not the key")
    if api_key_env is not None and keyring_key is not None:
        raise ServerAddressError("give the key either in an environment variable or to the keyring, not both")
    ca = None
    if ca_file is not None:
        ca_path = Path(ca_file).expanduser().absolute()
        if not ca_path.is_file():
            raise ServerAddressError(f"{ca_path} is not a file of certificates (PEM)")
        ca = str(ca_path)
    if reply_timeout_s is not None and not 0 < reply_timeout_s <= MAX_REPLY_TIMEOUT_S:
        raise ServerAddressError(f"a reply time-out is more than 0 and at most {MAX_REPLY_TIMEOUT_S:.0f} seconds")
    parsed = parse_server(address, api_key_env)
    server = Server(parsed.url, parsed.slots, api_key_env, name=name, api_key_keyring=keyring_key is not None,
                    ca_file=ca, slots_given=parsed.slots_given, reply_timeout_s=reply_timeout_s)
    if keyring_key is not None:
        keys.store(name, keyring_key)
    servers = load()
    old = servers.get(name)
    servers[name] = server
    _save(servers)
    if old is not None and old.api_key_keyring and not server.api_key_keyring:
        keys.forget(name)  # replaced by a server whose key is elsewhere: the old key is not left behind
    return server


def remove(name: str) -> bool:
    servers = load()
    server = servers.pop(name, None)
    if server is None:
        return False
    _save(servers)
    if server.api_key_keyring:
        keys.forget(name)
    return True


def resolve(given: str) -> Server:
    """A saved server's name, or an address (``URL[#N]``)."""
    saved = load()
    name, _, count = given.partition("#")
    if name in saved:
        server = saved[name]
        if count:
            return dataclasses.replace(server, slots=parse_server(f"{server.url}#{count}").slots, slots_given=True)
        return server
    if "://" not in given:
        known = ", ".join(sorted(saved)) or "none saved"
        raise ServerAddressError(f"no saved server is called {given!r} ({known}); give its address, e.g. "
                                 "http://127.0.0.1:8080/v1")
    return parse_server(given)
