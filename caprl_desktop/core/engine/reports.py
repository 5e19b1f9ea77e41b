"""What the engine reports: what it loaded, and per caption the text and its timings (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.remote.info import RemoteInfo
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
    tokens_after_cancel: int = 0  # a cancelled caption: tokens made after the engine read the cancel (none, by design)

    @property
    def tokens_per_second(self) -> float:
        return self.output_tokens / (self.decode_ms / 1000) if self.decode_ms > 0 else 0.0


@dataclass(frozen=True)
class CaptionOutput:
    text: str
    stats: CaptionStats
    prompt_text: str  # the rendered chat template, marker included


class Loaded(Protocol):
    """An engine that says what it loaded: ``EngineClient``, or a ``RemoteEngine`` what its servers serve."""

    @property
    def info(self) -> EngineInfo | RemoteInfo | None: ...  # None before it started (and a test's stand-in)


def image_token_side(info: EngineInfo | RemoteInfo | None) -> int:
    """How many pixels a side one image token of the loaded model covers (a remote engine guesses it from the
    served model's name); nothing loaded yet is taken for CapRL-3B."""
    if isinstance(info, EngineInfo):
        return info.model.image_token_side
    return info.image_token_side if info is not None else QWEN25VL_TOKEN_SIDE
