"""Folders spread over OpenAI-compatible servers: two llama.cpp servers against one, on the same folder.

    python -m tests.benchmarks.bench_remote --servers 1,2 --images 4 --max-tokens 48 --runs 3

Each server is llama-cpp-python's own (``python -m llama_cpp.server``, one thread, one caption at a time) on
a benchmark model (``bench_models``: ``--family``, Q4_K_M text, or ``--f16`` where llama.cpp's AMX kernels
would crash on Q4_K and the server has no switch for them); the app captions the folder through them with
``caprl-desktop caption --engine URL#1 [--engine URL#1]``, in a fresh process per run (``--found-out``: the
addresses without ``#1``, so the app measures each server's captions at a time itself). Figures are images
per minute over the folder, mean ± sd over the runs; server start-up is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench import make_images
from tests.benchmarks.bench_models import ensure_bench_models, ensure_f16_text
from tests.support.models import ModelFiles
from tests.support.servers import LlamaServer


def run(servers: list[LlamaServer], images: list[Path], max_tokens: int, image_tokens: int, scratch: Path,
        slots: str = "#1") -> float:
    """Seconds for the whole folder, captioned by a fresh ``caprl-desktop`` process through ``servers`` (each
    address followed by ``slots``: "#1", or "" to have the app find the number out)."""
    folder = scratch / "folder"
    folder.mkdir(parents=True)
    for image in images:
        (folder / image.name).symlink_to(image)
    engines = [arg for server in servers for arg in ("--engine", server.url + slots)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "caprl_desktop", "caption", str(folder), *engines, "--max-tokens",
                    str(max_tokens), "--image-max-tokens", str(image_tokens), "--seed", "1", "--output-dir",
                    str(scratch / "captions")], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="1,2", help="server counts to compare, comma-separated")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--image-tokens", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--family", default="3b", help="3b, 2b or 4b")
    parser.add_argument("--f16", action="store_true", help="the text model in f16 instead of Q4_K_M")
    parser.add_argument("--found-out", action="store_true",
                        help="give the servers without #1: the app measures their captions at a time")
    args = parser.parse_args(argv)
    from caprl_desktop.core.models.catalog import family

    key = family(args.family).key
    models = ensure_bench_models(family=key)
    pair = ModelFiles(ensure_f16_text(key) if args.f16 else models.text, models.mmproj_q8_0)
    print(f"# {pair.model.name} + {pair.mmproj.name}", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="caprl-bench-remote-"))
    images = make_images(scratch / "images", args.images, args.image_tokens)
    given = "found out by the app" if args.found_out else "#1 given"
    lines = [f"| servers (1 thread, 1 caption at a time each; {given}) | images/min | s per folder | runs |",
             "|---|---|---|---|"]
    for count in (int(n) for n in args.servers.split(",")):
        servers = [LlamaServer(pair, scratch / f"server-{count}-{i}.log", n_ctx=4096) for i in range(count)]
        try:
            for server in servers:
                server.wait_ready(timeout=300)
            seconds = [run(servers, images, args.max_tokens, args.image_tokens, scratch / f"run-{count}-{n}",
                           "" if args.found_out else "#1") for n in range(args.runs)]
        finally:
            for server in servers:
                server.stop()
        per_min = [len(images) / s * 60 for s in seconds]
        sd = statistics.stdev(per_min) if len(per_min) > 1 else 0.0
        print(f"  {count} server(s): {', '.join(f'{s:.0f} s' for s in seconds)}", flush=True)
        lines.append(f"| {count} | {statistics.fmean(per_min):.2f} ± {sd:.2f} | {statistics.fmean(seconds):.0f} | "
                     f"{len(seconds)} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
