"""How the engine client waits: on the pipe and the process together, so replies and deaths are seen at once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionText
from caprl_desktop.core.engine.starting import start_or_close
from caprl_desktop.core.errors import EngineCrashedError, EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import EngineConfig, GenerationParams
from caprl_desktop.core.prompts import build_prompt
from tests.support import peers


@pytest.fixture
def client_with_peer(tmp_path: Path) -> Iterator[Callable[..., EngineClient]]:
    """A started client whose engine process is a stand-in (no llama.cpp), with a caption sent to it."""
    clients: list[EngineClient] = []

    def attach(main: Callable[..., None], **kwargs: float) -> EngineClient:
        client = EngineClient(EngineConfig("model.gguf", "mmproj.gguf"), log_dir=tmp_path,
                              process_main=functools.partial(main, **kwargs))
        clients.append(client)
        client.start()
        client.submit(PreparedImage(2, 2, bytes(12), 2, 2, "PNG"), build_prompt("en"), GenerationParams())
        return client

    yield attach
    for client in clients:
        client.stop()


def counting_polls(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    calls: list[float | None] = []
    real = Connection.poll

    def poll(self: Connection, timeout: float | None = 0.0) -> bool:
        calls.append(timeout)
        return real(self, timeout)

    monkeypatch.setattr(Connection, "poll", poll)
    return calls


def test_a_late_reply_is_waited_for_without_polling(client_with_peer: Callable[..., EngineClient],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_with_peer(peers.reply_after, seconds=1.0)
    polls = counting_polls(monkeypatch)
    reply = client.next_reply()
    assert isinstance(reply, CaptionText) and reply.text == "late"
    assert polls == []  # woken by the reply itself, not by a timer every 0.2 s


def test_a_death_without_a_reply_is_a_crash_with_its_exit_code(
    client_with_peer: Callable[..., EngineClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_with_peer(peers.die_after, seconds=0.5)
    polls = counting_polls(monkeypatch)
    with pytest.raises(EngineCrashedError, match="exit code 3"):
        client.next_reply()
    assert len(polls) <= 1  # one look for a last reply after the death, no timer


class _Engine:
    def __init__(self, fails: bool) -> None:
        self.fails, self.closed = fails, False

    def start(self) -> str:
        if self.fails:
            raise EngineError("the model did not load")
        return "loaded"

    def close(self) -> None:
        self.closed = True


def test_an_engine_whose_start_fails_is_closed_before_the_error_goes_on() -> None:
    failing = _Engine(fails=True)
    with pytest.raises(EngineError, match="did not load"):
        start_or_close(failing)
    assert failing.closed
    working = _Engine(fails=False)
    assert start_or_close(working) == "loaded" and not working.closed
