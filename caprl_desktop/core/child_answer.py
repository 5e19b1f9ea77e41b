"""Asking a spawned process for one answer: the probe of llama.cpp's backend, the search for GPUs.

What is asked may crash natively or hang (a broken GPU driver, a CUDA build without its driver), so it runs in a
process of its own: the caller gets the answer, or a ``NoAnswer`` saying why there is none, and the process is
always ended (waited for, killed when it outlives its time).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NoAnswer:
    hung: bool  # no answer in time; else the process ended without one
    exitcode: int | None = None  # how it ended (negative: the signal that ended it)


def ask_child(target: Callable[..., None], *args: object, name: str, timeout: float) -> object:
    """What ``target(connection, *args)``, run in a spawned process, sends back first; ``NoAnswer`` when nothing
    comes in ``timeout`` seconds or the process ends first. ``target`` is a module-level function (spawned)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(child, *args), name=name, daemon=True)
    process.start()
    child.close()
    hung = False
    try:
        if parent.poll(timeout):
            return parent.recv()
        hung = True
        return NoAnswer(hung=True)
    except (EOFError, OSError):
        process.join(timeout=5)
        return NoAnswer(hung=False, exitcode=process.exitcode)
    finally:
        parent.close()
        if not hung:  # (one that answered is let end by itself; one past its time is not waited for again)
            process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
        process.close()

