"""Shared fixtures: isolated app folders, synthetic CapRL-3B GGUFs and a running engine."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from caprl_desktop.core import atomic, downloads
from caprl_desktop.core.engine_client import EngineClient
from caprl_desktop.core.params import EngineConfig, ImageBudget
from caprl_desktop.devtools.synthetic_gguf import TINY, write_mmproj, write_text_model
from tests.hub_standin import IMATRIX, STATIC, HubStandIn

# Tests never open a real window; set before pytest-qt creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Small budgets keep each caption well under a second on two CPU cores.
TEST_BUDGET = ImageBudget(max_tokens=64)


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    mmproj: Path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every folder the app writes (data, config, logs) at a temporary home."""
    home = tmp_path / "app-home"
    monkeypatch.setenv("CAPRL_DESKTOP_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return home


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelFiles:
    folder = tmp_path_factory.mktemp("models")
    return ModelFiles(
        model=write_text_model(folder / "CapRL-3B.F32.gguf", TINY),
        mmproj=write_mmproj(folder / "CapRL-3B.mmproj-f32.gguf", TINY),
    )


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


@pytest.fixture(scope="session")
def engine(models: ModelFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    """One engine process shared by the tests that only caption (restarted if a test broke it)."""
    client = EngineClient(engine_config(models), log_dir=tmp_path_factory.mktemp("engine-logs"))
    client.start()
    yield client
    client.close()


@pytest.fixture
def live_engine(engine: EngineClient) -> EngineClient:
    if not engine.running:
        engine.start()
    return engine


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")


def save_noise(path: Path, width: int = 160, height: int = 120, seed: int = 0, **save_args: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_image(width, height, seed).save(path, **save_args)
    return path


@dataclass(frozen=True)
class HubFiles:
    model: bytes
    big: bytes  # a "Q8_0" of several MB, so that progress, cancel and kills happen mid-file
    mmproj: bytes


@pytest.fixture(scope="session")
def hub_files(models: ModelFiles) -> HubFiles:
    model = models.model.read_bytes()
    padding = np.random.default_rng(7).integers(0, 256, 6 << 20, dtype=np.uint8).tobytes()
    return HubFiles(model=model, big=model + padding, mmproj=models.mmproj.read_bytes())


@pytest.fixture
def hub(hub_files: HubFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    server = HubStandIn()
    server.add(STATIC, "CapRL-3B.Q4_K_M.gguf", hub_files.model)
    server.add(STATIC, "CapRL-3B.Q8_0.gguf", hub_files.big)
    server.add(STATIC, "CapRL-3B.mmproj-Q8_0.gguf", hub_files.mmproj)
    server.add(STATIC, "CapRL-3B.mmproj-f16.gguf", hub_files.mmproj + b"\0" * 1024)
    server.add(STATIC, "README.md", b"# CapRL-3B GGUF\n")
    server.add(IMATRIX, "CapRL-3B.i1-Q4_K_M.gguf", hub_files.model)
    server.add(IMATRIX, "CapRL-3B.i1-IQ2_M.gguf", hub_files.model[: len(hub_files.model) // 2])
    server.add(IMATRIX, "imatrix.dat", b"\0" * 64)
    server.start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(downloads, "_BACKOFF_SCALE", 0.01)
    yield server
    server.stop()


def fail_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, error: int, after: int = 0) -> Callable[[], int]:
    """Make file creation in ``folder`` fail with ``error`` after ``after`` successes; returns a call counter."""
    real = tempfile.mkstemp
    calls = 0

    def mkstemp(dir: Path, prefix: str, suffix: str) -> tuple[int, str]:
        nonlocal calls
        if Path(dir).is_relative_to(folder):
            calls += 1
            if calls > after:
                raise OSError(error, os.strerror(error), str(dir))
        return real(dir=dir, prefix=prefix, suffix=suffix)

    monkeypatch.setattr(atomic, "tempfile", SimpleNamespace(mkstemp=mkstemp))
    return lambda: calls
