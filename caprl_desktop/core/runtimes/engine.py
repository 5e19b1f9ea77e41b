"""Captions made by a runtime: its ``llama-server`` started for the run, driven by the remote engine.

``RuntimeEngine`` is the engine the scheduler drives (``start`` / ``submit`` / ``next_reply`` / ``abandon``),
so jobs, the journal, resume, sidecars and exports need no second path. ``start`` starts the server with the
run's model and settings (``server``) and hands the remote engine (``core/engine/remote``) a ``Server`` for it:
streaming, cancel and retries come from there. It reports what it loaded as the built-in engine does
(``EngineInfo``: the model files, so records keep their names and checksums), and each caption names the
runtime (``engine``: "llama.cpp b11312 (cpu)") and the model it served.

A server that dies (a native crash, killed, out of memory) is seen at once: a thread waits on the process and
closes the remote engine, and the next reply or submit raises ``EngineCrashedError``. The scheduler then does
what it does for the built-in engine: ``start`` again (a fresh server) and the captions that were in flight
tried again one at a time; what streamed before the crash is never saved, so nothing is captioned twice.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from caprl_desktop.core.engine.backend import AMX_ENV, BackendInfo, DeviceInfo
from caprl_desktop.core.engine.client import crash_reason
from caprl_desktop.core.engine.remote.capacity import Deadlines
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionRestarted
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import EngineCrashedError, EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.models.files import ModelPairInfo, check_model_pair
from caprl_desktop.core.params import EngineConfig, GenerationParams, default_threads
from caprl_desktop.core.prompts import PromptSpec
from caprl_desktop.core.runtimes.server import Launch, LlamaServer
from caprl_desktop.core.runtimes.store import InstalledRuntime

# Captions at a time when the run does not say: on a CPU total decode speed peaks at 4 side by side
# (docs/benchmarks.md, the built-in engine's measurement); a GPU has compute to spare.
CPU_SLOTS, GPU_SLOTS = 4, 8
# The server is on this computer: a crash is seen by its process ending, not by a time-out, so its captions may
# take as long as a slow CPU needs (the remote engine's defaults are for servers elsewhere).
LOCAL_DEADLINES = Deadlines(floor_s=120.0, unmeasured_s=600.0, unmeasured_per_image_token_s=0.5,
                            unmeasured_per_token_s=5.0)
_KEY_ENV = "CAPRL_RUNTIME_KEY_{pid}_{n}"
# A stream cut short on this computer: how long to wait for the server's process to say whether it died.
_DYING_S = 5.0
_key_names = itertools.count(1)


def amx_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has AMX, whose llama.cpp kernels crash on Q4_K weights (``backend.amx_kernels_unsafe``,
    which the built-in engine asks of llama.cpp itself; the server is asked nothing before it loads)."""
    if os.environ.get(AMX_ENV) == "1" or not sys.platform.startswith("linux"):
        return False
    try:
        return " amx_int8" in cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def plan_launch(runtime: InstalledRuntime, config: EngineConfig, pair: ModelPairInfo) -> Launch:
    """How the server is started for ``config``: the same model, context, image budget and threads the built-in
    engine would use. GPU layers: as the run says; else none for the CPU build, and for a GPU build what
    llama.cpp fits into the GPU's free memory (it does when ``-ngl`` is not given)."""
    cpu = runtime.variant == "cpu"
    return Launch(
        model=pair.model_path, mmproj=pair.mmproj_path,
        slots=config.parallel or (CPU_SLOTS if cpu else GPU_SLOTS), ctx_per_slot=config.n_ctx,
        gpu_layers=0 if cpu else config.gpu_layers, threads=config.threads or default_threads(),
        image_max_tokens=config.image_budget.max_tokens, image_min_tokens=config.image_budget.min_tokens,
        flash_attn=config.flash_attn, warmup=config.warmup, no_repack=amx_cpu(), alias=pair.model_path.name,
    )


