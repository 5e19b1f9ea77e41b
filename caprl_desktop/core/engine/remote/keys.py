"""Caption servers' API keys: from the environment variable a server names, or from the OS keyring.

The app never writes a key into a file of its own (settings, the saved servers, the journal, exports, logs):
the saved list holds the variable's name, or says that the key is in the keyring under the server's name.
The keyring is the system's (Windows Credential Manager, the macOS Keychain, the Secret Service on Linux) via
the ``keyring`` library; where a system has none (a Linux without a Secret Service), the error says so and an
environment variable is the way. ``keyring`` is imported on first use: most runs never need it.
"""

from __future__ import annotations

import contextlib
import os

from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.errors import CaprlError

SERVICE = "CapRL Desktop"  # the keyring entry's service; its user name is the server's saved name


class KeyStoreError(CaprlError):
    """A key that cannot be read or kept."""


def api_key(server: Server) -> str:
    """The key to send to ``server`` ("" when it needs none); raises ``KeyStoreError`` when it cannot be found."""
    if server.api_key_keyring:
        import keyring

        try:
            key = keyring.get_password(SERVICE, server.name)
        except Exception as exc:  # each keyring backend fails in its own way; all mean "no key"
            raise KeyStoreError(f"the API key of {server.label} could not be read from the system keyring: "
                                f"{exc}") from exc
        if not key:
            raise KeyStoreError(f"the system keyring holds no API key for {server.label}: add the server again "
                                "with its key")
        return key
    if server.api_key_env:
        key = os.environ.get(server.api_key_env, "")
        if not key:
            raise KeyStoreError(f"the API key of {server.label} is read from ${server.api_key_env}, which is not "
                                "set")
        return key
    return ""


def store(name: str, key: str) -> None:
    """Keep ``key`` in the OS keyring for the server saved as ``name``."""
    import keyring

    try:
        keyring.set_password(SERVICE, name, key)
    except Exception as exc:  # see ``api_key``
        raise KeyStoreError(f"the system keyring cannot keep the key ({exc}); put it in an environment variable "
                            "and name that instead") from exc


def forget(name: str) -> None:
    """Remove the key kept for ``name``, if there is one (removing a server removes its key)."""
    import keyring

    with contextlib.suppress(Exception):  # none kept, or no keyring: nothing to remove either way
        keyring.delete_password(SERVICE, name)
