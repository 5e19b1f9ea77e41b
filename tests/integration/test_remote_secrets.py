"""Servers' keys and certificates: a key kept in the OS keyring, HTTPS verified against a private CA, and the
warning about an unencrypted server said once.

The keyring is the test's own (``MemoryKeyring``, set for every test by the root conftest); the HTTPS server is
the stand-in with a certificate from a certificate authority ``trustme`` makes for the test.
"""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from keyring.backends import fail

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.remote import consent, keys, saved
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.servers import parse_server
from caprl_desktop.core.errors import EngineError
from tests.support.images import save_noise
from tests.support.keyrings import MemoryKeyring
from tests.support.servers import StandInServer

SECRET = "sk-caprl-keyring-4e8b2a61d09c"


@pytest.fixture
def stand_in() -> Iterator[StandInServer]:
    server = StandInServer("keyed-model").start()
    yield server
    server.stop()


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_stand_in(authority: trustme.CA) -> Iterator[StandInServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    server = StandInServer("tls-model", tls=context).start()
    yield server
    server.stop()


def photos(folder: Path, count: int = 2) -> Path:
    for i in range(count):
        save_noise(folder / f"p{i}.png", 120, 90, seed=i)
    return folder


def test_a_key_kept_in_the_keyring_reaches_the_server_and_no_file_of_the_app(
    stand_in: StandInServer, memory_keyring: MemoryKeyring, tmp_path: Path, isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))  # not a terminal: the key is read from stdin
    assert main(["engines", "add", "box", stand_in.url + "#2", "--api-key-keyring"]) == 0
    assert "key in the system keyring" in capsys.readouterr().err
    assert memory_keyring.passwords == {(keys.SERVICE, "box"): SECRET}
    folder = photos(tmp_path / "photos")
    out = tmp_path / "out.jsonl"
    assert main(["caption", str(folder), "--engine", "box", "--jsonl", str(out), "--max-tokens", "8"]) == 0
    assert stand_in.script.authorization == [f"Bearer {SECRET}"] * 2
    written = [p for root in (isolated_home, folder, tmp_path) for p in root.rglob("*") if p.is_file()]
    assert {"engines.json", "jobs.sqlite3", "out.jsonl", "p0.txt"} <= {p.name for p in written}
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []
    assert main(["engines", "remove", "box"]) == 0
    assert memory_keyring.passwords == {}  # the key goes with the server


def test_a_key_missing_from_the_keyring_or_its_variable_is_said_before_anything_is_sent(
    stand_in: StandInServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["engines", "add", "box", stand_in.url, "--api-key-keyring"]) == 0
    memory_keyring.passwords.clear()  # removed from the keyring by hand since
    folder = photos(tmp_path / "photos", 1)
    assert main(["caption", str(folder), "--engine", "box"]) != 0
    assert "the system keyring holds no API key for box" in capsys.readouterr().err
    monkeypatch.delenv("CAPRL_UNSET_KEY", raising=False)
    assert main(["engines", "add", "env-box", stand_in.url, "--api-key-env", "CAPRL_UNSET_KEY"]) == 0
    assert main(["caption", str(folder), "--engine", "env-box"]) != 0
    assert "$CAPRL_UNSET_KEY, which is not set" in capsys.readouterr().err
    assert stand_in.script.requests == 0 and stand_in.script.authorization == []


def test_without_a_system_keyring_adding_a_key_fails_clearly_and_saves_nothing(
    stand_in: StandInServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keyring

    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]  # a Linux without a Secret Service
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["engines", "add", "box", stand_in.url, "--api-key-keyring"]) != 0
    assert "the system keyring cannot keep the key" in capsys.readouterr().err
    assert saved.load() == {}


def test_https_is_verified_and_a_private_authority_can_be_trusted(
    https_stand_in: StandInServer, authority: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RemoteEngine([parse_server(https_stand_in.url)]) as engine, \
            pytest.raises(EngineError, match="its HTTPS certificate is not one this computer trusts"):
        engine.start()  # its certificate is not from a known authority
    assert https_stand_in.script.requests == 0
    ca_file = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    assert main(["engines", "add", "tls", https_stand_in.url + "#2", "--ca-file", str(ca_file)]) == 0
    folder = photos(tmp_path / "photos")
    assert main(["caption", str(folder), "--engine", "tls", "--max-tokens", "8"]) == 0
    assert (folder / "p0.txt").read_text(encoding="utf-8").strip() == "A stand-in caption."
    assert https_stand_in.script.requests == 2
    other = trustme.CA()  # a file of another authority's certificates is no key to this server
    other.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    assert main(["engines", "add", "wrong", https_stand_in.url, "--ca-file", str(tmp_path / "other-ca.pem")]) == 0
    assert main(["caption", str(folder), "--engine", "wrong", "--overwrite"]) != 0
    assert "its HTTPS certificate is not one this computer trusts" in capsys.readouterr().err


def test_the_unencrypted_warning_is_given_once_per_server_and_remembered() -> None:
    lan, other = parse_server("http://gpu-box:8000/v1"), parse_server("http://10.0.0.7:8080/v1")
    private = [parse_server("http://127.0.0.1:8080/v1"), parse_server("https://gpu-box.example/v1")]
    assert [server for server, _ in consent.unwarned([lan, other, *private])] == [lan, other]
    consent.remember([lan])
    [(left, warning)] = consent.unwarned([lan, other, *private])
    assert left == other and "without encryption" in warning and "API key" not in warning
    keyed = parse_server("http://10.0.0.8:8080/v1", "GPU_KEY")
    [(_, keyed_warning)] = consent.unwarned([keyed])
    assert "the images, captions and API key sent to it can be read" in keyed_warning  # the key crosses too
    consent.warned_file().write_text("not json", encoding="utf-8")  # damaged: every warning is due again
    assert len(consent.unwarned([lan, other])) == 2
