"""Arguments that make ``caprl-desktop caption`` fast with the synthetic model, and the repository's root."""

from __future__ import annotations

from pathlib import Path

from tests.support.models import ModelFiles

REPO = Path(__file__).resolve().parents[2]


def fast_args(*, max_tokens: int | None = 12, seed: int | None = None) -> list[str]:
    """Small image budget and two threads; ``max_tokens`` None keeps the command's default length."""
    args = ["--image-max-tokens", "64", "--threads", "2"]
    if max_tokens is not None:
        args = ["--max-tokens", str(max_tokens), *args]
    if seed is not None:
        args += ["--seed", str(seed)]
    return args


def model_args(models: ModelFiles) -> list[str]:
    return ["--model", str(models.model), "--mmproj", str(models.mmproj)]
