"""Shared fixtures: isolated app folders, synthetic CapRL-3B GGUFs, a running engine and the hub stand-in.

Helpers that tests import live in ``tests/support``; no test module imports another.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.models import downloads
from tests.support.hub_standin import IMATRIX, QWEN3VL_2B, QWEN3VL_4B, STATIC, HubStandIn
from tests.support.keyrings import MemoryKeyring
from tests.support.models import HubFiles, ModelFiles, engine_config
from tests.support.synthetic_gguf import TINY, write_mmproj, write_text_model
from tests.support.synthetic_qwen3vl import TINY_QWEN3VL
from tests.support.synthetic_qwen3vl import write_pair as write_qwen3vl_pair

# Tests never open a real window; set before pytest-qt creates the QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--without-llama", action="store_true",
                     help="make llama_cpp unimportable: tests/unit must pass without llama.cpp")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--without-llama"):
        sys.modules["llama_cpp"] = None  # type: ignore[assignment]  # import llama_cpp now raises ImportError


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """With CAPRL_NO_SKIPS set (``.ci/run`` sets it), a skipped test fails: CI can run every test, so a skip
    there means something it needs is missing (a tool, namespaces) and the test would quietly prove nothing."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and os.environ.get("CAPRL_NO_SKIPS") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where CAPRL_NO_SKIPS forbids skips: {reason}"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every folder the app writes (data, config, logs) at a temporary home."""
    home = tmp_path / "app-home"
    monkeypatch.setenv("CAPRL_DESKTOP_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Keys a test keeps go to memory, never to the keyring of the machine running the tests."""
    import keyring

    kept = MemoryKeyring()
    keyring.set_keyring(kept)
    yield kept
    keyring.set_keyring(MemoryKeyring())  # (the next test sets its own; nothing of this one's is left)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelFiles:
    folder = tmp_path_factory.mktemp("models")
    return ModelFiles(
        model=write_text_model(folder / "CapRL-3B.F32.gguf", TINY),
        mmproj=write_mmproj(folder / "CapRL-3B.mmproj-f32.gguf", TINY),
    )


@pytest.fixture(scope="session")
def qwen3vl_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFiles:
    """A CapRL 2.0 (Qwen3-VL) pair of the tiny shapes, named as internlm publishes them."""
    model, mmproj = write_qwen3vl_pair(tmp_path_factory.mktemp("qwen3vl"), TINY_QWEN3VL)
    return ModelFiles(model=model, mmproj=mmproj)


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


@pytest.fixture(scope="session")
def hub_files(models: ModelFiles, qwen3vl_models: ModelFiles) -> HubFiles:
    model = models.model.read_bytes()
    padding = np.random.default_rng(7).integers(0, 256, 6 << 20, dtype=np.uint8).tobytes()
    return HubFiles(model=model, big=model + padding, mmproj=models.mmproj.read_bytes(),
                    qwen3vl_model=qwen3vl_models.model.read_bytes(), qwen3vl_mmproj=qwen3vl_models.mmproj.read_bytes())


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
    # CapRL 2.0, each repository in another of the naming schemes GGUF publishers use; the 2B has two projectors.
    server.add(QWEN3VL_2B, "CapRL-Qwen3VL-2B-Q4_K_M.gguf", hub_files.qwen3vl_model)
    server.add(QWEN3VL_2B, "mmproj-CapRL-Qwen3VL-2B-F16.gguf", hub_files.qwen3vl_mmproj + b"\0" * 1024)
    server.add(QWEN3VL_2B, "mmproj-CapRL-Qwen3VL-2B-Q8_0.gguf", hub_files.qwen3vl_mmproj)
    server.add(QWEN3VL_4B, "caprl-qwen3vl-4b-q4_k_m.gguf", hub_files.qwen3vl_model)
    server.add(QWEN3VL_4B, "caprl-qwen3vl-4b-q8_0.gguf", hub_files.qwen3vl_model + b"\0" * 2048)
    server.add(QWEN3VL_4B, "mmproj-model-f16.gguf", hub_files.qwen3vl_mmproj)
    server.start()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(downloads, "_BACKOFF_SCALE", 0.01)
    yield server
    server.stop()
