"""Asks the loaded llama.cpp which backend and devices it has; runs in the engine process only.

Device names and memory come from ggml's device registry, which llama-cpp-python does not bind, so a
few of its functions are bound here with ctypes.
"""

from __future__ import annotations

import ctypes

import llama_cpp
from llama_cpp import _ggml

from caprl_desktop.core.engine._llama import libraries
from caprl_desktop.core.engine.backend import BackendInfo, DeviceInfo

# ggml_backend_dev_type
_DEVICE_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def detect_backend() -> BackendInfo:
    """Ask the loaded llama.cpp what it can offload to; call only where llama.cpp may be loaded."""
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
        note=libraries.note,
    )
