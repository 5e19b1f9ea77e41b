"""A keyring that lives in the test's memory: tests never reach the developer's own keyring.

``keyring`` picks the system's keyring (Secret Service, Keychain, Credential Manager) on first use; the root
conftest sets this one for every test instead, so a test that keeps a key keeps it here, and can read what
was kept (``passwords``) to check that removing a server removes its key.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # (set by the tests, never chosen by the library)

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no password for {username} in {service}")
