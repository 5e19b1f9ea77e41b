"""Whether a quant fits this machine, and which one to recommend.

Memory needed is counted as the weights (file sizes of model and projector), the KV cache for the context
the engine will use, and the compute buffers llama.cpp and the vision encoder reserve. Where it is
compared: free VRAM of the GPU for CUDA/Vulkan; for Metal and integrated GPUs, which share the computer's
memory, the smaller of the GPU's limit and the RAM available now; available RAM for CPU-only builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import psutil

from caprl_desktop.core.engine.backend import BackendInfo, DeviceInfo
from caprl_desktop.core.gpu.variant import VariantChoice
from caprl_desktop.core.models.catalog import Catalog, ModelFamily, RemoteFile

Verdict = Literal["fits", "tight", "too big", "unknown"]
COMFORT = 0.85  # of the memory available: beyond it other programs and the desktop start to suffer


@dataclass(frozen=True)
class MemoryBudget:
    where: str  # "GPU memory (CUDA: NVIDIA RTX 4090)", "RAM"
    available: int | None
    gpu: bool


def _available_ram() -> int | None:
    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):
        return None


def shares_system_memory(gpu: DeviceInfo) -> bool:
    """Apple's GPUs and integrated ones use the computer's RAM: what they report free is a limit, not free."""
    return gpu.backend == "Metal" or gpu.kind == "igpu"


def memory_budget(backend: BackendInfo | None) -> MemoryBudget:
    """What a model may use here: the first GPU's free memory when the build offloads to it, else free RAM.

    Metal reports its working-set limit (about 3/4 of RAM) however much the browser and the rest hold, so on
    an 8–16 GB Mac that figure alone let 16 captions run side by side and the Mac swapped; there the RAM
    available now caps it.
    """
    if backend is not None and backend.gpu_offload and backend.gpus:
        gpu = backend.gpus[0]
        if gpu.memory_free or gpu.memory_total:
            where = f"GPU memory ({gpu.backend}: {gpu.description or gpu.name})"
            available = gpu.memory_free or gpu.memory_total
            ram = _available_ram() if shares_system_memory(gpu) else None
            if ram is not None and ram < available:
                return MemoryBudget(f"{where}, shared with the system: RAM available now", ram, gpu=True)
            return MemoryBudget(where, available, gpu=True)
    return MemoryBudget("RAM", _available_ram(), gpu=False)


# The ggml backend each runtime variant offloads to, named as a probe of the built-in engine names it.
_RUNTIME_BACKENDS = {"cuda-13": "CUDA", "cuda-12": "CUDA", "vulkan": "Vulkan", "metal": "Metal"}


def runtime_backend(choice: VariantChoice) -> BackendInfo | None:
    """Where a llama.cpp runtime of ``choice`` (core/gpu/variant.py) would run, in the form the fit reads a probe
    of the built-in engine: its GPU as found by core/gpu, or None for the cpu variant.

    Use it wherever the engine in use is a runtime rather than the built-in engine (whose own probe says where it
    runs): ``model_offer(backend=runtime_backend(choice), probe=False)`` for the model dialog's and ``models list
    --remote``'s "fits this computer", and ``runtime_memory_budget`` for sizing GPU layers and captions at a time.
    """
    if choice.gpu is None or choice.variant not in _RUNTIME_BACKENDS:
        return None
    gpu = choice.gpu
    device = DeviceInfo(backend=_RUNTIME_BACKENDS[choice.variant], name=gpu.name, description=gpu.name,
                        kind="igpu" if gpu.shares_system_memory else "gpu", memory_total=gpu.memory_total,
                        memory_free=gpu.memory_free or 0)
    return BackendInfo(gpu_offload=True, devices=(device,), system_info="")


def runtime_memory_budget(choice: VariantChoice) -> MemoryBudget:
    """What a model run by a runtime of ``choice`` may use: the GPU's free memory as its driver reported it (the
    card's total where the driver does not say, as Vulkan without VK_EXT_memory_budget), capped by the RAM
    available now for GPUs that share it (Apple silicon, integrated ones); free RAM for the cpu variant.

    For the runtime's ``-ngl``: on a GPU that does not share the system's memory (``budget.gpu`` and not
    ``choice.gpu.shares_system_memory``), ``budget.available`` is the ``free_bytes`` that
    ``engine/_llama/parallel.gpu_layers_that_fit`` sizes the layers with, as the built-in engine does; for ``-np``,
    ``budget.available`` less the weights is ``choose_sequences``' ``free_bytes``.
    """
    return memory_budget(runtime_backend(choice))


def needed_bytes(family: ModelFamily, model_size: int, mmproj_size: int, n_ctx: int) -> int:
    return model_size + mmproj_size + n_ctx * family.kv_bytes_per_token + family.compute_overhead_bytes


def verdict(needed: int, budget: MemoryBudget) -> Verdict:
    if budget.available is None:
        return "unknown"
    if needed <= budget.available * COMFORT:
        return "fits"
    if needed <= budget.available:
        return "tight"
    return "too big"


@dataclass(frozen=True)
class FitAdvice:
    file: RemoteFile
    needed: int
    verdict: Verdict


def advise(catalog: Catalog, budget: MemoryBudget, mmproj: RemoteFile | None, n_ctx: int) -> list[FitAdvice]:
    mmproj_size = mmproj.size if mmproj is not None else 0
    return [FitAdvice(f, n := needed_bytes(catalog.family, f.size, mmproj_size, n_ctx), verdict(n, budget))
            for f in catalog.models]


def recommend(catalog: Catalog, advice: list[FitAdvice], budget: MemoryBudget) -> RemoteFile | None:
    """The largest static quant that fits comfortably, up to a ceiling.

    The ceiling is Q8_0 on a GPU (f16 costs twice the memory for no visible gain) and Q4_K_M on a CPU,
    where decoding speed falls with the size of the weights. Unknown memory: the family's default.
    """
    family = catalog.family
    static = [a for a in advice if not a.file.imatrix]
    if not static:
        return None
    default = catalog.find_model(family.default_quant)
    if budget.available is None:
        return default or static[0].file
    ceiling_quant = family.max_recommended_gpu if budget.gpu else family.max_recommended_cpu
    ceiling = catalog.find_model(ceiling_quant)
    limit = ceiling.size if ceiling is not None else max(a.file.size for a in static)
    candidates = [a for a in static if a.verdict == "fits" and a.file.size <= limit]
    if candidates:
        # Equal sizes happen (Q4_K_S / Q4_K_M differ by a few MB): prefer the family's default then.
        return max(candidates, key=lambda a: (a.file.size, a.file == default)).file
    tight = [a for a in static if a.verdict == "tight"]
    return min((tight or static), key=lambda a: a.file.size).file
