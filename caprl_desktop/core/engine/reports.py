"""What the engine reports: what it loaded, and per caption the text and its timings (plain data)."""

from __future__ import annotations

from dataclasses import dataclass

from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.models.files import ModelPairInfo
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, ImageBudget


@dataclass(frozen=True)
class EngineInfo:
    """What was loaded and where it runs."""

    model: ModelPairInfo
    backend: BackendInfo
    backend_line: str
    gpu_layers: int
    n_layer: int
    n_ctx: int
    threads: int
    image_budget: ImageBudget
    load_seconds: float
    parallel: int = 1  # captions the engine decodes side by side (sequences in its context)
    notes: tuple[str, ...] = ()  # what the engine gave up here and why (memory, kernels); also in backend_line


@dataclass(frozen=True)
class CaptionStats:
    image_tokens: int
    image_width: int
    image_height: int
    prompt_tokens: int  # text tokens around the image
    image_encode_ms: float
    prompt_ms: float  # decoding the text and image embeddings into the context
    output_tokens: int
    decode_ms: float
    total_seconds: float
    finish_reason: str  # stop, length, context, cancelled
    seed: int
    engine: str = ""  # the server that made it (its address without credentials); "" for this computer
    engine_model: str = ""  # the model id that server gave

    @property
    def tokens_per_second(self) -> float:
        return self.output_tokens / (self.decode_ms / 1000) if self.decode_ms > 0 else 0.0


@dataclass(frozen=True)
class CaptionOutput:
    text: str
    stats: CaptionStats
    prompt_text: str  # the rendered chat template, marker included


def image_token_side(engine: object) -> int:
    """How many pixels a side one image token of the engine's loaded model covers (from its ``info``, as
    ``EngineClient`` keeps it); an engine that has none (a test's stand-in) is taken for CapRL-3B."""
    info = getattr(engine, "info", None)
    if isinstance(info, EngineInfo):
        return info.model.image_token_side
    side = getattr(info, "image_token_side", None)  # a remote engine's guess from the served model's name
    return side if isinstance(side, int) else QWEN25VL_TOKEN_SIDE
