"""Caption servers as the user names them: an OpenAI-compatible address, and how many captions it takes at once.

``http://gpu-box:8000/v1#8`` is vLLM on another machine taking 8 captions at a time; without ``#N`` the
engine finds the number itself (llama-server says it; for others it is measured from the first replies).
An address never carries credentials: one with a ``user:password@`` part or a query (``?api_key=…``) is
refused, since it would be saved and shown as it is; keys go in an environment variable or the OS keyring
(``keys``). What is shown of an address (in records, logs, the window) drops both all the same.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from caprl_desktop.core.errors import CaprlError

DEFAULT_SLOTS = 4  # an address without #N: a placeholder until the engine has found the number out
MAX_SLOTS = 256


class ServerAddressError(CaprlError):
    """An engine address that cannot be used."""


@dataclass(frozen=True)
class Server:
    url: str  # the API base, ending in /v1 as OpenAI clients expect
    slots: int = DEFAULT_SLOTS
    api_key_env: str | None = None  # the environment variable holding its key, never the key itself
    name: str = ""  # the name it was saved under ("" for an address given as it is)
    api_key_keyring: bool = False  # its key is in the OS keyring, under ``name`` (see ``keys``)
    ca_file: str | None = None  # certificates to trust for its HTTPS besides the system's (a private CA)
    slots_given: bool = True  # False: no #N was given, and the engine finds ``slots`` out
    reply_timeout_s: float | None = None  # the longest a caption waits for its reply; None: from its pace

    @property
    def shown(self) -> str:
        return shown_url(self.url)

    @property
    def label(self) -> str:
        """How the window names it: its saved name, else its address."""
        return self.name or self.shown

    @property
    def at_a_time(self) -> str:
        """For listings: "8 at a time", or "at a time: found out" when no #N was given."""
        return f"{self.slots} at a time" if self.slots_given else "at a time: found out"

    @property
    def key_source(self) -> str:
        """Where its API key comes from, for listings ("" when it has none)."""
        if self.api_key_keyring:
            return "key in the system keyring"
        return f"key from ${self.api_key_env}" if self.api_key_env else ""

    @property
    def local(self) -> bool:
        """On this computer (loopback): images never leave it."""
        host = urlsplit(self.url).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def encrypted(self) -> bool:
        return urlsplit(self.url).scheme == "https"


def plain_http_warning(server: Server) -> str | None:
    """The warning for a server that is another computer reached without encryption, or None."""
    if server.local or server.encrypted:
        return None
    what = "the images, captions and API key" if server.api_key_env or server.api_key_keyring \
        else "the images and captions"
    return (f"{server.shown} is another computer reached without encryption (http): {what} sent to it can be "
            "read on the network on their way")


def check_address(url: str) -> None:
    """Raises ``ServerAddressError`` for an address that carries a user name, password or query: a key put
    there would be written into the saved list in plain text (and a query breaks the API's paths)."""
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query:
        raise ServerAddressError(f"{shown_url(url)}: a server address cannot carry a user name, password or "
                                 "query (?…), which would be kept in plain text; give the API key with "
                                 "--api-key-env VARIABLE or --api-key-keyring (in the window: API key, from an "
                                 "environment variable or kept in the system keyring)")


def parse_server(text: str, api_key_env: str | None = None) -> Server:
    """``URL[#N]`` as given on the command line or in the saved list; raises ``ServerAddressError``.

    An address without a scheme (``127.0.0.1:8801``, as llama-server prints where it listens) is taken as http."""
    address, hash_mark, count = text.strip().partition("#")
    slots = DEFAULT_SLOTS
    if hash_mark:
        if not count.isdigit() or not 1 <= int(count) <= MAX_SLOTS:
            raise ServerAddressError(f"{shown_url(address)}#{count}: after # comes how many captions the server "
                                     f"takes at once, 1 to {MAX_SLOTS}")
        slots = int(count)
    if address and "://" not in address:
        address = "http://" + address  # "127.0.0.1:8801", as servers print where they listen
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerAddressError(f"{shown_url(address) or text!r} is not a server address: give one such as "
                                 "http://127.0.0.1:8080/v1")
    if not _port_readable(address):
        raise ServerAddressError(f"{shown_url(address)}: the port after the colon must be a number, as in "
                                 "http://127.0.0.1:8080/v1")
    check_address(address)
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"  # llama-server, vLLM and LM Studio all serve the API under /v1
    return Server(urlunsplit((parts.scheme, parts.netloc, path, "", "")), slots, api_key_env,
                  slots_given=bool(hash_mark))


def _port_readable(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 (reading it checks it: "gpu-box:80a" has none)
    except ValueError:
        return False
    return True


def shown_url(url: str) -> str:
    """The address without credentials or query: what records, logs and the window may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a number: shown without it
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
