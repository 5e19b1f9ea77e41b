"""The speed benchmark: this app's folder captioning against the loop people write, on each family's shapes.

    python -m tests.benchmarks.bench --configs naive,app --images 8 --max-tokens 256 --runs 3
    python -m tests.benchmarks.bench --families 3b,2b,4b --configs "app:parallel=1;app" --images 3 --max-tokens 48
    python -m tests.benchmarks.bench --configs "app;runtime" --interleave --images 4 --max-tokens 128

``--families`` runs every configuration on each family's full-size model (CapRL-3B, CapRL-Qwen3VL-2B,
CapRL-Qwen3VL-4B; default 3b), on the same images: a Qwen3-VL token covers 32×32 pixels, so the same image
is fewer tokens there (the "image tokens" column).

Each configuration runs ``--runs`` times, every run in a fresh process (``bench_run``) on the same
images, image budget, output length and seed.  Figures are the mean ± standard deviation over the runs,
with the spread (min–max) beside them.  The model is made once and cached (``bench_models``); random
weights would stop at random, so end-of-turn is banned and every caption has ``--max-tokens`` tokens (the
runtime's server is not told to ban it: a note under the table counts any caption that ended early).

Configurations are ``kind[:key=value,...]``: kind ``naive`` (llama-cpp-python's ``create_chat_completion``
per image), ``app`` (``run_job`` through the engine process) or ``runtime`` (``run_job`` through a CPU
llama.cpp runtime: the ``llama-server`` in ``--runtime-dir``, by default the one ``tests/support/
llama_server_build.py`` builds from the source llama-cpp-python vendors, started as ``runtime use`` has the app
start it); keys ``parallel`` (1, 4, 8 …), ``flash`` (on/off; unset: the pipeline's default), ``mmproj``
(f16/q8_0).  ``--interleave`` runs the configurations in turn (A B A B …) instead of all runs of one, then the
next: on a machine others use too, a busy spell then slows each configuration alike.  ``--presets`` instead
times the image encode at each image-budget preset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image

from caprl_desktop.core.params import IMAGE_BUDGET_PRESETS, QWEN25VL_TOKEN_SIDE
from tests.benchmarks.bench_models import BenchModels, ensure_bench_models
from tests.benchmarks.bench_run import RunResult, RunSpec

SIDE = QWEN25VL_TOKEN_SIDE  # pixels per image token along each side (CapRL-3B)


KINDS = ("naive", "app", "runtime")
# What a kind's captions do not tell apart: the naive loop and a server time only the first token.
UNKNOWN = {"naive": {"encode_ms", "prompt_ms"}, "runtime": {"image_tokens", "encode_ms", "prompt_ms"}}


@dataclass(frozen=True)
class Config:
    name: str
    kind: str
    parallel: int | None = None
    flash_attn: bool | None = None
    mmproj: str = "f16"


def parse_config(text: str) -> Config:
    kind, _, rest = text.partition(":")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown kind {kind!r} (naive, app or runtime)")
    values: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key == "parallel":
            values["parallel"] = int(value)
        elif key == "flash":
            values["flash_attn"] = value == "on"
        elif key == "mmproj":
            values["mmproj"] = value.lower()
        else:
            raise argparse.ArgumentTypeError(f"unknown key {key!r} in {text!r}")
    return Config(name=text, kind=kind, **values)


def make_images(folder: Path, count: int, image_tokens: int) -> list[Path]:
    """Photo-like noise at the largest square size the budget takes as it is (no resize in either pipeline)."""
    side = int(image_tokens ** 0.5) * SIDE
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / f"bench-{side}-{i:02d}.png"
        if not path.exists():
            base = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
            Image.fromarray(base).resize((side, side), Image.Resampling.BICUBIC).save(path)
        paths.append(path)
    return paths


def run_once(spec: RunSpec, scratch: Path) -> RunResult:
    scratch.mkdir(parents=True, exist_ok=True)
    spec_path, result_path = scratch / "spec.json", scratch / "result.json"
    spec_path.write_text(json.dumps(asdict(spec)), encoding="utf-8")
    log = scratch / "run.log"
    with log.open("wb") as out:
        code = subprocess.call([sys.executable, "-m", "tests.benchmarks.bench_run", str(spec_path),
                                str(result_path)], stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"run failed (exit {code}); the end of {log}:\n{tail}")
    return RunResult.from_dict(json.loads(result_path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Figure:
    mean: float
    sd: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Figure:
        return cls(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
                   min(values), max(values))

    def show(self, digits: int = 1) -> str:
        return f"{self.mean:.{digits}f} ± {self.sd:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def summarize(runs: list[RunResult]) -> dict[str, Figure]:
    """Per-run figures (per-image ones averaged within the run first), then over runs."""
    def per_run(fn: Any) -> Figure:
        return Figure.of([fn(r) for r in runs])

    def image_mean(r: RunResult, attr: str) -> float:
        return statistics.fmean(getattr(i, attr) for i in r.images)

    return {
        "image_tokens": per_run(lambda r: image_mean(r, "image_tokens")),
        "load_s": per_run(lambda r: r.load_s),
        "encode_ms": per_run(lambda r: image_mean(r, "encode_ms")),
        "prompt_ms": per_run(lambda r: image_mean(r, "prompt_ms")),
        "first_token_s": per_run(lambda r: image_mean(r, "first_token_ms") / 1000),
        "decode_tok_s": per_run(lambda r: image_mean(r, "decode_tokens_per_s")),
        "image_s": per_run(lambda r: image_mean(r, "total_s")),
        "output_tok_s": per_run(lambda r: sum(i.output_tokens for i in r.images) / r.folder_s),
        "images_per_min": per_run(lambda r: len(r.images) / r.folder_s * 60),
        "peak_rss_gb": per_run(lambda r: r.peak_rss_bytes / 1e9),
        "peak_vram_gb": per_run(lambda r: r.peak_vram_bytes / 1e9),
    }


COLUMNS = [
    ("image_tokens", "image tokens", 0),
    ("load_s", "load s", 1),
    ("encode_ms", "encode ms/img", 0),
    ("prompt_ms", "prompt ms/img", 0),
    ("first_token_s", "first token s", 1),
    ("decode_tok_s", "decode tok/s per caption", 1),
    ("output_tok_s", "output tok/s (all)", 1),
    ("image_s", "s per caption", 1),
    ("images_per_min", "images/min", 2),
    ("peak_rss_gb", "peak RSS GB", 2),
]


def table(rows: list[tuple[Config, list[RunResult]]], baseline: str | None) -> str:
    columns = list(COLUMNS)
    if any(r.peak_vram_bytes for _, runs in rows for r in runs):
        columns.append(("peak_vram_gb", "peak VRAM GB", 2))
    head = ["config", "N", *[title for _, title, _ in columns], "vs baseline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = next((summarize(runs)["images_per_min"].mean for c, runs in rows if c.name == baseline), None)
    for config, runs in rows:
        figures = summarize(runs)
        cells = [config.name, str(runs[0].parallel)]
        for key, _, digits in columns:
            unknown = key in UNKNOWN.get(config.kind, set())
            cells.append(("—" if key == "image_tokens" else "— (in first token)") if unknown
                         else figures[key].show(digits))
        ratio = figures["images_per_min"].mean / base if base else float("nan")
        cells.append(f"{ratio:.2f}×" if base else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_rows(path: Path) -> list[tuple[Config, list[RunResult]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(Config(**entry["config"]), [RunResult.from_dict(run) for run in entry["runs"]])
            for entry in data["configs"]]


def same_text(rows: list[tuple[Config, list[RunResult]]]) -> list[str]:
    """Captions of app configurations against the one-at-a-time app run (same seed, same images)."""
    def family_of(config: Config) -> str:  # "2b app:…" when several families ran, else ""
        head, _, rest = config.name.partition(" ")
        return head if rest else ""

    notes = []
    for config, runs in rows:
        reference = next((r[0] for c, r in rows if c.kind == "app" and r[0].parallel == 1
                          and family_of(c) == family_of(config)), None)
        if config.kind != "app" or reference is None or runs[0] is reference:
            continue
        same = sum(a == b for a, b in zip(runs[0].texts, reference.texts, strict=False))
        notes.append(f"{config.name}: {same} of {len(reference.texts)} captions identical to parallel=1")
    return notes


def paired(rows: list[tuple[Config, list[RunResult]]]) -> list[str]:
    """Each configuration's images per minute over the first's, run by run: with the runs made in turn, each
    pair ran minutes apart, so a busy spell on a shared machine moves both sides of a ratio alike."""
    base = [len(r.images) / r.folder_s for r in rows[0][1]]
    notes = []
    for config, runs in rows[1:]:
        ratios = [len(r.images) / r.folder_s / b for r, b in zip(runs, base, strict=False)]
        notes.append(f"{config.name} / {rows[0][0].name}, run by run: "
                     f"{', '.join(f'{x:.2f}×' for x in ratios)} (mean {Figure.of(ratios).show(2)})")
    return notes


def short_captions(rows: list[tuple[Config, list[RunResult]]], max_tokens: int) -> list[str]:
    """Configurations some of whose captions ended before ``max_tokens`` (the runtime's server is not told to ban
    the end of turn as the built-in engine is; with random weights it is rarely sampled, but it can be)."""
    notes = []
    for config, runs in rows:
        short = sum(i.output_tokens < max_tokens for r in runs for i in r.images)
        if short:
            notes.append(f"{config.name}: {short} of {sum(len(r.images) for r in runs)} captions shorter than "
                         f"{max_tokens} tokens")
    return notes


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{platform.system()} {platform.release()}, {cpu}, {psutil.cpu_count(logical=True)} logical CPUs, "
            f"{psutil.virtual_memory().total / 1e9:.0f} GB RAM, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="naive,app", help="comma-separated list; see above (use ; between "
                        "configurations that have keys, e.g. 'naive;app:parallel=4;app')")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--image-tokens", type=int, default=IMAGE_BUDGET_PRESETS["fast"])
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: the app's default")
    parser.add_argument("--gpu-layers", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="where the benchmark models are kept")
    parser.add_argument("--presets", action="store_true", help="time the image encode at each budget preset")
    parser.add_argument("--preset-limit", type=int, default=4096, help="skip presets above this many tokens")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    parser.add_argument("--report", type=Path, default=None, help="print the table of a JSON written before")
    parser.add_argument("--families", default="3b", help="comma-separated: 3b, 2b, 4b (or full keys)")
    parser.add_argument("--interleave", action="store_true",
                        help="run the configurations in turn (A B A B …), not all runs of each in a row")
    parser.add_argument("--runtime-dir", type=Path, default=None,
                        help="kind runtime: the folder holding llama-server (default: built from the vendored "
                        "llama.cpp, tests/support/llama_server_build.py)")
    args = parser.parse_args(argv)
    if args.report:
        earlier = load_rows(args.report)
        print(table(earlier, earlier[0][0].name))
        interleaved = json.loads(args.report.read_text(encoding="utf-8")).get("interleaved", False)
        for note in same_text(earlier) + (paired(earlier) if interleaved else []):
            print(f"- {note}")
        return 0

    from caprl_desktop.core.models.catalog import family
    from caprl_desktop.core.params import default_threads

    threads = args.threads or default_threads()
    families = [family(name).key for name in args.families.split(",")]
    every = {key: ensure_bench_models(args.cache, family=key) for key in families}
    models = every[families[0]]
    scratch_root = Path(tempfile.mkdtemp(prefix="caprl-bench-"))
    print(f"# {machine()}\n# threads {threads}", flush=True)
    for key, made in every.items():
        print(f"# {key}: {made.text.name} ({made.text.stat().st_size / 1e9:.2f} GB), {made.mmproj_f16.name}, "
              f"{made.mmproj_q8_0.name}", flush=True)
    if args.presets:
        return presets(args, models, threads, scratch_root)

    separator = ";" if ";" in args.configs else ","
    configs = [parse_config(c) for c in args.configs.split(separator)]
    images = make_images(scratch_root / "images", args.images, args.image_tokens)
    runtime = ""
    if any(c.kind == "runtime" for c in configs):
        runtime = str(args.runtime_dir or _built_server())
        print(f"# runtime: {runtime}", flush=True)
    order = "in turn" if args.interleave else "in a row"
    print(f"# {args.images} images of {args.image_tokens} CapRL-3B tokens, {args.max_tokens} output tokens each, "
          f"{args.runs} runs per configuration, {order}", flush=True)
    rows: list[tuple[Config, list[RunResult]]] = [
        (base if len(families) == 1 else replace(base, name=f"{family(key).short} {base.name}"), [])
        for key in families for base in configs]
    keys = [key for key in families for _ in configs]
    turns = ([(n, r) for n in range(args.runs) for r in range(len(rows))] if args.interleave
             else [(n, r) for r in range(len(rows)) for n in range(args.runs)])
    for n, r in turns:
        config, runs = rows[r]
        family_models = every[keys[r]]
        spec = RunSpec(kind=config.kind, model=str(family_models.text),
                       mmproj=str(family_models.mmproj(config.mmproj)), images=[str(p) for p in images],
                       max_tokens=args.max_tokens, image_tokens=args.image_tokens, threads=threads,
                       parallel=config.parallel, flash_attn=config.flash_attn, gpu_layers=args.gpu_layers,
                       workdir=str(scratch_root / f"{r}-{n}" / "folder"), runtime=runtime)
        started, load = time.perf_counter(), os.getloadavg()[0]
        result = replace(run_once(spec, scratch_root / f"{r}-{n}"), load_before=load)
        runs.append(result)
        print(f"  {config.name} run {n + 1}: {time.perf_counter() - started:.0f} s, "
              f"{len(result.images) / result.folder_s * 60:.2f} images/min (load average before: {load:.1f})",
              flush=True)
    print()
    print(table(rows, rows[0][0].name))
    for note in same_text(rows) + (paired(rows) if args.interleave else []) + short_captions(rows, args.max_tokens):
        print(f"- {note}")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(), "images": args.images, "image_tokens": args.image_tokens,
            "max_tokens": args.max_tokens, "threads": threads, "interleaved": args.interleave,
            "runtime": runtime,
            "configs": [{"config": asdict(c), "runs": [asdict(r) for r in runs],
                         "summary": {k: asdict(v) for k, v in summarize(runs).items()}} for c, runs in rows],
        }, indent=1), encoding="utf-8")
    return 0


def _built_server() -> Path:
    from tests.support.llama_server_build import build_server

    print("# building llama-server from the vendored llama.cpp when not cached (minutes)", flush=True)
    return build_server()


def presets(args: argparse.Namespace, models: BenchModels, threads: int, scratch_root: Path) -> int:
    """Encode time and tokens spent per preset, on a 4:3 photo-sized image the app scales into each budget."""
    photo = scratch_root / "photo.png"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).resize(
        (2000, 1500), Image.Resampling.BICUBIC).save(photo)
    lines = ["| preset | image tokens | pixels (w×h) | encode ms | prompt ms | runs |", "|---|---|---|---|---|---|"]
    for name, budget in IMAGE_BUDGET_PRESETS.items():
        if budget > args.preset_limit:
            continue
        runs = []
        for n in range(args.runs):
            spec = RunSpec(kind="app", model=str(models.text), mmproj=str(models.mmproj_f16), images=[str(photo)],
                           max_tokens=1, image_tokens=budget, threads=threads, parallel=1,
                           gpu_layers=args.gpu_layers, workdir=str(scratch_root / f"{name}-{n}" / "folder"))
            runs.append(run_once(spec, scratch_root / f"{name}-{n}"))
            print(f"  {name} run {n + 1}: encode {runs[-1].images[0].encode_ms:.0f} ms", flush=True)
        first = runs[0].images[0]
        tokens = first.image_tokens
        encode = Figure.of([r.images[0].encode_ms for r in runs])
        prompt = Figure.of([r.images[0].prompt_ms for r in runs])
        lines.append(f"| {name} ({budget}) | {tokens} | {first.width}×{first.height} | {encode.show(0)} | "
                     f"{prompt.show(0)} | {len(runs)} |")
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
