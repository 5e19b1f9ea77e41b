"""The engine a run on this computer uses: the built-in one, or the runtime chosen with ``runtime use``.

``local_engine(config)`` (``open_engine`` for a ``with`` block) is what the faces call where they made an
``EngineClient`` before: with no runtime chosen it is exactly that; with one it is a ``ChosenEngine`` whose
``start`` starts the runtime's server. A
runtime that cannot start before it has ever captioned gives its place back to the one in use before it (the
built-in engine or another runtime: ``store.roll_back``), which captions instead, and ``notice`` says so; its
first caption makes it the one kept (``store.captioned``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionReply
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import EngineConfig, GenerationParams
from caprl_desktop.core.prompts import PromptSpec
from caprl_desktop.core.runtimes import store
from caprl_desktop.core.runtimes.engine import RuntimeEngine
from caprl_desktop.core.runtimes.server import RuntimeStartError
from caprl_desktop.core.runtimes.store import BUILTIN, InstalledRuntime


class ChosenEngine:
    """A chosen runtime's engine, falling back as the module says; the engine interface of ``EngineClient``."""

    def __init__(self, runtime: InstalledRuntime, config: EngineConfig, *, log_dir: Path | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._log_dir = log_dir
        self._notice = notice
        self._engine: RuntimeEngine | EngineClient = self._runtime_engine(runtime)

    def _runtime_engine(self, runtime: InstalledRuntime) -> RuntimeEngine:
        return RuntimeEngine(runtime, self.config, log_dir=self._log_dir, notice=self._notice,
                             captioned=lambda: self._proven(runtime))

    def _proven(self, runtime: InstalledRuntime) -> None:
        removed = store.captioned(runtime.name)
        if removed is not None and self._notice is not None:
            self._notice(f"{runtime.label} has captioned; the runtime it updated ({removed}) was removed")

    @property
    def engine(self) -> RuntimeEngine | EngineClient:
        """What captions now: the runtime's engine, or after a rollback the fallback's."""
        return self._engine

    @property
    def runtime(self) -> InstalledRuntime | None:
        return self._engine.runtime if isinstance(self._engine, RuntimeEngine) else None

    @property
    def info(self) -> EngineInfo | None:
        return self._engine.info

    @property
    def parallel(self) -> int:
        return self._engine.parallel

    @property
    def running(self) -> bool:
        return self._engine.running

    @property
    def pid(self) -> int | None:
        return self._engine.pid

    def start(self, config: EngineConfig | None = None) -> EngineInfo:
        """Start the engine (again, with ``config`` if given), rolling back as the module says."""
        if config is not None:
            self.config = config
            self._engine.config = config
        while True:
            engine = self._engine
            try:
                return engine.start()
            except RuntimeStartError as exc:
                if not isinstance(engine, RuntimeEngine):
                    raise
                fallback = store.roll_back(engine.runtime.name, str(exc))
                if fallback is None:
                    raise
                engine.close()
                if fallback == BUILTIN:
                    self._engine = EngineClient(self.config, log_dir=self._log_dir)
                    instead = "the built-in engine"
                else:
                    self._engine = self._runtime_engine(store.find(fallback))
                    instead = self._engine.runtime.label
                if self._notice is not None:
                    self._notice(f"{engine.runtime.label} could not start ({exc}); went back to {instead}, which "
                                 "was in use before it")

    def count_tokens(self, text: str) -> int:
        return self._engine.count_tokens(text)

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        return self._engine.submit(image, prompt, params)

    def next_reply(self) -> CaptionReply:
        return self._engine.next_reply()

    def abandon(self, request_ids: Iterable[int]) -> None:
        self._engine.abandon(request_ids)

    def stop_caption(self, request_id: int) -> None:
        self._engine.stop_caption(request_id)

    def cancel(self) -> None:
        self._engine.cancel()

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> ChosenEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def local_engine(config: EngineConfig, *, log_dir: Path | None = None,
                 notice: Callable[[str], None] | None = None) -> EngineClient | ChosenEngine:
    """The engine on this computer as chosen now, not yet started: the built-in one, or the chosen runtime's.
    Both have what the window keeps between runs (``config``, ``running``, ``pid``, ``start(config)``,
    ``count_tokens``, ``cancel``, ``close``)."""
    runtime = store.chosen()
    if runtime is None:
        return EngineClient(config, log_dir=log_dir)
    return ChosenEngine(runtime, config, log_dir=log_dir, notice=notice)


@contextlib.contextmanager
def open_engine(config: EngineConfig, *, log_dir: Path | None = None,
                notice: Callable[[str], None] | None = None) -> Iterator[EngineClient | ChosenEngine]:
    """``local_engine`` for a ``with`` block (the command line's runs): closed when the block ends."""
    engine = local_engine(config, log_dir=log_dir, notice=notice)
    try:
        yield engine
    finally:
        engine.close()
