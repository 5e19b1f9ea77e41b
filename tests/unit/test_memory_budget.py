"""The memory a model and its side-by-side captions may use: GPUs that share the computer's RAM are capped by it."""

from __future__ import annotations

from types import SimpleNamespace

import psutil
import pytest

from caprl_desktop.core.engine._llama.parallel import (
    GPU_MAX_SEQUENCES,
    choose_sequences,
    fewer_sequences,
    gpu_layers_that_fit,
    kv_bytes_per_token,
)
from caprl_desktop.core.engine.backend import AMX_ENV, BackendInfo, DeviceInfo, amx_kernels_unsafe
from caprl_desktop.core.models.fit import memory_budget

GiB = 1 << 30
CPU = DeviceInfo("CPU", "CPU", "Apple M2", "cpu", 8 * GiB, 3 * GiB)


def backend(gpu: DeviceInfo) -> BackendInfo:
    return BackendInfo(gpu_offload=True, devices=(gpu, CPU), system_info="")


@pytest.fixture
def ram_available(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 8 GB Mac with Safari and Mail open: 2.5 GiB available."""
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=int(2.5 * GiB)))


@pytest.mark.usefixtures("ram_available")
def test_metal_is_capped_by_the_ram_available_now_not_its_working_set_limit() -> None:
    metal = DeviceInfo("Metal", "MTL0", "Apple M2", "gpu", int(5.3 * GiB), int(5.3 * GiB))  # Metal's limit
    budget = memory_budget(backend(metal))
    assert budget.gpu and budget.available == int(2.5 * GiB)
    assert "shared with the system" in budget.where
    # What the engine makes of it for CapRL-3B at Q4_K_M (2.2 GB with its projector), 8k context per caption:
    per_sequence = kv_bytes_per_token(36, 2, 128) * 8192
    weights = int(2.2e9)
    assert choose_sequences(None, gpu=True, free_bytes=budget.available - weights, per_sequence_bytes=per_sequence) == 1
    before = choose_sequences(None, gpu=True, free_bytes=metal.memory_free - weights, per_sequence_bytes=per_sequence)
    assert before > 1  # the limit alone let several run side by side on a Mac with no memory to spare


@pytest.mark.usefixtures("ram_available")
def test_an_integrated_gpu_is_capped_too_but_a_card_keeps_its_own_memory() -> None:
    igpu = DeviceInfo("Vulkan", "Vulkan0", "Intel Iris Xe", "igpu", 8 * GiB, 7 * GiB)
    assert memory_budget(backend(igpu)).available == int(2.5 * GiB)
    card = DeviceInfo("CUDA", "CUDA0", "NVIDIA GeForce RTX 4070", "gpu", 12 * GiB, 11 * GiB)
    budget = memory_budget(backend(card))
    assert budget.available == 11 * GiB and budget.where == "GPU memory (CUDA: NVIDIA GeForce RTX 4070)"
    sequences = choose_sequences(None, gpu=True, free_bytes=budget.available, per_sequence_bytes=GiB // 4)
    assert sequences == GPU_MAX_SEQUENCES


def test_a_mac_with_memory_to_spare_keeps_the_gpu_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=28 * GiB))  # 32 GB
    metal = DeviceInfo("Metal", "MTL0", "Apple M2 Pro", "gpu", 21 * GiB, 21 * GiB)
    budget = memory_budget(backend(metal))
    assert budget.available == 21 * GiB and budget.where == "GPU memory (Metal: Apple M2 Pro)"


# CapRL-3B: 36 layers, Q4_K_M 1.93 GB with its f16 projector 1.34 GB; one caption's KV cache at 8k context.
CAPRL_3B = dict(n_layer=36, model_bytes=int(1.93e9), mmproj_bytes=int(1.34e9),
                sequence_bytes=kv_bytes_per_token(36, 2, 128) * 8192)


def test_a_card_with_too_little_free_memory_gets_only_the_layers_that_fit() -> None:
    """On Windows the NVIDIA driver would spill the rest into system RAM and run 5-20x slower, with no error."""
    layers = gpu_layers_that_fit(free_bytes=int(3.2 * GiB), **CAPRL_3B)  # a 4 GB card with the desktop on it
    assert layers is not None and 0 < layers < 36
    per_layer = CAPRL_3B["model_bytes"] / 37
    on_gpu = CAPRL_3B["mmproj_bytes"] + CAPRL_3B["sequence_bytes"] + layers * per_layer
    assert on_gpu < 3.2 * GiB - (1 << 30) <= on_gpu + per_layer  # as many as fit beside the reserve, no more


def test_a_card_with_room_takes_every_layer_and_a_full_one_none() -> None:
    assert gpu_layers_that_fit(free_bytes=22 * GiB, **CAPRL_3B) is None  # all
    assert gpu_layers_that_fit(free_bytes=None, **CAPRL_3B) is None  # unknown: as asked
    assert gpu_layers_that_fit(free_bytes=int(1.5 * GiB), **CAPRL_3B) == 0


def test_a_context_that_cannot_be_allocated_is_tried_again_with_half_the_captions() -> None:
    tries = [16]
    while tries[-1] > 1:
        tries.append(fewer_sequences(tries[-1]))
    assert tries == [16, 8, 4, 2, 1]


SAPPHIRE_RAPIDS = ("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | "
                   "AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |")


def test_amx_kernels_are_kept_off_where_llama_cpp_would_use_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Their Q4_K kernels crash at the first caption (llama.cpp #20824; this project's test machine did)."""
    monkeypatch.delenv(AMX_ENV, raising=False)
    amx = BackendInfo(gpu_offload=False, devices=(CPU,), system_info=SAPPHIRE_RAPIDS)
    assert amx_kernels_unsafe(amx)
    assert not amx_kernels_unsafe(BackendInfo(False, (CPU,), SAPPHIRE_RAPIDS.replace("AMX_INT8 = 1 | ", "")))
    monkeypatch.setenv(AMX_ENV, "1")  # a llama.cpp where it is fixed
    assert not amx_kernels_unsafe(amx)
