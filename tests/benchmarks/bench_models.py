"""Make (once) and cache the benchmark's model files: CapRL-3B's exact shapes, random weights.

Speed depends on tensor shapes and types, not on weight values, so a random model of the published
shapes, quantized by llama.cpp's own quantizer the way the published quants were, times like the real
one.  Made here: the text model in f16, quantized to Q4_K_M (the f16 file is removed after), and the
vision projector in f16 and in Q8_0 (both ship in ``mradermacher/CapRL-3B-GGUF``).

    python -m tests.benchmarks.bench_models [--cache DIR]
"""

from __future__ import annotations

import argparse
import ctypes
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from tests.support.synthetic_gguf import CAPRL_3B, write_mmproj, write_text_model

TEXT_QUANTS = {"Q4_K_M": 15, "Q8_0": 7}  # llama_ftype values of llama.h


@dataclass(frozen=True)
class BenchModels:
    text: Path
    mmproj_f16: Path
    mmproj_q8_0: Path

    def mmproj(self, kind: str) -> Path:
        return self.mmproj_q8_0 if kind.lower() == "q8_0" else self.mmproj_f16


def default_cache() -> Path:
    return Path(platformdirs.user_cache_dir("caprl-desktop", appauthor=False)) / "bench-models"


def quantize(source: Path, target: Path, quant: str, threads: int = 0) -> None:
    """Quantize a text model with llama.cpp's quantizer (what ``llama-quantize`` runs)."""
    import llama_cpp  # the benchmark's own process; the app never quantizes

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = TEXT_QUANTS[quant]
    params.nthread = threads
    partial = target.with_name(target.name + ".part")
    result = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
    if result != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not quantize {source.name} to {quant} (code {result})")
    partial.replace(target)


def ensure_bench_models(cache: Path | None = None, quant: str = "Q4_K_M", log: bool = True) -> BenchModels:
    """The cached benchmark models, made first when missing (about 5 minutes and 9 GB of disk at peak)."""
    folder = cache or default_cache()
    folder.mkdir(parents=True, exist_ok=True)
    models = BenchModels(
        text=folder / f"CapRL-3B-shaped.{quant}.gguf",
        mmproj_f16=folder / "CapRL-3B-shaped.mmproj-f16.gguf",
        mmproj_q8_0=folder / "CapRL-3B-shaped.mmproj-Q8_0.gguf",
    )

    def made(what: str, path: Path, started: float) -> None:
        if log:
            size = path.stat().st_size / 1e9
            print(f"made {what}: {path} ({size:.2f} GB, {time.perf_counter() - started:.0f} s)", flush=True)

    if not models.text.exists():
        started = time.perf_counter()
        f16 = folder / "CapRL-3B-shaped.F16.gguf.part"
        write_text_model(f16, CAPRL_3B, name="CapRL-3B-shaped random weights")
        quantize(f16, models.text, quant)
        f16.unlink()
        made(f"text model ({quant})", models.text, started)
    for path, q8_0 in ((models.mmproj_f16, False), (models.mmproj_q8_0, True)):
        if not path.exists():
            started = time.perf_counter()
            partial = path.with_name(path.name + ".part")
            write_mmproj(partial, CAPRL_3B, q8_0=q8_0)
            partial.replace(path)
            made("vision projector", path, started)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help=f"where to keep them (default {default_cache()})")
    parser.add_argument("--quant", choices=sorted(TEXT_QUANTS), default="Q4_K_M")
    args = parser.parse_args(argv)
    ensure_bench_models(args.cache, args.quant)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
