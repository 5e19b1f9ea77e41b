"""The engine process's main loop: load the model, caption images, stream pieces back.

It runs in a separate process so that a native abort in llama.cpp (a GGML_ASSERT kills the whole
process) costs one image, not the app.  Its standard output and error are redirected into a log file
before llama.cpp is touched: llama.cpp writes to file descriptors 1 and 2 directly, and the CLI's
standard output carries captions.
"""

from __future__ import annotations

import collections
import os
import sys
import traceback
from multiprocessing.connection import Connection
from typing import TextIO

from caprl_desktop.core.engine_protocol import (
    FAIL_ENGINE,
    Cancel,
    Caption,
    Failed,
    Finished,
    Load,
    Loaded,
    Piece,
    Request,
    Shutdown,
    failure_kind,
)
from caprl_desktop.core.errors import CaprlError


def _redirect_stdio(log_path: str) -> TextIO:
    log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process
    for fd in (1, 2):
        os.dup2(log.fileno(), fd)
    sys.stdout = sys.stderr = log
    return log


class _Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: collections.deque[Request] = collections.deque()
        self.shutting_down = False
        from caprl_desktop.core.llama_engine import LlamaCaptioner

        self.captioner: LlamaCaptioner | None = None

    def next_request(self) -> Request:
        return self.pending.popleft() if self.pending else self.conn.recv()

    def serve(self) -> None:
        while not self.shutting_down:
            try:
                request = self.next_request()
            except (EOFError, OSError):
                break  # the app went away
            if isinstance(request, Load):
                self.load(request)
            elif isinstance(request, Caption):
                self.caption(request)
            elif isinstance(request, Shutdown):
                break
            # A Cancel for a caption that already finished needs nothing.
        if self.captioner is not None:
            self.captioner.close()

    def load(self, request: Load) -> None:
        from caprl_desktop.core.llama_engine import LlamaCaptioner

        if self.captioner is not None:
            self.captioner.close()
            self.captioner = None
        try:
            self.captioner = LlamaCaptioner(request.config)
        except CaprlError as exc:
            self.conn.send(Failed(None, failure_kind(exc), str(exc)))
            return
        self.conn.send(Loaded(self.captioner.info))

    def caption(self, request: Caption) -> None:
        rid = request.request_id
        if self.captioner is None:
            self.conn.send(Failed(rid, FAIL_ENGINE, "no model is loaded"))
            return

        def should_stop() -> bool:
            # Between tokens: take in whatever arrived, acting on a cancel of this request or a shutdown.
            stop = False
            while self.conn.poll():
                message = self.conn.recv()
                if isinstance(message, Cancel):
                    stop = stop or message.request_id == rid
                elif isinstance(message, Shutdown):
                    self.shutting_down = stop = True
                else:
                    self.pending.append(message)
            return stop

        try:
            output = self.captioner.caption(
                request.image,
                request.system,
                request.user,
                request.params,
                on_text=lambda text: self.conn.send(Piece(rid, text)),
                should_stop=should_stop,
            )
        except CaprlError as exc:
            self.conn.send(Failed(rid, failure_kind(exc), str(exc)))
        except Exception as exc:  # noqa: BLE001 - report any bug as this image's failure and keep serving
            traceback.print_exc()
            self.conn.send(Failed(rid, FAIL_ENGINE, f"internal error: {type(exc).__name__}: {exc}"))
        else:
            self.conn.send(Finished(rid, output))


def run_worker(conn: Connection, log_path: str) -> None:
    """Entry point of the engine process."""
    log = _redirect_stdio(log_path)
    from caprl_desktop.core.llama_log import LOG

    LOG.install(log)
    _Worker(conn).serve()
    conn.close()


def probe_backend_main(conn: Connection) -> None:
    """Entry point of a short-lived process that reports the backend and GPU memory, then exits."""
    _redirect_stdio(os.devnull)
    from caprl_desktop.core.backend_probe import detect_backend

    try:
        conn.send(detect_backend())
    finally:
        conn.close()
