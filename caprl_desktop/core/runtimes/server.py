"""A runtime's ``llama-server`` running as the app's child: its command line, its start, its health, its end.

It listens on 127.0.0.1 only, on a port free when it starts, and answers only requests carrying a key made
for this start (given to it in its environment, ``LLAMA_API_KEY``, which other users cannot read, unlike a
command line). It loads the model and projector the run uses, with the run's GPU layers, captions at a time
(``-np``, each with the context one caption needs: ``-c`` is their sum), the image-token limits of the run's
detail and no web UI. ``start`` returns once ``/health`` answers (the model is loaded), or raises
``RuntimeStartError`` with the end of its log. Its output goes to ``runtime-<app pid>.log`` in the log folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from caprl_desktop.core import paths
from caprl_desktop.core.engine.client import crash_reason, describe_exit
from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.runtimes.children import start_child
from caprl_desktop.core.runtimes.store import InstalledRuntime

HOST = "127.0.0.1"
KEY_ENV = "LLAMA_API_KEY"
READY_TIMEOUT_S = 600.0  # a large model from a slow disk onto a GPU
_POLL_S = 0.1
_STOP_S = 5.0
_FLASH_ATTN = {None: "auto", True: "on", False: "off"}


class RuntimeStartError(EngineError):
    """The runtime's server did not come up; ``log_tail`` is the end of what it wrote."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class Launch:
    """What ``llama-server`` is started with."""

    model: Path
    mmproj: Path
    slots: int  # captions at a time
    ctx_per_slot: int  # what one caption needs: image, prompt and output
    gpu_layers: int | None  # None: llama.cpp fits them to the GPU's free memory
    threads: int
    image_max_tokens: int
    image_min_tokens: int | None = None
    flash_attn: bool | None = None
    warmup: bool = True
    no_repack: bool = False  # the CPU's AMX kernels crash on Q4_K here (``backend.amx_kernels_unsafe``)
    alias: str = ""  # the model's name in /v1/models (the file's name)


def command(runtime: InstalledRuntime, launch: Launch, port: int) -> list[str]:
    args = [
        str(runtime.server),
        "--host", HOST, "--port", str(port),
        "-m", str(paths.llama_openable(launch.model)), "--mmproj", str(paths.llama_openable(launch.mmproj)),
        "-np", str(launch.slots), "-c", str(launch.ctx_per_slot * launch.slots),
        "-t", str(launch.threads), "-tb", str(launch.threads),
        "-fa", _FLASH_ATTN[launch.flash_attn],
        "--image-max-tokens", str(launch.image_max_tokens),
        "--no-webui",
    ]
    if launch.gpu_layers is not None:
        args += ["-ngl", str(launch.gpu_layers)]
    if launch.image_min_tokens is not None:
        args += ["--image-min-tokens", str(launch.image_min_tokens)]
    if not launch.warmup:
        args.append("--no-warmup")
    if launch.no_repack:
        args.append("--no-repack")
    if launch.alias:
        args += ["--alias", launch.alias]
    return args


def free_port() -> int:
    """A port nobody listens on now (the server takes it a moment later; a clash is retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def child_environment(key: str) -> dict[str, str]:
    """The app's environment for the server, with its key. Without the other runtime keys the app holds, and
    without llama.cpp's own ``LLAMA_ARG_*`` settings a user may have for another llama-server: this one is
    set up by the app alone (one left to such a variable, ``-ngl`` on a GPU build, would follow it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAPRL_RUNTIME_KEY", "LLAMA_ARG_"))}
    env[KEY_ENV] = key
    return env


class LlamaServer:
    """One ``llama-server`` process at a time (``start`` again starts a fresh one on a fresh port and key)."""

    def __init__(self, runtime: InstalledRuntime, launch: Launch, *, log_dir: Path | None = None,
                 ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        self.runtime = runtime
        self.launch = launch
        self.ready_timeout_s = ready_timeout_s
        self.log_path = (log_dir or paths.log_dir()) / f"runtime-{os.getpid()}.log"
        self.port = 0
        self.key = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0  # where this start's output begins in the log

    @property
    def url(self) -> str:
        """Its OpenAI-compatible API's base."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_description(self) -> str:
        """How it ended ("exit code 1", "signal 9, SIGKILL: it was killed")."""
        code = self._process.poll() if self._process is not None else None
        return describe_exit(code)

    def start(self) -> None:
        """Start it and wait until it has loaded the model; raises ``RuntimeStartError``."""
        if not self.runtime.server.is_file():
            raise RuntimeStartError(f"{self.runtime.label} has no {self.runtime.server.name} (its folder "
                                    f"{self.runtime.folder} was changed); install it again")
        for attempt in range(3):
            self.stop()
            self.port, self.key = free_port(), secrets.token_urlsafe(24)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - open for the server's life
            self._log_start = self._log.tell()
            header = f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {self.runtime.label}: port {self.port}\n"
            self._log.write(header.encode())
            self._log.flush()
            try:
                self._process = start_child(command(self.runtime, self.launch, self.port),
                                            env=child_environment(self.key), output=self._log,
                                            cwd=self.runtime.folder)
            except OSError as exc:
                self.stop()
                raise RuntimeStartError(f"{self.runtime.label} could not be started: {exc}") from exc
            try:
                self._wait_ready()
                return
            except RuntimeStartError as exc:
                taken = "bind" in exc.log_tail.lower() or "address already in use" in exc.log_tail.lower()
                if not taken or attempt == 2:
                    raise  # (a port taken in between is tried again with another)

    def _wait_ready(self) -> None:
        import httpx2

        deadline = time.monotonic() + self.ready_timeout_s
        with httpx2.Client(timeout=2.0) as client:
            while True:
                if not self.alive():
                    tail, how = self.log_tail(), self.exit_description()
                    self.stop()
                    raise RuntimeStartError(f"{self.runtime.label} stopped before it was ready ({how})"
                                            f"{_last_error(tail)}", tail)
                with contextlib.suppress(httpx2.HTTPError):
                    if client.get(f"http://{HOST}:{self.port}/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    raise RuntimeStartError(f"{self.runtime.label} did not load the model within "
                                            f"{self.ready_timeout_s:.0f} s{_last_error(tail)}", tail)
                time.sleep(_POLL_S)  # (it says nothing when it is ready: asked again shortly)

    def log_tail(self, limit: int = 64 * 1024) -> str:
        """What this start of the server wrote (its last ``limit`` bytes)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(self._log_start, f.seek(0, os.SEEK_END) - limit))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def devices(self) -> tuple[list[tuple[str, str]], int | None]:
        """The devices it loaded onto [(backend id, name)] and the layers it put on a GPU (None: not said)."""
        tail = self.log_tail(1 << 20)
        devices = [(m.group(1), m.group(2)) for m in _USING_DEVICE.finditer(tail)]
        offloaded = _OFFLOADED.search(tail)
        return devices, int(offloaded.group(1)) if offloaded else None

    def stop(self) -> None:
        """End it (asked, then killed) and close its log."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(_STOP_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


_USING_DEVICE = re.compile(r"using device (\S+) \(([^)]*)\)")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")


def _last_error(tail: str) -> str:
    """The line of the log that says what went wrong, as ": …" (or "" when none does)."""
    reason = crash_reason(tail)
    return f": {reason}" if reason else ""
