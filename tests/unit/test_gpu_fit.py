"""The fit from the GPU's memory: when a runtime runs the model, "fits this computer", the GPU layers and the
captions at a time are sized on the GPU core/gpu found (here through a fake NVML or Vulkan loader)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from caprl_desktop.core.engine._llama.parallel import gpu_layers_that_fit, kv_bytes_per_token
from caprl_desktop.core.gpu.detect import apple_gpu, detect
from caprl_desktop.core.gpu.found import GpuSearch
from caprl_desktop.core.gpu.variant import VariantChoice, choose_variant
from caprl_desktop.core.models.catalog import family
from caprl_desktop.core.models.fit import runtime_backend, runtime_memory_budget
from caprl_desktop.core.models.offer import runtime_model_offer
from tests.support.fake_gpu_libs import DISCRETE, INTEGRATED, INTEL, FakeNvml, FakeVulkan, GiB, fake_nvml, fake_vulkan

# CapRL-3B: 36 layers, Q4_K_M 1.93 GB with its f16 projector 1.34 GB; one caption's KV cache at 8k context.
CAPRL_3B = dict(n_layer=36, model_bytes=int(1.93e9), mmproj_bytes=int(1.34e9),
                sequence_bytes=kv_bytes_per_token(36, 2, 128) * 8192)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fake-gpu-libs")


@pytest.fixture
def nvml(built: Path) -> FakeNvml:
    return fake_nvml(built)


@pytest.fixture
def vulkan(built: Path) -> FakeVulkan:
    return fake_vulkan(built)


@pytest.fixture
def ram(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 16 GB computer with 6 GB available now."""
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=16 * GiB, available=6 * GiB))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the bundled list of quants: no hub request


def nvidia_choice(nvml: FakeNvml, name: str, total: int, free: int) -> VariantChoice:
    nvml.driver("560.94", (12, 6))
    nvml.add_gpu(name, total, free, (7, 5))
    return choose_variant(detect(nvml_libraries=[str(nvml.path)], vulkan_libraries=[], platform="linux",
                                 machine="x86_64"))


def test_a_gpu_with_too_little_memory_gets_partial_offload(nvml: FakeNvml) -> None:
    choice = nvidia_choice(nvml, "NVIDIA GeForce GTX 1650", 4 * GiB, int(3.2 * GiB))  # the desktop holds the rest
    budget = runtime_memory_budget(choice)
    assert (budget.available, budget.gpu) == (int(3.2 * GiB), True)
    assert budget.where == "GPU memory (CUDA: NVIDIA GeForce GTX 1650)"
    layers = gpu_layers_that_fit(free_bytes=budget.available, **CAPRL_3B)
    assert layers is not None and 0 < layers < CAPRL_3B["n_layer"]
    nvml.reset()
    roomy = runtime_memory_budget(nvidia_choice(nvml, "NVIDIA GeForce RTX 4090", 24 * GiB, 22 * GiB))
    assert gpu_layers_that_fit(free_bytes=roomy.available, **CAPRL_3B) is None  # every layer


@pytest.mark.usefixtures("offline", "ram")
def test_the_model_offer_for_a_runtime_fits_the_quants_to_its_gpu(nvml: FakeNvml) -> None:
    caprl = family()
    small = runtime_model_offer(nvidia_choice(nvml, "NVIDIA GeForce GTX 1650", 4 * GiB, int(3.2 * GiB)))
    assert small.budget.available == int(3.2 * GiB) and small.budget.gpu
    f16 = small.advice_for("f16")
    assert f16 is not None and f16.verdict == "too big"
    nvml.reset()
    big = runtime_model_offer(nvidia_choice(nvml, "NVIDIA GeForce RTX 4090", 24 * GiB, 22 * GiB))
    assert big.recommended == caprl.max_recommended_gpu  # a GPU's ceiling, not the CPU's
    cpu = runtime_model_offer(choose_variant(GpuSearch((), ("no NVIDIA GPU (…)",), "linux", "x64")))
    assert (cpu.budget.where, cpu.budget.available, cpu.budget.gpu) == ("RAM", 6 * GiB, False)


@pytest.mark.usefixtures("ram")
def test_an_integrated_gpu_through_vulkan_is_capped_by_the_ram_available_now(vulkan: FakeVulkan) -> None:
    vulkan.add_device("Intel(R) Arc(TM) Graphics", INTEL, INTEGRATED, 12 * GiB)  # half the RAM, on paper
    choice = choose_variant(detect(nvml_libraries=[], vulkan_libraries=[str(vulkan.path)], platform="linux",
                                   machine="x86_64"))
    assert choice.variant == "vulkan"
    backend = runtime_backend(choice)
    assert backend is not None and backend.gpus[0].kind == "igpu"
    budget = runtime_memory_budget(choice)
    assert (budget.available, budget.gpu) == (6 * GiB, True) and "shared with the system" in budget.where


@pytest.mark.usefixtures("ram")
def test_a_vulkan_card_whose_free_memory_is_unknown_is_fitted_to_its_size(vulkan: FakeVulkan) -> None:
    vulkan.add_device("AMD Radeon RX 6600", 0x1002, DISCRETE, 8 * GiB)  # no VK_EXT_memory_budget
    budget = runtime_memory_budget(choose_variant(detect(nvml_libraries=[], vulkan_libraries=[str(vulkan.path)],
                                                         platform="linux", machine="x86_64")))
    assert (budget.available, budget.gpu) == (8 * GiB, True)


@pytest.mark.usefixtures("ram")
def test_apple_silicon_is_metal_the_built_in_engine_and_its_fit_is_the_ram_available() -> None:
    gpu = apple_gpu("Apple M2")
    choice = choose_variant(GpuSearch((gpu,), ("Apple silicon: Metal, with the computer's memory",), "darwin",
                                      "arm64"))
    assert (choice.variant, choice.runtime_helps) == ("metal", False)
    assert choice.reason == "Apple M2 (16 GB, shared with the system): Metal, which the built-in engine already uses"
    budget = runtime_memory_budget(choice)
    assert (budget.available, budget.gpu) == (6 * GiB, True)
