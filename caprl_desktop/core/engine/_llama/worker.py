"""The engine process's main loop: load the model, caption images, stream pieces back.

It runs in a separate process so that a native abort in llama.cpp (a GGML_ASSERT kills the whole
process) costs one image, not the app.  Its standard output and error are redirected into a log file
before llama.cpp is touched: llama.cpp writes to file descriptors 1 and 2 directly, and the CLI's
standard output carries captions.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import TextIO

from caprl_desktop.core.engine.protocol import (
    FAIL_ENGINE,
    Cancel,
    Caption,
    CountTokens,
    Failed,
    Finished,
    Load,
    Loaded,
    Piece,
    Reply,
    Request,
    Shutdown,
    TokenCount,
    failure_kind,
    never_started,
)
from caprl_desktop.core.errors import CaprlError


def _redirect_stdio(log_path: str) -> TextIO:
    log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process
    for fd in (1, 2):
        os.dup2(log.fileno(), fd)
    sys.stdout = sys.stderr = log
    return log


def _failure(exc: Exception) -> tuple[str, str]:
    """The kind and message a caption's failure is reported with; a bug's traceback also goes to the log."""
    if isinstance(exc, CaprlError):
        return failure_kind(exc), str(exc)
    traceback.print_exc()
    return FAIL_ENGINE, f"internal error: {type(exc).__name__}: {exc}"


class _Outbox:
    """Replies leave on a thread of their own, so the engine never blocks on a full pipe.

    Were it to block there while the app is blocked sending it a large image, each would wait for the other
    for ever; with this thread the engine keeps reading between tokens whatever the app does.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[Reply | None] = queue.SimpleQueue()
        self.broken = False
        self._thread = threading.Thread(target=self._run, name="caprl-outbox", daemon=True)
        self._thread.start()

    def send(self, reply: Reply) -> None:
        self._queue.put(reply)

    def _run(self) -> None:
        while (reply := self._queue.get()) is not None:
            if self.broken:
                continue
            try:
                self._conn.send(reply)
            except (OSError, ValueError):
                self.broken = True  # the app went away; the main loop notices on its next read

    def close(self) -> None:
        """Send what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()


class _Worker:
    """Serves requests; captions run side by side, up to the engine's number of sequences."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.outbox = _Outbox(conn)
        self.queue: collections.deque[Caption] = collections.deque()
        self.cancelled: set[int] = set()  # cancels for a caption being put into its sequence right now
        self.admitting = False
        self.deferred: list[Load] = []  # a reload that arrived while an image was being put in
        self.shutting_down = False
        from caprl_desktop.core.engine._llama.engine import LlamaCaptioner, Sequence

        self.captioner: LlamaCaptioner | None = None
        self.active: dict[int, Sequence] = {}

    def serve(self) -> None:
        while not self.shutting_down:
            if not self.active and not self.queue:
                try:
                    self.handle(self.conn.recv())
                except (EOFError, OSError):
                    break  # the app went away
                continue
            # Between tokens: take in what arrived (cancels act within a token), then one step for all.
            if not self.take_in():
                break
            if self.queue and self.captioner is not None and self.captioner.free_slots:
                self.admit(self.queue.popleft())
            if self.active:
                self.step()
        self.abandon_all("the engine is shutting down")
        if self.captioner is not None:
            self.captioner.close()

    def take_in(self) -> bool:
        """Handle every message waiting; False once the engine is to shut down."""
        try:
            while self.conn.poll():
                self.handle(self.conn.recv())
        except (EOFError, OSError):
            self.shutting_down = True
        return not self.shutting_down and not self.outbox.broken

    def handle(self, message: Request) -> None:
        if isinstance(message, Load) and self.admitting:
            self.deferred.append(message)
        elif isinstance(message, Load):
            self.load(message)
        elif isinstance(message, Caption):
            if self.captioner is None:
                self.outbox.send(Failed(message.request_id, FAIL_ENGINE, "no model is loaded"))
            else:
                self.queue.append(message)
        elif isinstance(message, Cancel):
            self.cancel(message.request_id)
        elif isinstance(message, Shutdown):
            self.shutting_down = True
        elif isinstance(message, CountTokens):
            if self.captioner is None:
                self.outbox.send(Failed(message.request_id, FAIL_ENGINE, "no model is loaded"))
            else:
                try:
                    self.outbox.send(TokenCount(message.request_id, self.captioner.count_tokens(message.text)))
                except CaprlError as exc:
                    self.outbox.send(Failed(message.request_id, failure_kind(exc), str(exc)))

    def cancel(self, rid: int) -> None:
        if rid in self.active:
            self.active[rid].cancel()
            return
        for queued in self.queue:
            if queued.request_id == rid:
                self.queue.remove(queued)
                self.outbox.send(Finished(rid, never_started(queued)))
                return
        self.cancelled.add(rid)  # the one being admitted, or one that already finished (harmless)

    def load(self, request: Load) -> None:
        from caprl_desktop.core.engine._llama.engine import LlamaCaptioner

        self.abandon_all("the model was reloaded")
        if self.captioner is not None:
            self.captioner.close()
            self.captioner = None
        try:
            self.captioner = LlamaCaptioner(request.config)
        except CaprlError as exc:
            self.outbox.send(Failed(None, failure_kind(exc), str(exc)))
            return
        self.outbox.send(Loaded(self.captioner.info))

    def admit(self, request: Caption) -> None:
        """Put a caption into a free sequence (encode the image, evaluate the prompt)."""
        rid = request.request_id
        self.cancelled.discard(rid)
        self.admitting = True
        try:
            self._begin(request)
        finally:
            self.admitting = False
            self.cancelled.discard(rid)
        while self.deferred:
            self.load(self.deferred.pop(0))

    def _begin(self, request: Caption) -> None:
        assert self.captioner is not None
        rid = request.request_id

        def should_stop() -> bool:
            return not self.take_in() or rid in self.cancelled

        try:
            sequence = self.captioner.begin(
                request.image, request.system, request.user, request.params,
                on_text=lambda text: self.outbox.send(Piece(rid, text)), should_stop=should_stop,
            )
        except Exception as exc:  # noqa: BLE001 - report any bug as this image's failure and keep serving
            self.outbox.send(Failed(rid, *_failure(exc)))
            return
        self.active[rid] = sequence
        self.finish_done()

    def step(self) -> None:
        assert self.captioner is not None
        try:
            self.captioner.step(list(self.active.values()))
        except Exception as exc:  # noqa: BLE001 - as above, for every caption in the batch
            self.fail_active(*_failure(exc))
            return
        self.finish_done()

    def finish_done(self) -> None:
        assert self.captioner is not None
        for rid, sequence in list(self.active.items()):
            if sequence.done:
                del self.active[rid]
                self.outbox.send(Finished(rid, self.captioner.release(sequence)))

    def fail_active(self, kind: str, message: str) -> None:
        assert self.captioner is not None
        for rid, sequence in list(self.active.items()):
            self.captioner.release(sequence)
            self.outbox.send(Failed(rid, kind, message))
        self.active.clear()

    def abandon_all(self, reason: str) -> None:
        """Answer every caption still open, so no client waits on one forever."""
        with contextlib.suppress(OSError, ValueError):
            if self.captioner is not None and self.active:
                self.fail_active(FAIL_ENGINE, reason)
            while self.queue:
                self.outbox.send(Failed(self.queue.popleft().request_id, FAIL_ENGINE, reason))


