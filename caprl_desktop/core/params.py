"""Plain-data settings shared by the engine, the CLI and the GUI: image budget, sampling, engine set-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

# An image token covers a square this many pixels a side: Qwen2.5-VL's 14-pixel patches merged 2x2 (CapRL-3B).
# Qwen3-VL (CapRL 2.0) has 16-pixel patches, so 32: the loaded projector says which (ModelPairInfo).
QWEN25VL_TOKEN_SIDE = 28
# llama.cpp's own limits for Qwen-VL projectors.
MIN_IMAGE_TOKENS = 8
MAX_IMAGE_TOKENS = 4096

# The image budget is the biggest speed lever on a CPU (encode time grows with the square of the token
# count), and the biggest quality lever for small text; these presets name the trade-off.
IMAGE_BUDGET_PRESETS: dict[str, int] = {
    "fast": 256,
    "balanced": 1024,
    "max": MAX_IMAGE_TOKENS,
}
DEFAULT_IMAGE_BUDGET = "balanced"

# Room for the chat template, system prompt and user prompt around the image.
PROMPT_OVERHEAD_TOKENS = 512


@dataclass(frozen=True)
class ImageBudget:
    """How many tokens an image may become; images are scaled to land inside [min_tokens, max_tokens]."""

    max_tokens: int = IMAGE_BUDGET_PRESETS[DEFAULT_IMAGE_BUDGET]
    min_tokens: int | None = None  # None: llama.cpp's default for the projector

    def __post_init__(self) -> None:
        if not MIN_IMAGE_TOKENS <= self.max_tokens <= MAX_IMAGE_TOKENS:
            raise ValueError(f"image max tokens must be between {MIN_IMAGE_TOKENS} and {MAX_IMAGE_TOKENS}")
        if self.min_tokens is not None and not MIN_IMAGE_TOKENS <= self.min_tokens <= self.max_tokens:
            raise ValueError(f"image min tokens must be between {MIN_IMAGE_TOKENS} and the max ({self.max_tokens})")

    @classmethod
    def preset(cls, name: str) -> ImageBudget:
        return cls(max_tokens=IMAGE_BUDGET_PRESETS[name])

    def max_pixels(self, token_side: int) -> int:
        """The most pixels an image may keep for a model whose tokens cover ``token_side``² pixels: scaled any
        smaller, the model would get fewer tokens than the budget allows (768 for 1,024 on Qwen3-VL)."""
        return self.max_tokens * token_side * token_side


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings; the defaults are CapRL-3B's model card (temperature 1.0, top_p 1.0, no penalty)."""

    max_tokens: int = 2048
    temperature: float = 1.0
    top_p: float = 1.0
    repeat_penalty: float = 1.0
    seed: int | None = None  # None: a fresh random seed, reported in the result so it can be replayed
    ignore_eos: bool = False  # benchmarks: generate exactly max_tokens

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max tokens must be at least 1")
        if self.temperature < 0:
            raise ValueError("temperature cannot be negative")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.repeat_penalty <= 0:
            raise ValueError("repeat penalty must be positive")


def default_threads() -> int:
    """Threads for llama.cpp: one per core on small machines, half the logical CPUs (≈ physical cores) else."""
    n = os.cpu_count() or 1
    return n if n <= 4 else n // 2


@dataclass(frozen=True)
class EngineConfig:
    """Everything fixed when the engine loads; changing any of it means loading again."""

    model_path: str
    mmproj_path: str
    image_budget: ImageBudget = ImageBudget()
    gpu_layers: int | None = None  # None: all layers when the build can offload, else 0
    threads: int | None = None  # None: default_threads()
    context_tokens: int | None = None  # None: derived from the image budget and max output tokens
    max_output_tokens: int = GenerationParams().max_tokens
    flash_attn: bool | None = None  # None: llama.cpp decides
    warmup: bool = True
    parallel: int | None = None  # captions decoded side by side; None: sized from the backend and free memory

    def __post_init__(self) -> None:
        if self.parallel is not None and self.parallel < 1:
            raise ValueError("parallel must be at least 1")

    @property
    def n_ctx(self) -> int:
        """Context of one sequence (one caption); the engine allocates this for each parallel sequence."""
        if self.context_tokens is not None:
            return self.context_tokens
        need = self.image_budget.max_tokens + self.max_output_tokens + PROMPT_OVERHEAD_TOKENS
        return -(-need // 256) * 256
