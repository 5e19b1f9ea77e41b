"""Test images: random noise (every image differs, so captions differ), saved in any format Pillow writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


def save_noise(path: Path, width: int = 160, height: int = 120, seed: int = 0, **save_args: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_image(width, height, seed).save(path, **save_args)
    return path