class RuntimeEngine:
    """A runtime's server as the scheduler's engine; see the module docstring. ``captioned`` is told once, at
    its first caption made (the runtime has proven itself: ``store.captioned``)."""

    def __init__(self, runtime: InstalledRuntime, config: EngineConfig, *, log_dir: Path | None = None,
                 notice: Callable[[str], None] | None = None, captioned: Callable[[], None] | None = None,
                 ready_timeout_s: float | None = None) -> None:
        self.runtime = runtime
        self.config = config
        self._log_dir = log_dir
        self._notice = notice
        self._captioned = captioned
        self._ready_timeout_s = ready_timeout_s
        self._server: LlamaServer | None = None
        self._remote: RemoteEngine | None = None
        self._died = threading.Event()
        self._closing = False
        self._ids = itertools.count(1)
        self._mine: dict[int, int] = {}  # the remote engine's request ids -> this engine's (they restart with it)
        self.info: EngineInfo | None = None

    @property
    def server(self) -> LlamaServer | None:
        return self._server

    @property
    def log_path(self) -> Path | None:
        return self._server.log_path if self._server is not None else None

    @property
    def parallel(self) -> int:
        return self._server.launch.slots if self._server is not None else 1

    @property
    def running(self) -> bool:
        return self.info is not None and self._server is not None and self._server.alive() and not self._died.is_set()

    @property
    def pid(self) -> int | None:
        """The server's process (what the window watches and a test kills)."""
        return self._server.pid if self._server is not None else None

    # --- life cycle ---------------------------------------------------------------------------------

    def start(self, config: EngineConfig | None = None) -> EngineInfo:
        """Start (or start again, with ``config`` if given) the server and the remote engine on it; raises a
        ``CaprlError`` (``RuntimeStartError`` when the server does not come up)."""
        if config is not None:
            self.config = config
        self._stop()
        self._closing = False
        started = time.perf_counter()
        pair = check_model_pair(Path(self.config.model_path), Path(self.config.mmproj_path))
        launch = plan_launch(self.runtime, self.config, pair)
        kwargs = {} if self._ready_timeout_s is None else {"ready_timeout_s": self._ready_timeout_s}
        server = self._server = LlamaServer(self.runtime, launch, log_dir=self._log_dir, **kwargs)
        server.start()
        self._died.clear()
        # The remote engine reads a server's key from the variable it names, once, as it makes its client.
        key_env = _KEY_ENV.format(pid=os.getpid(), n=next(_key_names))
        os.environ[key_env] = server.key
        try:
            remote = RemoteEngine([Server(server.url, launch.slots, api_key_env=key_env, name=self.runtime.label)],
                                  deadlines=LOCAL_DEADLINES, notice=self._notice)
            remote.start()
        except BaseException:
            server.stop()
            raise
        finally:
            os.environ.pop(key_env, None)
        self._remote = remote
        self._mine.clear()
        threading.Thread(target=self._watch, args=(server, remote), name="caprl-runtime-watch", daemon=True).start()
        self.info = self._describe(pair, launch, server, time.perf_counter() - started)
        return self.info

    def _watch(self, server: LlamaServer, remote: RemoteEngine) -> None:
        """Wait for the server's process to end; one that ends on its own closes the remote engine at once, so
        the thread waiting for replies hears of it (``_crash``) instead of retrying a dead server."""
        process = server.process
        if process is None:
            return
        process.wait()
        if not self._closing and self._remote is remote:
            self._died.set()
            remote.close()

    def _describe(self, pair: ModelPairInfo, launch: Launch, server: LlamaServer, seconds: float) -> EngineInfo:
        devices, offloaded = server.devices()
        gpus = tuple(DeviceInfo(backend=_backend_name(ident), name=ident, description=name, kind="gpu",
                                memory_total=0, memory_free=0)
                     for ident, name in devices if not ident.upper().startswith("CPU"))
        gpu_layers = offloaded if offloaded is not None else launch.gpu_layers or 0
        backend = BackendInfo(gpu_offload=bool(gpus), devices=gpus,
                              system_info=f"{self.runtime.label}, {server.runtime.folder}")
        where = (f"{gpus[0].backend}: {gpus[0].description} ({gpu_layers}/{pair.n_layer + 1} layers)"
                 if gpus and gpu_layers else "CPU")
        return EngineInfo(model=pair, backend=backend, backend_line=f"{self.runtime.label} on {where}",
                          gpu_layers=gpu_layers, n_layer=pair.n_layer, n_ctx=launch.ctx_per_slot,
                          threads=launch.threads, image_budget=self.config.image_budget, load_seconds=seconds,
                          parallel=launch.slots)

    def _stop(self) -> None:
        self._closing = True
        remote, self._remote = self._remote, None
        if remote is not None:
            remote.close()
        if self._server is not None:
            self._server.stop()
        self.info = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> RuntimeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- captions ----------------------------------------------------------------------------------

    def _crash(self) -> EngineCrashedError:
        server = self._server
        tail = server.log_tail() if server is not None else ""
        how = server.exit_description() if server is not None else "it stopped"
        code = server.process.poll() if server is not None and server.process is not None else None
        reason = crash_reason(tail)
        self._stop()
        return EngineCrashedError(f"the runtime's server ({self.runtime.label}) stopped ({how})"
                                  + (f": {reason}" if reason else ""), code, tail)

    def _ended_within(self, seconds: float) -> bool:
        """Whether the server's process ends within ``seconds`` (waited on: no sooner than it ends)."""
        process = self._server.process if self._server is not None else None
        if process is None:
            return True
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _dead(self) -> bool:
        return self._died.is_set() or (self._server is not None and self._remote is not None
                                        and not self._server.alive())

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        if self._dead():
            raise self._crash()
        if self._remote is None:
            raise EngineError("the runtime's server is not running")
        theirs = self._remote.submit(image, prompt, params)
        if self._dead():
            # It died as this was sent: the remote engine may have been closed before it took the caption in,
            # and would then wait for a server for it (``_watch`` sets ``_died`` before it closes the engine).
            raise self._crash()
        mine = self._mine[theirs] = next(self._ids)
        return mine

    def next_reply(self) -> CaptionReply:
        remote = self._remote
        if remote is None:
            raise EngineError("the runtime's server is not running")
        if self._dead():
            raise self._crash()
        try:
            reply = remote.next_reply()
        except EngineError:
            if self._dead():
                raise self._crash() from None
            raise
        if isinstance(reply, CaptionRestarted) and self._ended_within(_DYING_S):
            raise self._crash()  # its stream was cut by the server dying, which the process says a moment later
        if self._dead():  # (a reply from just before it died: the captions in flight are tried again)
            raise self._crash()
        mine = self._mine.get(reply.request_id, 0)
        if isinstance(reply, CaptionDone):
            self._mine.pop(reply.request_id, None)
            stats = dataclasses.replace(reply.output.stats, engine=self.runtime.label)
            # Stripped as the built-in engine strips its captions: one of only blank lines is empty there too.
            output = dataclasses.replace(reply.output, text=reply.output.text.strip(), stats=stats)
            reply = CaptionDone(mine, output)
            if stats.finish_reason != "cancelled" and self._captioned is not None:
                told, self._captioned = self._captioned, None
                told()
            return reply
        if isinstance(reply, CaptionFailed):
            self._mine.pop(reply.request_id, None)
        return dataclasses.replace(reply, request_id=mine)

    def abandon(self, request_ids: Iterable[int]) -> None:
        given = set(request_ids)
        theirs = [t for t, m in self._mine.items() if m in given]
        for t in theirs:
            del self._mine[t]
        if self._remote is not None:
            self._remote.abandon(theirs)

    def stop_caption(self, request_id: int) -> None:
        """End this caption now (it ends with its own reply, finish reason "cancelled"); the others go on."""
        theirs = next((t for t, m in self._mine.items() if m == request_id), None)
        if theirs is not None and self._remote is not None:
            self._remote.stop_caption(theirs)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` to the served model (an edited caption: no special tokens), asked of the server."""
        import httpx2

        server = self._server
        if server is None or not self.running:
            raise EngineError("the runtime's server is not running")
        try:
            answer = httpx2.post(f"http://127.0.0.1:{server.port}/tokenize", timeout=30.0,
                                 headers={"Authorization": f"Bearer {server.key}"},
                                 json={"content": text, "add_special": False, "parse_special": False})
            tokens = answer.json().get("tokens") if answer.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, AttributeError) as exc:
            raise EngineError(f"the runtime's server could not count the tokens: {exc}") from exc
        if not isinstance(tokens, list):
            raise EngineError(f"the runtime's server could not count the tokens (HTTP {answer.status_code})")
        return len(tokens)

    def cancel(self) -> None:
        """Stop every caption in flight (Stop); safe from any thread."""
        remote = self._remote
        if remote is not None:
            remote.cancel()


def _backend_name(ident: str) -> str:
    """ggml's device id as a backend's name: "CUDA0" -> "CUDA", "MTL0" -> "Metal", "Vulkan1" -> "Vulkan"."""
    name = ident.rstrip("0123456789")
    return {"MTL": "Metal", "ROCm": "ROCm", "HIP": "ROCm"}.get(name, name)
