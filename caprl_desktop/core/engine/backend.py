"""Which compute backend llama.cpp will use (CUDA, Metal, Vulkan or CPU) and on which device.

The types here are plain data the CLI and GUI display; ``engine/_llama/probe.py`` fills them in inside the
engine process, where llama.cpp is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# A GPU without a compiler: the app fetches llama.cpp's own GPU build (``core/runtimes``). Never "pip install" with
# CMAKE_ARGS, which a packaged app's user cannot run and most people with a GPU would not get through.
GPU_HINT = "for a GPU: caprl-desktop runtime install (llama.cpp's GPU build for this computer, no compiler needed)"


@dataclass(frozen=True)
class DeviceInfo:
    backend: str  # ggml's registry name: "CUDA", "Metal", "Vulkan", "CPU", ...
    name: str
    description: str
    kind: str  # cpu, gpu, igpu, accel
    memory_total: int
    memory_free: int


@dataclass(frozen=True)
class BackendInfo:
    gpu_offload: bool
    devices: tuple[DeviceInfo, ...]
    system_info: str
    note: str = ""  # why a GPU build fell back to the CPU build (``_llama/libraries.py``), for the user

    @property
    def gpus(self) -> tuple[DeviceInfo, ...]:
        return tuple(d for d in self.devices if d.kind in ("gpu", "igpu"))

    @property
    def name(self) -> str:
        gpus = self.gpus
        return gpus[0].backend if self.gpu_offload and gpus else "CPU"


def describe_backend(info: BackendInfo, gpu_layers: int | None = None) -> str:
    """One line for a status bar or stderr, e.g. "CUDA: NVIDIA GeForce RTX 4090 (24.0 GiB)"."""
    if info.gpu_offload and info.gpus and gpu_layers != 0:
        gpu = info.gpus[0]
        memory = f" ({gpu.memory_total / (1 << 30):.1f} GiB)" if gpu.memory_total else ""
        layers = "" if gpu_layers is None or gpu_layers < 0 else f", {gpu_layers} layers offloaded"
        return f"{gpu.backend}: {gpu.description or gpu.name}{memory}{layers}"
    if info.gpu_offload and info.gpus:
        return "CPU (GPU offload turned off with --gpu-layers 0)"
    if info.note:
        return f"CPU: {info.note}"
    return f"CPU only: this llama-cpp-python build has no GPU support; {GPU_HINT}"


AMX_ENV = "CAPRL_ALLOW_AMX"  # "1": use llama.cpp's AMX kernels anyway (a build where #20824 is fixed)


def amx_kernels_unsafe(backend: BackendInfo) -> bool:
    """Whether llama.cpp would run Q4_K weights through its AMX kernels here, which crash on Sapphire
    Rapids-class CPUs at the first caption (ggml-org/llama.cpp#20824, seen on this project's test machine)."""
    return "AMX_INT8 = 1" in backend.system_info and os.environ.get(AMX_ENV) != "1"
