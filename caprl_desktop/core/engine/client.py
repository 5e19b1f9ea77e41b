"""The app's handle on the engine process: start it, caption through it, cancel, notice when it dies.

For captions side by side, ``submit()`` up to ``parallel`` of them and read ``next_reply()``: what they
produce comes back as the plain values of ``replies`` (text as it streams, then done or failed), never as
the pipe's messages; ``abandon()`` cancels some and reads up to their ends so the pipe stays in step, and
``stop_caption()`` ends one, whose end then comes among the replies.
``caption()`` is the same for one image, as a generator of ``CaptionText`` ending with the ``CaptionDone``:
every ``yield`` is a point where the caller may stop, and closing it early cancels the caption in the engine.
When the process dies (llama.cpp aborted, or it was killed) the caption in flight raises
``EngineCrashedError`` with the end of the engine's log, and ``start()`` brings up a fresh one.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import itertools
import multiprocessing
import multiprocessing.connection
import os
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from caprl_desktop.core import paths
from caprl_desktop.core.child_answer import NoAnswer, ask_child
from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.protocol import (
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
    exception_for,
)
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionText
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import CaprlError, EngineCrashedError, EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import EngineConfig, GenerationParams
from caprl_desktop.core.prompts import PromptSpec

_LOG_KEEP_SECONDS = 7 * 24 * 3600
_SIGNALS = {6: "SIGABRT: llama.cpp aborted", 9: "SIGKILL: it was killed", 11: "SIGSEGV: a crash in native code"}


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        return f"signal {-exitcode}" + (f", {_SIGNALS[-exitcode]}" if -exitcode in _SIGNALS else "")
    return f"exit code {exitcode}"


class EngineClient:
    """One engine process at a time; not thread-safe except ``cancel()``, which any thread may call."""

    def __init__(self, config: EngineConfig, *, log_dir: Path | None = None,
                 process_main: Callable[[Connection, str], None] | None = None) -> None:
        """``process_main``: what the engine process runs, given its end of the pipe and its log's path (a
        module-level function, since the process is spawned); llama.cpp's worker unless a test stands in."""
        self.config = config
        self._process_main = process_main or functools.partial(_in_engine_process, "run_worker")
        self._log_dir = log_dir or paths.log_dir()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()  # cancel() reads it from other threads
        self.info: EngineInfo | None = None
        self._crashed_once = False  # a crashed engine's log is kept for the bug report
        self.log_path = self._log_dir / f"engine-{os.getpid()}.log"

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive() and self.info is not None

    def start(self, config: EngineConfig | None = None) -> EngineInfo:
        """Start (or restart) the engine process and load the model; raises a ``CaprlError``."""
        if config is not None:
            self.config = config
        self.stop()
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._remove_old_logs()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(target=self._process_main, args=(child, str(self.log_path)), name="caprl-engine",
                              daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self._send(Load(self.config))
        reply = self._receive()
        if isinstance(reply, Failed):
            self.stop()
            raise exception_for(reply)
        if not isinstance(reply, Loaded):
            self.stop()
            raise EngineError(f"unexpected reply from the engine: {type(reply).__name__}")
        self.info = reply.info
        return reply.info

    def stop(self) -> None:
        """Ask the engine to exit, and make sure it does."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        self.info = None
        with self._in_flight_lock:
            self._in_flight.clear()
        if process is None:
            return
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(Shutdown())
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        if conn is not None:
            conn.close()
        process.close()

    def close(self) -> None:
        """Stop the engine and remove its log if it never crashed."""
        self.stop()
        if not self._crashed_once:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- captioning ---------------------------------------------------------------------------

    @property
    def parallel(self) -> int:
        """How many captions the loaded engine decodes side by side."""
        return self.info.parallel if self.info is not None else 1

    def caption(
        self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams
    ) -> Generator[CaptionText | CaptionDone, None, None]:
        """Stream one caption: ``CaptionText``s, then one ``CaptionDone``.  Raises ``CaprlError`` and subclasses."""
        rid = self.submit(image, prompt, params)
        done = False
        try:
            while True:
                reply = self.next_reply()  # only this caption is in flight
                if isinstance(reply, CaptionFailed):
                    done = True
                    raise reply.error
                if isinstance(reply, CaptionDone):
                    done = True
                    yield reply
                    return
                if isinstance(reply, CaptionText):  # (a local engine never restarts a caption)
                    yield reply
        finally:
            if not done:
                # The caller stopped listening: cancel, and read up to the end so the pipe stays in step.
                self.abandon([rid])

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        """Send a caption request; its replies come from ``next_reply()`` under the id returned."""
        if self._process is not None and not self._process.is_alive():
            raise self._crashed()  # it died between captions (killed, or the machine ran out of memory)
        if not self.running:
            raise EngineError("the engine is not running")
        rid = next(self._ids)
        with self._in_flight_lock:
            self._in_flight.add(rid)
        self._send(Caption(rid, image, prompt.system, prompt.user, params))
        return rid

    def next_reply(self) -> CaptionReply:
        """The next reply to a caption in flight (a failure is returned, not raised); waits for it."""
        if not self._in_flight:
            raise EngineError("no caption is in flight")
        while True:
            reply = self._receive()
            rid = reply.request_id if isinstance(reply, Piece | Finished | Failed) else None
            if rid is not None and rid in self._in_flight:
                if isinstance(reply, Finished | Failed):
                    with self._in_flight_lock:
                        self._in_flight.discard(rid)
                return _caption_reply(rid, reply)

    def abandon(self, request_ids: Iterable[int]) -> None:
        """Cancel these captions and read their replies up to the end of each."""
        left = {rid for rid in request_ids if rid in self._in_flight}
        if not left or not self.running:
            return
        with contextlib.suppress(CaprlError):
            for rid in left:
                self._send(Cancel(rid))
            while left & self._in_flight:
                self.next_reply()

    def stop_caption(self, request_id: int) -> None:
        """End one caption within a token: it ends with its own ``CaptionDone`` (finish reason "cancelled") among
        the replies ``next_reply`` reads, and the others go on. (``abandon`` reads up to its end and drops every
        reply on the way, the other captions' pieces too.)"""
        with self._in_flight_lock:
            if request_id not in self._in_flight:
                return
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError, CaprlError):  # a dead engine is seen by the next read
                self._send(Cancel(request_id))

    def cancel(self) -> None:
        """Stop every caption in flight within a token; safe from any thread."""
        with self._in_flight_lock:
            in_flight = sorted(self._in_flight)
        if self._conn is None:
            return
        for rid in in_flight:
            with contextlib.suppress(OSError, ValueError, CaprlError):
                self._send(Cancel(rid))

    # --- plumbing -----------------------------------------------------------------------------

    def _send(self, message: Request) -> None:
        if self._conn is None:
            raise EngineError("the engine is not running")
        with self._send_lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                raise self._crashed() from None

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` to the loaded model. Only with no caption in flight (their replies would interleave):
        the window asks on the worker's thread, which runs one job at a time."""
        with self._in_flight_lock:
            if self._in_flight:
                raise EngineError("captions are in flight; count the tokens after them")
        rid = next(self._ids)
        self._send(CountTokens(rid, text))
        reply = self._receive()
        if isinstance(reply, Failed):
            raise exception_for(reply)
        if not isinstance(reply, TokenCount) or reply.request_id != rid:
            raise EngineError(f"unexpected reply from the engine: {type(reply).__name__}")
        return reply.count

    def _receive(self) -> Reply:
        """The next reply; waits on the pipe and the process together, so a death is seen the moment it happens."""
        conn, process = self._conn, self._process
        if conn is None or process is None:
            raise EngineError("the engine is not running")
        try:
            ready = multiprocessing.connection.wait([conn, process.sentinel])
            # Replies sent just before dying are still worth reading, so the pipe goes first.
            if conn in ready or conn.poll(0):
                reply: Reply = conn.recv()
                return reply
        except (EOFError, OSError):
            pass
        raise self._crashed()

    def _crashed(self) -> EngineCrashedError:
        process = self._process
        exitcode = None
        if process is not None:
            process.join(timeout=2)
            exitcode = process.exitcode
        tail = self._read_log_tail()
        self.stop()
        reason = crash_reason(tail)
        self._crashed_once = True
        how = describe_exit(exitcode)
        message = f"the caption engine stopped ({how})" + (f": {reason}" if reason else "")
        return EngineCrashedError(message, exitcode, tail, kind="engine_stopped", how=how, detail=reason)

    def _read_log_tail(self, limit: int = 256 * 1024) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _remove_old_logs(self) -> None:
        cutoff = time.time() - _LOG_KEEP_SECONDS
        for old in self._log_dir.glob("engine-*.log"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()


def _caption_reply(request_id: int, message: Reply) -> CaptionReply:
    """The pipe message answering caption ``request_id`` as the reply the client hands on."""
    if isinstance(message, Piece):
        return CaptionText(request_id, message.text)
    if isinstance(message, Finished):
        return CaptionDone(request_id, message.output)
    if isinstance(message, Failed):
        return CaptionFailed(request_id, exception_for(message))
    raise EngineError(f"unexpected reply from the engine: {type(message).__name__}")


# ggml_abort prints "path/file.cpp:LINE: message" (GGML_ASSERT adds "GGML_ASSERT(...) failed"), then a backtrace.
_ABORT_LINE = re.compile(r"^(?:.*[/\\])?([\w.+-]+\.(?:c|cc|cpp|cu|h|m|mm):\d+: .+)$")


def crash_reason(log_tail: str) -> str:
    """The line of the engine log that explains a crash ("clip.cpp:4509: Failed to get tensor …"), or ""."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _ABORT_LINE.match(line)
        if match:
            return match.group(1)[:300]
    for line in reversed(lines):
        if "GGML_ASSERT" in line or "error" in line.lower():
            return line[:300]
    return ""


def probe_backend(timeout: float = 60.0) -> BackendInfo | None:
    """Which backend and how much GPU memory llama.cpp sees, asked of a short-lived process.

    For the model manager's fit advice before any model is loaded; None when the probe fails, in which
    case the advice falls back to RAM.
    """
    result = probe_backend_or_reason(timeout)
    return result if isinstance(result, BackendInfo) else None


def probe_backend_or_reason(timeout: float = 60.0) -> BackendInfo | str:
    """``probe_backend``, or why there is no answer in words (llama.cpp's libraries would not load, say)."""
    answer = ask_child(functools.partial(_in_engine_process, "probe_backend_main"), name="caprl-probe",
                       timeout=timeout)
    if isinstance(answer, NoAnswer):
        return f"no answer in {timeout:.0f} s" if answer.hung else "the probe process ended without an answer"
    return answer if isinstance(answer, BackendInfo | str) else f"unexpected answer {type(answer).__name__}"


# The engine's private part (``_llama``) is named, not imported: the app process must never load llama.cpp,
# and an import here, even inside a function, would tie this module to it (the import contracts check that).
_WORKER_MODULE = "caprl_desktop.core.engine._llama.worker"


def _in_engine_process(entry: str, *args: Any) -> None:
    """Runs in the spawned process: import the worker there and call ``entry``."""
    getattr(importlib.import_module(_WORKER_MODULE), entry)(*args)
