"""A GPU build of llama.cpp on a machine without the GPU's driver: the CPU build beside it runs, and says why.

On Linux a ``libllama.so`` that cannot be loaded stands in for a CUDA build's ``llama.dll`` on a PC without
``nvcuda.dll``: both fail in the loader before llama.cpp runs. The CPU build is the real one installed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.core.engine._llama.libraries import CPU_LIB_ENV, LIB_PATH_ENV, library_file, package_folder
from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.client import EngineClient, probe_backend_or_reason
from caprl_desktop.core.engine.replies import CaptionDone
from caprl_desktop.core.errors import EngineCrashedError, EngineError
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, GenerationParams
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.ui.main_window import MainWindow
from tests.support.gui import drop, wait_all_finished
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config


def cuda_build_without_driver(tmp_path: Path) -> Path:
    """A folder shaped like a CUDA build's whose llama library the system loader refuses."""
    installed = package_folder()
    assert installed is not None
    real = library_file(installed)
    assert real is not None
    folder = tmp_path / "cuda-lib"
    folder.mkdir()
    (folder / real.name).write_bytes(b"\x7fELF" + bytes(60))  # the loader rejects it, as Windows does llama.dll
    (folder / real.name.replace("llama", "ggml-cuda")).write_bytes(b"")
    return folder


def test_a_cuda_build_without_a_driver_falls_back_to_the_cpu_build_and_says_so(
    models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIB_PATH_ENV, str(cuda_build_without_driver(tmp_path)))
    monkeypatch.setenv(CPU_LIB_ENV, str(package_folder()))
    with EngineClient(engine_config(models), log_dir=tmp_path / "logs") as engine:
        info = engine.start()
        assert "CUDA build of llama.cpp could not be loaded" in info.backend.note
        assert "NVIDIA driver" in info.backend.note
        assert info.backend_line.startswith("CPU: the CUDA build")
        photo = save_noise(tmp_path / "photo.jpg", 320, 240, seed=5)
        image = load_image(photo, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE))
        events = list(engine.caption(image, build_prompt("en"), GenerationParams(max_tokens=8, seed=1)))
        assert isinstance(events[-1], CaptionDone) and events[-1].output.text


def test_without_a_cpu_build_the_engine_says_what_is_missing_instead_of_dying(
    models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIB_PATH_ENV, str(cuda_build_without_driver(tmp_path)))
    monkeypatch.setenv(CPU_LIB_ENV, str(tmp_path / "no-cpu-build"))
    engine = EngineClient(engine_config(models), log_dir=tmp_path / "logs")
    with pytest.raises(EngineError) as raised:
        engine.start()
    assert not isinstance(raised.value, EngineCrashedError)  # an answer, not "exit code 1"
    message = str(raised.value)
    assert message.startswith("llama.cpp could not be loaded (")
    assert "uses CUDA: install or update the NVIDIA driver" in message
    assert not engine.running
    engine.close()


def test_the_window_says_the_gpu_build_could_not_start_and_why(
    qtbot: QtBot, installed: ModelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIB_PATH_ENV, str(cuda_build_without_driver(tmp_path)))  # before the window starts one
    monkeypatch.setenv(CPU_LIB_ENV, str(package_folder()))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    drop(window, [save_noise(tmp_path / "a.jpg", seed=4)])
    wait_all_finished(qtbot, window, 1)
    label = window.status_line.backend_label
    assert label.text() == "CPU (the GPU build could not start)"
    assert "install or update the NVIDIA driver" in label.toolTip()
    window.close()


def test_the_backend_probe_says_why_the_gpu_build_could_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``doctor`` prints: the fallback with its reason, or, with no CPU build, the sentence."""
    monkeypatch.setenv(LIB_PATH_ENV, str(cuda_build_without_driver(tmp_path)))
    monkeypatch.setenv(CPU_LIB_ENV, str(package_folder()))
    fell_back = probe_backend_or_reason()
    assert isinstance(fell_back, BackendInfo) and "CUDA build of llama.cpp could not be loaded" in fell_back.note
    monkeypatch.setenv(CPU_LIB_ENV, str(tmp_path / "no-cpu-build"))
    reason = probe_backend_or_reason()
    assert isinstance(reason, str) and reason.startswith("llama.cpp could not be loaded (")
