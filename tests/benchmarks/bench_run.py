"""One benchmark run in a process of its own, so that its load time and peak memory are its alone.

``python -m tests.benchmarks.bench_run SPEC.json RESULT.json``; ``bench`` writes the spec and reads the
result.  Three kinds of run:

- ``naive``: the loop people write today, llama-cpp-python's ``Llama`` with its ``MTMDChatHandler``, one
  ``create_chat_completion`` per image (streamed, so the first token can be timed).
- ``app``: this app's own path, ``run_job`` over the folder through an ``EngineClient`` (engine process,
  read-ahead, side-by-side decoding when ``parallel`` > 1, sidecars written).
- ``runtime``: the same ``run_job`` through a llama.cpp runtime's engine instead (``core/runtimes``: the
  ``llama-server`` in ``spec.runtime`` started as the app starts it, captions through the remote engine), as
  ``caprl-desktop runtime use`` makes every run do.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caprl_desktop.core.engine.client import EngineClient
    from caprl_desktop.core.params import EngineConfig
    from caprl_desktop.core.runtimes.engine import RuntimeEngine

SYSTEM = "You are a helpful assistant."
USER = "Please describe this image in detail."


@dataclass
class RunSpec:
    kind: str  # naive | app | runtime
    model: str
    mmproj: str
    images: list[str]
    max_tokens: int
    image_tokens: int  # the image budget; the benchmark's images are made to fit it exactly
    threads: int
    seed: int = 1
    parallel: int | None = None
    flash_attn: bool | None = None
    gpu_layers: int | None = None
    workdir: str = ""
    runtime: str = ""  # kind runtime: the folder holding llama-server and its libraries


@dataclass
class ImageTiming:
    image_tokens: int
    encode_ms: float  # 0 where the pipeline cannot tell encode from prompt (naive): see first_token_ms
    prompt_ms: float
    first_token_ms: float  # from the request to the first token (encode + prompt + first step)
    output_tokens: int
    decode_tokens_per_s: float  # this caption's tokens over its own decode time
    total_s: float
    width: int = 0  # as the app sized it (naive: not known)
    height: int = 0


@dataclass
class RunResult:
    kind: str
    load_s: float
    folder_s: float  # first image asked for to last caption done
    images: list[ImageTiming] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    peak_rss_bytes: int = 0
    peak_vram_bytes: int = 0
    parallel: int = 1
    backend: str = ""
    load_before: float = 0.0  # the machine's 1-minute load average as the run began (others' work on a shared one)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Back from what ``asdict`` wrote (a run's result file, or a benchmark's JSON)."""
        return cls(**{**data, "images": [ImageTiming(**i) for i in data["images"]]})


class VramSampler:
    """Highest GPU memory in use while it runs, read from nvidia-smi (absent: stays 0)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._tool = shutil.which("nvidia-smi")
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> VramSampler:
        if self._tool:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._tool:
            self._thread.join()

    def _run(self) -> None:
        assert self._tool is not None
        while not self._stop.wait(0.2):
            try:
                out = subprocess.run([self._tool, "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5, check=True).stdout
                self.peak = max(self.peak, int(out.split()[0]) * 1024 * 1024)
            except (OSError, subprocess.SubprocessError, ValueError, IndexError):
                return


def _maxrss(who: int) -> int:
    kib_or_bytes = resource.getrusage(who).ru_maxrss
    return kib_or_bytes if sys.platform == "darwin" else kib_or_bytes * 1024


def run_naive(spec: RunSpec) -> RunResult:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import MTMDChatHandler

    started = time.perf_counter()
    handler = MTMDChatHandler(clip_model_path=spec.mmproj, verbose=False)
    llm = Llama(
        model_path=spec.model,
        chat_handler=handler,
        n_ctx=spec.image_tokens + spec.max_tokens + 512,
        n_gpu_layers=-1 if spec.gpu_layers is None else spec.gpu_layers,
        n_threads=spec.threads,
        n_threads_batch=spec.threads,
        flash_attn=bool(spec.flash_attn),
        seed=spec.seed,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    # Random weights would end captions at random: the end-of-turn token is banned, as in the app's run.
    eos = {str(llm.token_eos()): float("-inf")}
    result = RunResult("naive", load_s, 0.0)
    folder_started = time.perf_counter()
    for path in spec.images:
        uri = "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()
        t0 = time.perf_counter()
        first = 0.0
        tokens = 0
        parts: list[str] = []
        stream = llm.create_chat_completion(
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}},
                                             {"type": "text", "text": USER}]},
            ],
            max_tokens=spec.max_tokens, stream=True, temperature=1.0, top_p=1.0, top_k=0, min_p=0.0,
            repeat_penalty=1.0, seed=spec.seed, logit_bias=eos,
        )
        for chunk in stream:
            delta: Any = chunk["choices"][0]["delta"]
            if delta.get("content"):
                if not first:
                    first = time.perf_counter()
                tokens += 1
                parts.append(delta["content"])
        end = time.perf_counter()
        decode_s = end - first if first else 0.0
        result.images.append(ImageTiming(
            image_tokens=spec.image_tokens, encode_ms=0.0, prompt_ms=0.0,
            first_token_ms=(first - t0) * 1000 if first else 0.0, output_tokens=tokens,
            decode_tokens_per_s=(tokens - 1) / decode_s if decode_s > 0 else 0.0, total_s=end - t0,
        ))
        result.texts.append("".join(parts))
    result.folder_s = time.perf_counter() - folder_started
    llm.close()
    result.peak_rss_bytes = _maxrss(resource.RUSAGE_SELF)
    return result


def _engine(spec: RunSpec, config: EngineConfig, logs: Path) -> EngineClient | RuntimeEngine:
    """The built-in engine (kind app) or the CPU runtime's (kind runtime), not yet started."""
    from caprl_desktop.core.engine.client import EngineClient

    if spec.kind != "runtime":
        return EngineClient(config, log_dir=logs)
    from caprl_desktop.core.runtimes.catalog import TAG, VARIANTS
    from caprl_desktop.core.runtimes.engine import RuntimeEngine
    from caprl_desktop.core.runtimes.store import InstalledRuntime, runtime_name

    # An installed runtime's folder is named <tag>-<variant> (its variant decides the GPU layers); any other
    # folder, such as the tests' own build, is taken for the CPU build of the pinned release.
    folder = Path(spec.runtime)
    tag, _, named = folder.name.partition("-")
    variant = next((v for v in VARIANTS if v == named), None)
    if variant is None:
        tag, variant = TAG, "cpu"
    runtime = InstalledRuntime(name=runtime_name(tag, variant), tag=tag, variant=variant, folder=folder, size=0)
    return RuntimeEngine(runtime, config, log_dir=logs)


