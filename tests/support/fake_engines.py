"""The window's engines without llama.cpp: an ``EngineFactory`` whose engines all caption through one ``FakeEngine``.

``FakeEngines`` gives the caption worker a ``FakeLocal`` for each engine on this computer it makes (and a
``FakeServers`` for caption servers); each captions through the same scripted ``FakeEngine``, so the images it
wrote are recognised whichever engine the worker holds, and its ``log`` tells the whole story. Two gates let a
test act while the worker waits where a real engine would still be busy: ``hold(name)`` stops that image's
caption after its first piece, ``loading`` stops a load; ``cancel`` lets every gate go, as a real engine stops
within a token. Only the worker's thread calls the engines, except ``cancel`` (any thread).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerInfo, ServerStats
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.replies import CaptionReply, CaptionText
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.models.files import ModelPairInfo
from caprl_desktop.core.params import EngineConfig, GenerationParams
from caprl_desktop.core.prompts import PromptSpec
from tests.support.fake_engine import FakeEngine

GATE_LIMIT_S = 30.0  # a gate nobody lets go ends the wait (the test then fails on what it sees, not by hanging)


def engine_info(config: EngineConfig, parallel: int = 1) -> EngineInfo:
    """What an engine on this computer reports having loaded with ``config`` (plain data; the files need not
    exist)."""
    model, mmproj = Path(config.model_path), Path(config.mmproj_path)
    pair = ModelPairInfo(model_path=model, mmproj_path=mmproj, architecture="qwen2vl", name=model.stem, n_embd=8,
                         projector_type="qwen2.5vl_merger", model_bytes=1, mmproj_bytes=1, has_chat_template=True)
    return EngineInfo(model=pair, backend=BackendInfo(gpu_offload=False, devices=(), system_info="CPU"),
                      backend_line="CPU", gpu_layers=0, n_layer=1, n_ctx=config.n_ctx, threads=config.threads or 1,
                      image_budget=config.image_budget, load_seconds=0.0, parallel=parallel)


class FakeEngines:
    """Implements ``ui.engines.EngineFactory``."""

    def __init__(self, fake: FakeEngine | None = None, *, served_model: str = "served-model") -> None:
        self.fake = fake or FakeEngine()
        self.served_model = served_model  # what the servers say they serve ("" : they say nothing)
        self.loading: threading.Event | None = None  # set by a test: each load waits for it
        self.locals: list[FakeLocal] = []  # every engine on this computer made, in order
        self.servers_made: list[FakeServers] = []
        self.loads: list[EngineConfig] = []  # every load of an engine on this computer
        self.lock = threading.Lock()
        self._holds: dict[str, threading.Event] = {}
        self._waiting: threading.Event | None = None  # the gate the next reply waits at
        self._pids = itertools.count(4000)

    # --- EngineFactory --------------------------------------------------------------------------

    def local(self, config: EngineConfig) -> FakeLocal:
        engine = FakeLocal(self, config, next(self._pids))
        self.locals.append(engine)
        return engine

    def servers(self, servers: Sequence[Server]) -> FakeServers:
        engine = FakeServers(self, tuple(servers))
        self.servers_made.append(engine)
        return engine

    # --- for tests -----------------------------------------------------------------------------

    def images(self, folder: Path, names: Sequence[str]) -> list[Path]:
        return self.fake.images(folder, names)

    def hold(self, name: str) -> threading.Event:
        """Image ``name``'s caption stops after its first piece until the event is set (or the captions are
        cancelled)."""
        gate = self._holds[name] = threading.Event()
        return gate

    def let_go(self) -> None:
        """Every gate opens (held captions and a held load)."""
        for gate in [*self._holds.values(), self._waiting, self.loading]:
            if gate is not None:
                gate.set()

    @property
    def log(self) -> list[str]:
        return self.fake.log

    # --- the engines' shared part -----------------------------------------------------------------

    def _next_reply(self, names: dict[int, str]) -> CaptionReply:
        gate = self._waiting
        if gate is not None:
            gate.wait(GATE_LIMIT_S)  # (``let_go`` opens it from another thread: it stays in view until then)
            self._waiting = None
        with self.lock:
            reply = self.fake.next_reply()
        if isinstance(reply, CaptionText) and names.get(reply.request_id) in self._holds:
            self._waiting = self._holds.pop(names[reply.request_id])
        return reply

    def _submit(self, names: dict[int, str], image: PreparedImage, prompt: PromptSpec,
                params: GenerationParams) -> int:
        with self.lock:
            rid = self.fake.submit(image, prompt, params)
            names[rid] = self.fake.submitted[-1]
        return rid

    def _cancel(self) -> None:
        with self.lock:
            self.fake.cancel()
        self.let_go()


class _Captioning:
    """What the fake local engine and the fake servers share: captions made by the one ``FakeEngine``."""

    engines: FakeEngines
    _names: dict[int, str]

    @property
    def parallel(self) -> int:
        return self.engines.fake.parallel

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        return self.engines._submit(self._names, image, prompt, params)

    def next_reply(self) -> CaptionReply:
        return self.engines._next_reply(self._names)

    def abandon(self, request_ids: Iterable[int]) -> None:
        with self.engines.lock:
            self.engines.fake.abandon(request_ids)

    def stop_caption(self, request_id: int) -> None:
        with self.engines.lock:
            self.engines.fake.stop_caption(request_id)


class FakeLocal(_Captioning):
    """An engine on this computer (``ui.engines.LocalEngine``); not loaded until the worker starts it."""

    def __init__(self, engines: FakeEngines, config: EngineConfig, pid: int) -> None:
        self.engines = engines
        self.config = config
        self.info: EngineInfo | None = None
        self.closed = False
        self._pid = pid
        self._names: dict[int, str] = {}

    @property
    def running(self) -> bool:
        return self.info is not None and self.engines.fake.running

    @property
    def pid(self) -> int | None:
        return self._pid if self.info is not None else None

    def start(self, config: EngineConfig | None = None) -> EngineInfo:
        if config is not None:
            self.config = config
        self.info = None
        loading = self.engines.loading
        if loading is not None:
            loading.wait(GATE_LIMIT_S)
        with self.engines.lock:
            self.engines.fake.start()  # raises its ``start_error``
        self.engines.loads.append(self.config)
        self.info = engine_info(self.config, self.engines.fake.parallel)
        return self.info

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def cancel(self) -> None:
        self.engines._cancel()

    def close(self) -> None:
        self.closed = True
        self.info = None
        self.engines.log.append("close")


class FakeServers(_Captioning):
    """Caption servers (``ui.engines.ServerEngine``), captioning through the same fake."""

    def __init__(self, engines: FakeEngines, servers: tuple[Server, ...]) -> None:
        self.engines = engines
        self.servers = servers
        self.info: RemoteInfo | None = None
        self.closed = False
        self._names: dict[int, str] = {}

    def start(self) -> RemoteInfo:
        model = self.engines.served_model
        self.info = RemoteInfo(tuple(ServerInfo(s.url, model, 1, answering=True, label=s.url) for s in self.servers),
                               parallel=self.engines.fake.parallel)
        self.engines.log.append("servers")
        return self.info

    def server_stats(self) -> list[ServerStats]:
        return [ServerStats(s.url, self.engines.served_model) for s in self.servers]

    def cancel(self) -> None:
        self.engines._cancel()

    def close(self) -> None:
        self.closed = True
        self.engines.log.append("servers closed")
