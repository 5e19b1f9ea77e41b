"""Starting an engine that must not be left half-started: one whose start fails is closed before the error goes on.

A local engine that fails to load leaves a process behind; a remote engine that fails to reach its servers leaves
connections. Every place that starts an engine outside a ``with`` block goes through ``start_or_close``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

InfoT = TypeVar("InfoT", covariant=True)


class Startable(Protocol[InfoT]):
    def start(self) -> InfoT: ...

    def close(self) -> None: ...


def start_or_close(engine: Startable[InfoT]) -> InfoT:
    """``engine.start()``'s answer (what it loaded); on any failure the engine is closed and the error raised."""
    try:
        return engine.start()
    except BaseException:
        engine.close()
        raise
