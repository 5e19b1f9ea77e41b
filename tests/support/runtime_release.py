"""A stand-in for GitHub's release API on 127.0.0.1, serving llama.cpp release assets, and the archives it serves.

``ReleaseStandIn`` answers ``/repos/ggml-org/llama.cpp/releases/tags/<tag>`` with each asset's name, size,
``browser_download_url`` (pointing back at itself) and ``digest``, and serves the assets with Range requests,
plus faults a test can switch on: a connection dropped after some bytes, a digest that does not match.
``pack_build`` lays a folder out as the release workflow packs its Linux builds: a ``.tar.gz`` whose one top
folder is ``llama-<tag>/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from caprl_desktop.core.runtimes.catalog import REPOSITORY, TAG
from tests.support.local_http import LocalHttpServer


@dataclass
class Served:
    method: str
    path: str
    range: str | None


@dataclass
class ReleaseStandIn:
    tag: str = TAG
    assets: dict[str, bytes] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # a digest given instead of the asset's own
    drop_after: dict[str, list[int]] = field(default_factory=dict)  # asset -> byte offsets, one per request
    log: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._http = LocalHttpServer(self._handler_class())

    @property
    def endpoint(self) -> str:
        return self._http.endpoint

    def add(self, name: str, data: bytes) -> str:
        self.assets[name] = data
        return hashlib.sha256(data).hexdigest()

    def downloads_of(self, name: str) -> list[Served]:
        return [r for r in self.log if r.path.endswith("/" + name)]

    def start(self) -> ReleaseStandIn:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def _listing(self) -> bytes:
        assets = [{"name": name, "size": len(data), "digest": self.digests.get(name) or
                   f"sha256:{hashlib.sha256(data).hexdigest()}",
                   "browser_download_url": f"{self.endpoint}/download/{self.tag}/{name}",
                   "content_type": "application/octet-stream"} for name, data in self.assets.items()]
        return json.dumps({"tag_name": self.tag, "name": self.tag, "assets": assets}).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        release = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                release.log.append(Served("GET", path, self.headers.get("Range")))
                if path == f"/repos/{REPOSITORY}/releases/tags/{release.tag}":
                    self._reply(200, release._listing(), "application/json")
                    return
                found = re.fullmatch(rf"/download/{re.escape(release.tag)}/(.+)", path)
                if found is None or found.group(1) not in release.assets:
                    self._reply(404, b'{"message": "Not Found"}', "application/json")
                    return
                self._asset(found.group(1))

            def _reply(self, status: int, payload: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _asset(self, name: str) -> None:
                data = release.assets[name]
                requested = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                start = int(requested.group(1)) if requested else 0
                self.send_response(206 if start else 200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                drops = release.drop_after.get(name)
                end = min(len(data), drops.pop(0)) if drops else len(data)
                try:
                    self.wfile.write(data[start:max(start, end)])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
                if end < len(data):
                    self.close_connection = True  # fewer bytes than Content-Length: the client sees a drop

        return Handler


def pack_build(folder: Path, tag: str = TAG) -> bytes:
    """``folder``'s files as the release packs a Linux build: ``llama-<tag>/…`` in a ``.tar.gz``, links kept."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=f"llama-{tag}", recursive=False)
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            archive.add(path, arcname=f"llama-{tag}/{path.name}", recursive=False)
    return buffer.getvalue()


def tar_of(members: dict[str, bytes | str], *, mode: int = 0o755) -> bytes:
    """A ``.tar.gz`` of the given members: a name ending in "/" a folder, bytes a file, a ``str`` a symbolic
    link to that target."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                archive.addfile(info)
            else:
                info.size, info.mode = len(content), mode
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
