"""Make (once) and cache the benchmark's model files: each family's exact shapes, random weights.

Speed depends on tensor shapes and types, not on weight values, so a random model of the published
shapes, quantized by llama.cpp's own quantizer the way the published quants were, times like the real
one.  Made here, per family (CapRL-3B, CapRL-Qwen3VL-2B, CapRL-Qwen3VL-4B): the text model in f16, quantized
to Q4_K_M (the f16 file is removed after), and the vision projector in f16 and in Q8_0.

    python -m tests.benchmarks.bench_models [--family 3b|2b|4b] [--cache DIR]
"""

from __future__ import annotations

import argparse
import ctypes
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from tests.support import synthetic_gguf, synthetic_qwen3vl

# Family key -> (file stem, the module that writes its architecture, its published shapes).
FAMILIES: dict[str, tuple[str, Any, Any]] = {
    "caprl-3b": ("CapRL-3B", synthetic_gguf, synthetic_gguf.CAPRL_3B),
    "caprl-qwen3vl-2b": ("CapRL-Qwen3VL-2B", synthetic_qwen3vl, synthetic_qwen3vl.CAPRL_QWEN3VL_2B),
    "caprl-qwen3vl-4b": ("CapRL-Qwen3VL-4B", synthetic_qwen3vl, synthetic_qwen3vl.CAPRL_QWEN3VL_4B),
}

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


def ensure_bench_models(cache: Path | None = None, quant: str = "Q4_K_M", log: bool = True,
                        family: str = "caprl-3b") -> BenchModels:
    """The cached benchmark models of ``family``, made first when missing (CapRL-3B: about 5 minutes and 9 GB
    of disk at peak; CapRL-Qwen3VL-4B: 11 GB)."""
    stem, writer, shapes = FAMILIES[family]
    folder = cache or default_cache()
    folder.mkdir(parents=True, exist_ok=True)
    models = BenchModels(
        text=folder / f"{stem}-shaped.{quant}.gguf",
        mmproj_f16=folder / f"{stem}-shaped.mmproj-f16.gguf",
        mmproj_q8_0=folder / f"{stem}-shaped.mmproj-Q8_0.gguf",
    )

    def made(what: str, path: Path, started: float) -> None:
        if log:
            size = path.stat().st_size / 1e9
            print(f"made {what}: {path} ({size:.2f} GB, {time.perf_counter() - started:.0f} s)", flush=True)

    if not models.text.exists():
        started = time.perf_counter()
        kept = f16_text_path(family, folder).exists()  # asked for by itself before: it stays
        f16 = ensure_f16_text(family, folder)
        quantize(f16, models.text, quant)
        if not kept:
            f16.unlink()  # 4-8 GB only needed to quantize
        made(f"text model ({quant})", models.text, started)
    for path, q8_0 in ((models.mmproj_f16, False), (models.mmproj_q8_0, True)):
        if not path.exists():
            started = time.perf_counter()
            partial = path.with_name(path.name + ".part")
            writer.write_mmproj(partial, shapes, q8_0=q8_0)
            partial.replace(path)
            made("vision projector", path, started)
    return models


def f16_text_path(family: str, folder: Path) -> Path:
    return folder / f"{FAMILIES[family][0]}-shaped.F16.gguf"


def ensure_f16_text(family: str, cache: Path | None = None) -> Path:
    """The family's text model in f16, kept (for servers built without a way to turn llama.cpp's AMX kernels
    off, which crash on Q4_K on AMX CPUs: llama.cpp #20824)."""
    stem, writer, shapes = FAMILIES[family]
    folder = cache or default_cache()
    path = f16_text_path(family, folder)
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        writer.write_text_model(partial, shapes, name=f"{stem}-shaped random weights")
        partial.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None, help=f"where to keep them (default {default_cache()})")
    parser.add_argument("--quant", choices=sorted(TEXT_QUANTS), default="Q4_K_M")
    parser.add_argument("--family", default="3b", help="3b, 2b or 4b (or the full key)")
    args = parser.parse_args(argv)
    from caprl_desktop.core.models.catalog import family

    ensure_bench_models(args.cache, args.quant, family=family(args.family).key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
