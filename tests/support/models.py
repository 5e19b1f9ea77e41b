"""Synthetic CapRL-3B model files for tests and the engine set-up that captions with them in well under a second."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.models.install import add_local
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig, ImageBudget

# Small budgets keep each caption well under a second on two CPU cores.
TEST_BUDGET = ImageBudget(max_tokens=64)


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    mmproj: Path


@dataclass(frozen=True)
class HubFiles:
    model: bytes
    big: bytes  # a "Q8_0" of several MB, so that progress, cancel and kills happen mid-file
    mmproj: bytes
    qwen3vl_model: bytes  # a tiny CapRL 2.0 (Qwen3-VL) pair
    qwen3vl_mmproj: bytes


def engine_config(models: ModelFiles, **overrides: object) -> EngineConfig:
    values: dict[str, object] = {
        "model_path": str(models.model),
        "mmproj_path": str(models.mmproj),
        "image_budget": TEST_BUDGET,
        "max_output_tokens": 256,
        "threads": 2,
    }
    values.update(overrides)
    return EngineConfig(**values)  # type: ignore[arg-type]


def installed(models: ModelFiles) -> ModelStore:
    """The app's model store (under the test's home) with the pair installed as the default, as the window finds it."""
    store = ModelStore()
    add_local(store, models.model, models.mmproj)
    return store