def run_worker(conn: Connection, log_path: str) -> None:
    """Entry point of the engine process."""
    log = _redirect_stdio(log_path)
    from caprl_desktop.core.engine._llama import libraries

    try:
        libraries.prepare()  # before anything imports llama_cpp
    except libraries.LlamaLibraryError as exc:
        print(f"engine: {exc}", flush=True)
        conn.send(Failed(None, FAIL_ENGINE, str(exc)))  # the answer to the app's first request, a Load
        conn.close()
        return
    from caprl_desktop.core.engine._llama.log import LOG

    LOG.install(log)
    worker = _Worker(conn)
    try:
        worker.serve()
    finally:
        worker.outbox.close()
    conn.close()


def probe_backend_main(conn: Connection) -> None:
    """Entry point of a short-lived process that reports the backend and GPU memory, then exits."""
    silenced = _redirect_stdio(os.devnull)
    from caprl_desktop.core.engine._llama import libraries

    try:
        try:
            libraries.prepare()
        except libraries.LlamaLibraryError as exc:
            conn.send(str(exc))  # the reason, for doctor; the model dialog then advises from RAM
            return
        from caprl_desktop.core.engine._llama.probe import detect_backend

        conn.send(detect_backend())
    finally:
        conn.close()
        # Closed before the interpreter's exit, which would otherwise warn of an unclosed file.
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        silenced.close()
