"""Caption servers for the remote-engine tests: llama-cpp-python's own OpenAI-compatible server, and a stand-in.

``LlamaServer`` runs the real thing (``python -m llama_cpp.server``, from its ``server`` extra) on 127.0.0.1
with a generated model, one thread, and no interrupting of one request by the next, so two captions sent
to it queue as they would on a small server. ``StandInServer`` speaks just enough of the API
(``/v1/models``, streamed ``/v1/chat/completions``) to fail on purpose: an HTTP status, a stream cut after
some pieces, a slow start.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.models import ModelFiles


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LlamaServer:
    """``python -m llama_cpp.server`` with a model pair, until ``stop`` (or ``kill``)."""

    def __init__(self, models: ModelFiles, log: Path, *, n_ctx: int = 4096) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(models.model), "--clip_model_path",
             str(models.mmproj), "--chat_format", "mtmd", "--host", "127.0.0.1", "--port", str(self.port),
             "--n_ctx", str(n_ctx), "--n_threads", "1", "--n_threads_batch", "1", "--interrupt_requests", "False",
             "--flash_attn", "True"],
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

    answers: list[str] = field(default_factory=list)  # "ok", an HTTP status ("429"), "cut" (two pieces, then closed)
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


class StandInServer:
    """An OpenAI-compatible server that fails when told to (see ``Script``); HTTPS with ``tls``."""

    def __init__(self, model: str = "stand-in-model", *, tls: ssl.SSLContext | None = None) -> None:
        self.script = Script()
        self.model = model
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        if tls is not None:  # the certificate names localhost: the address a client checks it against
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://localhost:{port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)

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
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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
                    self._stream(answer)

            def _stream(self, answer: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = outer.script.pieces
                time.sleep(outer.script.first_delay_s)
                for number, piece in enumerate(pieces):
                    time.sleep(outer.script.delay_s)
                    if answer == "cut" and number == 2:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # the stream stops mid-caption
                        return
                    self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": outer.model,
                                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                self._event({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": outer.model,
                             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 90, "completion_tokens": len(pieces), "total_tokens": 93}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, data: dict[str, object]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

            def _json(self, status: int, data: dict[str, object]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
