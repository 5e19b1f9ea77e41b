"""Do captions decoded side by side come out as they do alone?  With and without llama.cpp's repacked kernels.

    python -m tests.benchmarks.same_text [--cache DIR]

Captions four images alone and then the same four side by side (same seeds), in one engine, on the
benchmark's CapRL-3B-shaped model, first with llama.cpp's repacked CPU kernels (the default) and then
without them, and prints how many captions are identical and how far each pair agrees.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tests.benchmarks.bench_models import ensure_bench_models


def compare(model: Path, mmproj: Path, images: list[Path], repack: bool) -> str:
    import llama_cpp

    import caprl_desktop.core.engine._llama.engine as engine
    from caprl_desktop.core.images.loading import load_image
    from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, EngineConfig, GenerationParams, ImageBudget

    default_params = llama_cpp.llama_model_default_params

    def params() -> object:
        value = default_params()
        value.use_extra_bufts = repack
        return value

    llama_cpp.llama_model_default_params = params  # the engine reads it from the module: this comparison only
    try:
        budget = ImageBudget(64)
        prepared = [load_image(p, budget.max_pixels(QWEN25VL_TOKEN_SIDE)) for p in images]
        config = EngineConfig(str(model), str(mmproj), budget, max_output_tokens=64, parallel=len(images),
                              warmup=False)
        captioner = engine.LlamaCaptioner(config)
        settings = [GenerationParams(max_tokens=24, seed=100 + i, ignore_eos=True) for i in range(len(images))]
        try:
            alone = [captioner.caption(im, "S", "D", settings[i], lambda _: None).text
                     for i, im in enumerate(prepared)]
            sequences = [captioner.begin(im, "S", "D", settings[i], lambda _: None) for i, im in enumerate(prepared)]
            while not all(s.done for s in sequences):
                captioner.step(sequences)
            side = [captioner.release(s).text for s in sequences]
        finally:
            captioner.close()
    finally:
        llama_cpp.llama_model_default_params = default_params
    same = sum(a == b for a, b in zip(alone, side, strict=True))
    agree = [_agree(a, b) for a, b in zip(alone, side, strict=True)]
    return (f"repacked kernels {'on' if repack else 'off'}: {same} of {len(images)} identical; "
            f"they agree for {agree} of {[len(a) for a in alone]} characters")


def _agree(a: str, b: str) -> int:
    """Characters the two texts share from the start."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    models = ensure_bench_models(args.cache)
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as folder:
        images = []
        for i in range(4):
            path = Path(folder) / f"r{i}.png"
            Image.fromarray(rng.integers(0, 255, (224 + 28 * i, 224, 3), dtype=np.uint8)).save(path)
            images.append(path)
        for repack in (True, False):
            print(compare(models.text, models.mmproj_q8_0, images, repack), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
