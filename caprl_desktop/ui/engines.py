"""Where the window's engines come from: a factory, so that the queue's rules run on a stand-in in tests.

``CaptionWorker`` asks its ``EngineFactory`` for the engine on this computer (``LocalEngine``; in the app an
``EngineClient``, which runs llama.cpp in a process of its own) or for the chosen caption servers
(``ServerEngine``; a ``RemoteEngine``). The window gets ``RealEngines``; tests pass
``tests/support/fake_engines.py``, which never loads llama.cpp.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.engine.remote.info import ServerStats
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.jobs.opening import ServedEngine
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.params import EngineConfig


class LocalEngine(CaptionEngine, Protocol):
    """The engine on this computer, as the worker keeps it between runs."""

    @property
    def config(self) -> EngineConfig: ...

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def start(self, config: EngineConfig | None = None) -> EngineInfo: ...  # (re)load; raises a CaprlError

    def count_tokens(self, text: str) -> int: ...

    def cancel(self) -> None: ...  # any thread: the captions in flight end within a token

    def close(self) -> None: ...


class ServerEngine(ServedEngine, Protocol):
    """The caption servers in use."""

    def start(self) -> object: ...  # asks each server what it serves; ``info`` then says

    def server_stats(self) -> list[ServerStats]: ...  # any thread

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class EngineFactory(Protocol):
    def local(self, config: EngineConfig) -> LocalEngine: ...

    def servers(self, servers: Sequence[Server]) -> ServerEngine: ...


class RealEngines:
    """llama.cpp in a process of its own, and OpenAI-compatible servers over HTTP."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self._log_dir = log_dir

    def local(self, config: EngineConfig) -> LocalEngine:
        # The built-in engine, or the llama.cpp runtime chosen with `caprl-desktop runtime use`.
        # (Imported here, on the worker's thread when it first loads: not on the window's way up.)
        from caprl_desktop.core.runtimes.choice import local_engine

        return local_engine(config, log_dir=self._log_dir)

    def servers(self, servers: Sequence[Server]) -> ServerEngine:
        from caprl_desktop.core.engine.remote.engine import RemoteEngine

        return RemoteEngine(servers)
