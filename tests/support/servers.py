"""Caption servers for the remote-engine tests: llama-cpp-python's own OpenAI-compatible server, and a stand-in.

``LlamaServer`` runs the real thing (``python -m llama_cpp.server``, from its ``server`` extra) on 127.0.0.1
with a generated model, one thread, and no interrupting of one request by the next, so two captions sent
to it queue as they would on a small server (``interrupt=True``: as it runs by default, ending the stream in
progress when the next request arrives). ``StandInServer`` speaks just enough of the API (``/v1/models``,
streamed ``/v1/chat/completions``) to fail on purpose: an HTTP status, a stream cut after some pieces, a slow
start, and the hostile ones: a stream that never ends, a huge reply, keep-alives and nothing else, silence.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.support.local_http import LocalHttpServer
from tests.support.models import ModelFiles


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LlamaServer:
    """``python -m llama_cpp.server`` with a model pair, until ``stop`` (or ``kill``)."""

    def __init__(self, models: ModelFiles, log: Path, *, n_ctx: int = 4096, interrupt: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(models.model), "--clip_model_path",
             str(models.mmproj), "--chat_format", "mtmd", "--host", "127.0.0.1", "--port", str(self.port),
             "--n_ctx", str(n_ctx), "--n_threads", "1", "--n_threads_batch", "1",
             "--interrupt_requests", str(interrupt), "--flash_attn", "True"],
            stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90.0) -> LlamaServer:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start (exit {self.process.poll()}); see {self._log.name}")
            time.sleep(0.2)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@dataclass
class Script:
    """What the stand-in does with each caption request, in turn; past the list, it answers normally."""

    # "ok", an HTTP status ("429"), "cut" (two pieces, then closed), "early" (two pieces, then data: [DONE] with
    # no finish reason), "forever" (pieces until the client leaves), "huge" (one event of ``huge_bytes``),
    # "huge-pieces" (``huge_bytes`` in pieces of 64 KiB), "keepalive" (comments only, until the client leaves),
    # "silent" (not even the response's headers, until the client leaves)
    answers: list[str] = field(default_factory=list)
    pieces: tuple[str, ...] = ("A ", "stand-in ", "caption.")
    requests: int = 0
    seen: list[dict[str, object]] = field(default_factory=list)  # the request bodies, for the tests to read
    down: bool = False  # every request, /v1/models too, has its connection closed unanswered
    delay_s: float = 0.0  # before each piece: a slow server
    first_delay_s: float = 0.0  # before the first piece only: a long image encode
    authorization: list[str] = field(default_factory=list)  # the Authorization header of each caption request
    slots: int = 0  # captions it makes at a time, the rest wait their turn as on a real server (0: no limit)
    says_slots: bool = False  # its /props gives ``slots`` as llama-server's does (``total_slots``)
    busy_429: bool = False  # beyond its ``slots`` it answers 429 (busy) instead of queueing
    redirect_to: str = ""  # the Location of an answer "307"
    streaming: int = 0  # captions being made now
    most_streaming: int = 0  # the most made at once
    interrupts: bool = False  # a caption request ends the streams in progress (data: [DONE]), as llama_cpp.server
    huge_bytes: int = 100 * 2**20
    left: int = 0  # requests whose client hung up before the server was done with them
    sent_bytes: int = 0  # of the hostile answers, in all


class StandInServer:
    """An OpenAI-compatible server that fails when told to (see ``Script``); HTTPS with ``tls``."""

    def __init__(self, model: str = "stand-in-model", *, tls: ssl.SSLContext | None = None) -> None:
        self.script = Script()
        self.model = model
        self._http = LocalHttpServer(self._handler())
        self.url = f"{self._http.endpoint}/v1"
        if tls is not None:  # the certificate names localhost: the address a client checks it against
            self._http.server.socket = tls.wrap_socket(self._http.server.socket, server_side=True)
            self.url = f"https://localhost:{self._http.port}/v1"
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._arrivals = 0  # caption requests so far: a stream started before the latest is interrupted

    def _free(self) -> bool:
        return not self.script.slots or self.script.streaming < self.script.slots

    @contextlib.contextmanager
    def _slot(self) -> Iterator[bool]:
        """One of the server's ``slots`` for a caption (True); waits for one as a real server's queue does, or
        with ``busy_429`` gives False at once when none is free."""
        with self._turn:
            busy = self.script.busy_429 and not self._free()
            if not busy:
                self._turn.wait_for(self._free)
                self.script.streaming += 1
                self.script.most_streaming = max(self.script.most_streaming, self.script.streaming)
        if busy:
            yield False
            return
        try:
            yield True
        finally:
            with self._turn:
                self.script.streaming -= 1
                self._turn.notify_all()

    def start(self) -> StandInServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._http.stop()

    def _next_answer(self, body: dict[str, object]) -> str:
        with self._lock:
            script = self.script
            script.seen.append(body)
            index = script.requests
            script.requests += 1
            return script.answers[index] if index < len(script.answers) else "ok"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _hang_up(self) -> bool:
                if outer.script.down:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return True
                return False

            def do_GET(self) -> None:
                if self._hang_up():
                    return
                if self.path == "/props" and outer.script.says_slots:
                    self._json(200, {"total_slots": outer.script.slots})
                    return
                if self.path.rstrip("/") != "/v1/models":
                    self.send_error(404)
                    return
                self._json(200, {"object": "list", "data": [{"id": outer.model, "object": "model"}]})

            def do_POST(self) -> None:
                if self._hang_up():
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.script.authorization.append(self.headers.get("Authorization", ""))
                answer = outer._next_answer(body)
                with outer._lock:
                    outer._arrivals += 1
                    arrival = outer._arrivals
                if answer == "silent":
                    if self._wait_while_connected(None):
                        with outer._lock:
                            outer.script.left += 1
                    return
                if answer == "307":
                    self.send_response(307)
                    self.send_header("Location", outer.script.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if answer.isdigit():
                    self._json(int(answer), {"error": {"message": f"stand-in says {answer}"}})
                    return
                with outer._slot() as got:
                    if not got:
                        self._json(429, {"error": {"message": "stand-in is busy"}})
                        return
                    try:
                        self._stream(answer, arrival)
                    except OSError:  # (BrokenPipeError, ConnectionResetError) the client hung up
                        with outer._lock:
                            outer.script.left += 1

            def _stream(self, answer: str, arrival: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                if answer in ("forever", "huge", "huge-pieces", "keepalive"):
                    self._hostile(answer)
                    return
                pieces = outer.script.pieces
                time.sleep(outer.script.first_delay_s)
                for number, piece in enumerate(pieces):
                    time.sleep(outer.script.delay_s)
                    if answer == "cut" and number == 2:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # the stream stops mid-caption
                        return
                    if (answer == "early" and number == 2) or (outer.script.interrupts and outer._arrivals > arrival):
                        self.wfile.write(b"data: [DONE]\n\n")  # ended, with no finish reason
                        self.wfile.flush()
                        return
                    self._piece(piece)
                self._finish(len(pieces))

            def _finish(self, tokens: int = 1) -> None:
                self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": outer.model,
                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 90, "completion_tokens": tokens, "total_tokens": 90 + tokens}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _piece(self, text: str) -> None:
                self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": outer.model,
                             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})

            def _event(self, data: dict[str, object]) -> None:
                self._write(b"data: " + json.dumps(data).encode() + b"\n\n")

            def _write(self, raw: bytes) -> None:
                self.wfile.write(raw)
                self.wfile.flush()
                with outer._lock:
                    outer.script.sent_bytes += len(raw)

            def _hostile(self, answer: str) -> None:
                """Until the client hangs up (an OSError here) or the stand-in stops."""
                if answer == "huge":
                    self._piece("x" * outer.script.huge_bytes)
                    self._finish()
                    return
                sent = 0
                while not outer._stopping.is_set():
                    if answer == "forever":
                        self._piece("word ")
                    elif answer == "huge-pieces":
                        if sent >= outer.script.huge_bytes:
                            self._finish()
                            return
                        self._piece("y" * 65536)
                        sent += 65536
                    else:  # keep-alive comments, and never a word
                        self._write(b": keep-alive\n\n")
                        if self._wait_while_connected(0.05):
                            raise ConnectionResetError("the client hung up")
                    time.sleep(outer.script.delay_s)

            def _wait_while_connected(self, seconds: float | None) -> bool:
                """Wait ``seconds`` (None: until the client hangs up, or the stand-in stops); True when the
                client hung up."""
                deadline = None if seconds is None else time.monotonic() + seconds
                while not outer._stopping.is_set() and (deadline is None or time.monotonic() < deadline):
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and not self.connection.recv(1, socket.MSG_PEEK):
                        return True
                return False

            def _json(self, status: int, data: dict[str, object]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
