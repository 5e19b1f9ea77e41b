"""Which compute backend llama.cpp will use (CUDA, Metal, Vulkan or CPU) and on which device.

Only the engine process calls ``detect_backend`` (it loads llama.cpp); the result is plain data that
the CLI and GUI display.  Device names and memory come from ggml's device registry, which
llama-cpp-python does not bind, so a few functions are bound here with ctypes.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass

# ggml_backend_dev_type
_DEVICE_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}

GPU_INSTALL_HINTS = {
    "linux": 'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
    "win32": 'set CMAKE_ARGS=-DGGML_CUDA=on && pip install --force-reinstall --no-cache-dir llama-cpp-python',
    "darwin": 'CMAKE_ARGS="-DGGML_METAL=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
}


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

    @property
    def gpus(self) -> tuple[DeviceInfo, ...]:
        return tuple(d for d in self.devices if d.kind in ("gpu", "igpu"))

    @property
    def name(self) -> str:
        gpus = self.gpus
        return gpus[0].backend if self.gpu_offload and gpus else "CPU"


def gpu_install_hint(platform: str = sys.platform) -> str:
    key = "linux" if platform.startswith("linux") else platform
    return GPU_INSTALL_HINTS.get(key, GPU_INSTALL_HINTS["linux"])


def describe_backend(info: BackendInfo, gpu_layers: int | None = None) -> str:
    """One line for a status bar or stderr, e.g. "CUDA: NVIDIA GeForce RTX 4090 (24.0 GiB)"."""
    if info.gpu_offload and info.gpus and gpu_layers != 0:
        gpu = info.gpus[0]
        memory = f" ({gpu.memory_total / (1 << 30):.1f} GiB)" if gpu.memory_total else ""
        layers = "" if gpu_layers is None or gpu_layers < 0 else f", {gpu_layers} layers offloaded"
        return f"{gpu.backend}: {gpu.description or gpu.name}{memory}{layers}"
    if info.gpu_offload and info.gpus:
        return "CPU (GPU offload turned off with --gpu-layers 0)"
    return f"CPU only: this llama-cpp-python build has no GPU support. For a GPU build: {gpu_install_hint()}"


def detect_backend() -> BackendInfo:
    """Ask the loaded llama.cpp what it can offload to; call only where llama.cpp may be loaded."""
    import llama_cpp
    from llama_cpp import _ggml

    llama_cpp.llama_backend_init()
    lib = _ggml.libggml
    devices: list[DeviceInfo] = []
    try:
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        for fn in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_char_p
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        lib.ggml_backend_dev_memory.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.ggml_backend_dev_memory.restype = None
        lib.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
        lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_reg_name.restype = ctypes.c_char_p

        for i in range(lib.ggml_backend_dev_count()):
            dev = lib.ggml_backend_dev_get(i)
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
            reg = lib.ggml_backend_dev_backend_reg(dev)
            devices.append(
                DeviceInfo(
                    backend=(lib.ggml_backend_reg_name(reg) or b"?").decode(errors="replace"),
                    name=(lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
                    description=(lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace").strip(),
                    kind=_DEVICE_KINDS.get(lib.ggml_backend_dev_type(dev), "other"),
                    memory_total=int(total.value),
                    memory_free=int(free.value),
                )
            )
    except AttributeError:
        # An older or unusual build without the device registry: still tell CPU from GPU.
        devices = []
    return BackendInfo(
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
        devices=tuple(devices),
        system_info=llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
    )
