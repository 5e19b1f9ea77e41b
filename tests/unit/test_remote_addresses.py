"""Caption server addresses: no credentials in them, and the saved list readable by its owner only."""

from __future__ import annotations

import json
import os
import stat

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.remote import saved
from caprl_desktop.core.engine.remote.servers import Server, ServerAddressError, parse_server, shown_url
from caprl_desktop.core.engine.remote.wire import ask_server, make_client

WITH_CREDENTIALS = ["http://me:s3cret@gpu-box:8000/v1", "http://gpu-box:8000/v1?api_key=s3cret",
                    "https://token-s3cret@gpu-box/v1#8", "http://me:s3cret@gpu-box:8000/v1?api_key=s3cret"]


@pytest.mark.parametrize("address", WITH_CREDENTIALS)
def test_an_address_with_a_password_or_a_query_is_refused_with_where_keys_go(address: str) -> None:
    with pytest.raises(ServerAddressError) as refused:
        parse_server(address)
    said = str(refused.value)
    assert "--api-key-env" in said and "keyring" in said and "cannot carry a user name, password or query" in said
    assert "s3cret" not in said and said.count(".") <= 1  # one sentence, and the secret not shown back


def test_the_command_line_refuses_to_save_one_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engines", "add", "box", "http://me:s3cret@gpu-box:8000/v1"]) != 0
    err = capsys.readouterr().err
    assert "--api-key-env" in err and "s3cret" not in err
    assert not saved.saved_file().exists()


def test_the_saved_list_is_the_owners_alone() -> None:
    saved.add("box", "http://gpu-box:8000/v1#2", "GPU_KEY")
    file = saved.saved_file()
    if os.name == "posix":
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        file.chmod(0o644)  # an older list, readable by all: saving again makes it private
        saved.add("other", "http://10.0.0.7:8080/v1")
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert set(saved.load()) == {"box", "other"}


def test_a_server_saved_with_credentials_before_is_not_asked_and_not_used() -> None:
    """An engines.json from before the check: its address is refused where a client would be made for it."""
    file = saved.saved_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps({"engines": [{"name": "old", "url": "http://me:s3cret@gpu-box:8000/v1",
                                             "slots": 2}]}), encoding="utf-8")
    old = saved.load()["old"]
    assert old.shown == "http://gpu-box:8000/v1"
    with pytest.raises(ServerAddressError, match="--api-key-env"):
        make_client(old, 1.0)
    model, reason = ask_server(old)
    assert model == "" and "cannot carry a user name, password or query" in reason and "s3cret" not in reason


def test_addresses_still_take_a_count_and_shown_ones_hold_no_credentials() -> None:
    server = parse_server("http://gpu-box:8000#8")
    assert (server.url, server.slots, server.slots_given) == ("http://gpu-box:8000/v1", 8, True)
    assert shown_url("https://me:pw@h/v1?api_key=abc") == "https://h/v1"
    assert isinstance(parse_server("http://[::1]:8080/v1"), Server)