def run_app(spec: RunSpec) -> RunResult:
    from caprl_desktop.core.jobs.discovery import find_images
    from caprl_desktop.core.jobs.events import ItemFinished, ItemStarted, ItemText
    from caprl_desktop.core.jobs.options import JobOptions
    from caprl_desktop.core.jobs.scheduler import run_job
    from caprl_desktop.core.params import EngineConfig, GenerationParams, ImageBudget
    from caprl_desktop.core.prompts import PromptSpec

    folder = Path(spec.workdir)
    folder.mkdir(parents=True, exist_ok=True)
    for path in spec.images:
        shutil.copy(path, folder / Path(path).name)
    budget = ImageBudget(max_tokens=spec.image_tokens)
    config = EngineConfig(
        model_path=spec.model, mmproj_path=spec.mmproj, image_budget=budget, gpu_layers=spec.gpu_layers,
        threads=spec.threads, max_output_tokens=spec.max_tokens, flash_attn=spec.flash_attn, parallel=spec.parallel,
    )
    params = GenerationParams(max_tokens=spec.max_tokens, temperature=1.0, top_p=1.0, seed=spec.seed, ignore_eos=True)
    options = JobOptions(prompt=PromptSpec(system=SYSTEM, user=USER, language="en", preset="custom"), params=params,
                         image_budget=budget, model_label="bench")
    items, _ = find_images([folder])
    # Both engines load the model (the runtime: its server answers /health) before the clock starts.
    with _engine(spec, config, folder / "logs") as engine:
        started = time.perf_counter()
        info = engine.start()
        load_s = time.perf_counter() - started
        result = RunResult(spec.kind, load_s, 0.0, parallel=info.parallel, backend=info.backend_line)
        asked: dict[int, float] = {}
        first: dict[int, float] = {}
        texts: dict[int, str] = {}
        timings: dict[int, ImageTiming] = {}
        folder_started = time.perf_counter()
        for event in run_job(items, options, engine):
            if isinstance(event, ItemStarted):
                asked[event.index] = time.perf_counter()
            elif isinstance(event, ItemText):
                first.setdefault(event.index, time.perf_counter())
            elif isinstance(event, ItemFinished):
                if not event.ok or event.stats is None:
                    raise SystemExit(f"{event.item.file_name}: {event.record.error}")
                s = event.stats
                texts[event.index] = event.record.caption
                timings[event.index] = ImageTiming(
                    image_tokens=s.image_tokens, encode_ms=s.image_encode_ms, prompt_ms=s.prompt_ms,
                    first_token_ms=(first[event.index] - asked[event.index]) * 1000,
                    output_tokens=s.output_tokens, decode_tokens_per_s=s.tokens_per_second, total_s=s.total_seconds,
                    width=s.image_width, height=s.image_height,
                )
        result.folder_s = time.perf_counter() - folder_started
    result.images = [timings[i] for i in sorted(timings)]
    result.texts = [texts[i] for i in sorted(texts)]
    result.peak_rss_bytes = _maxrss(resource.RUSAGE_CHILDREN)  # the engine process or server, now ended
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = RunSpec(**json.loads(Path(args[0]).read_text(encoding="utf-8")))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with VramSampler() as vram:
        result = run_naive(spec) if spec.kind == "naive" else run_app(spec)
    result.peak_vram_bytes = vram.peak
    Path(args[1]).write_text(json.dumps(asdict(result)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
