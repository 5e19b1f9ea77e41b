"""How the engine client waits: on the pipe and the process together, so replies and deaths are seen at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.protocol import Piece
from caprl_desktop.core.errors import EngineCrashedError
from caprl_desktop.core.params import EngineConfig
from tests.support import peers


@pytest.fixture
def client_with_peer(tmp_path: Path) -> Iterator[Callable[..., EngineClient]]:
    clients: list[EngineClient] = []

    def attach(target: Callable[..., None], *args: object) -> EngineClient:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=target, args=(child, *args), daemon=True)
        process.start()
        child.close()
        client = EngineClient(EngineConfig("model.gguf", "mmproj.gguf"), log_dir=tmp_path)
        client._process, client._conn = process, parent  # a stand-in engine, no llama.cpp
        clients.append(client)
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
    client = client_with_peer(peers.reply_after, 1.0)
    polls = counting_polls(monkeypatch)
    reply = client._receive()
    assert isinstance(reply, Piece) and reply.text == "late"
    assert polls == []  # woken by the reply itself, not by a timer every 0.2 s


def test_a_death_without_a_reply_is_a_crash_with_its_exit_code(
    client_with_peer: Callable[..., EngineClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_with_peer(peers.die_after, 0.5)
    polls = counting_polls(monkeypatch)
    with pytest.raises(EngineCrashedError, match="exit code 3"):
        client._receive()
    assert len(polls) <= 1  # one look for a last reply after the death, no timer
