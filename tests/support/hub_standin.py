"""A stand-in for the Hugging Face hub on 127.0.0.1, answering what huggingface-hub asks for.

It serves ``/api/models/<repo>[/revision/<rev>]`` listings with sizes and sha256, and
``/<repo>/resolve/<rev>/<file>`` with ``X-Repo-Commit``, ``ETag``, ``Content-Length`` and Range requests,
plus faults a test can switch on: a connection dropped after N bytes, a corrupted body, an error status,
a Range header ignored, a slow line.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from tests.support.local_http import LocalHttpServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
STATIC = "mradermacher/CapRL-3B-GGUF"
IMATRIX = "mradermacher/CapRL-3B-i1-GGUF"
QWEN3VL_2B = "internlm/CapRL-Qwen3VL-2B-GGUF"
QWEN3VL_4B = "internlm/CapRL-Qwen3VL-4B-GGUF"


@dataclass
class Faults:
    drop_after: dict[str, list[int]] = field(default_factory=dict)  # file -> byte offsets, one per request
    corrupt: set[str] = field(default_factory=set)
    status: dict[str, int] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    bytes_per_second: float | None = None  # throttle every body
    garbled_listing: set[str] = field(default_factory=set)  # repos whose listing is not the hub's JSON


@dataclass
class RequestLog:
    method: str
    path: str
    range: str | None


class HubStandIn:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.faults = Faults()
        self.log: list[RequestLog] = []
        self._http = LocalHttpServer(self._handler_class())

    @property
    def endpoint(self) -> str:
        return self._http.endpoint

    def add(self, repo: str, filename: str, data: bytes) -> str:
        self.repos.setdefault(repo, {})[filename] = data
        return hashlib.sha256(data).hexdigest()

    def start(self) -> HubStandIn:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def downloads_of(self, filename: str) -> list[RequestLog]:
        return [r for r in self.log if r.method == "GET" and r.path.endswith("/" + filename)]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _error(self, status: int, code: str | None = None) -> None:
                payload = json.dumps({"error": code or "error"}).encode()
                self.send_response(status)
                if code:
                    self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _serve(self, body: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                hub.log.append(RequestLog(self.command, path, self.headers.get("Range")))
                listing = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
                if listing:
                    self._listing(listing.group(1))
                    return
                resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if resolve:
                    self._file(resolve.group(1), resolve.group(3), body)
                    return
                self._error(404)

            def _listing(self, repo: str) -> None:
                files = hub.repos.get(repo)
                if files is None:
                    self._error(401, "RepoNotFound")
                    return
                if repo in hub.faults.garbled_listing:  # a captive portal or proxy answering instead
                    page = b"<html><body>Please log in to the Wi-Fi</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                siblings = [
                    {"rfilename": name, "size": len(data), "blobId": hashlib.sha1(data).hexdigest(),
                     "lfs": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}}
                    for name, data in files.items()
                ]
                payload = json.dumps({"id": repo, "modelId": repo, "sha": COMMIT, "private": False,
                                      "siblings": siblings}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _file(self, repo: str, filename: str, body: bool) -> None:
                files = hub.repos.get(repo)
                if files is None:
                    self._error(401, "RepoNotFound")
                    return
                if filename not in files:
                    self._error(404, "EntryNotFound")
                    return
                if filename in hub.faults.status:
                    self._error(hub.faults.status[filename])
                    return
                data = files[filename]
                if body and filename in hub.faults.corrupt:
                    data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
                start = 0
                requested = self.headers.get("Range")
                if requested and filename not in hub.faults.ignore_range:
                    match = re.fullmatch(r"bytes=(\d+)-", requested)
                    start = int(match.group(1)) if match else 0
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(files[filename]).hexdigest()}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if not body:
                    return
                drops = hub.faults.drop_after.get(filename)
                stop = drops.pop(0) if drops else None
                self._send_body(data, start, stop)

            def _send_body(self, data: bytes, start: int, stop: int | None) -> None:
                end = len(data) if stop is None else max(start, min(stop, len(data)))
                for offset in _chunks(start, end, 16 << 10):
                    piece = data[offset:min(offset + (16 << 10), end)]
                    try:
                        self.wfile.write(piece)
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    if hub.faults.bytes_per_second:
                        time.sleep(len(piece) / hub.faults.bytes_per_second)
                if stop is not None:
                    self.close_connection = True  # fewer bytes than Content-Length: the client sees a drop

        return Handler


def _chunks(start: int, end: int, step: int) -> Iterator[int]:
    return iter(range(start, end, step))
