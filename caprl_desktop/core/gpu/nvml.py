"""NVIDIA GPUs through NVML, the management library every NVIDIA driver installs, loaded with ctypes.

NVML answers without CUDA and without creating a GPU context: each GPU's name, memory total and free, its
compute capability, and the driver's version with the newest CUDA it runs. The library missing, an init that
fails (no driver loaded, a driver/library mismatch after an update without reboot) or a call that fails is an
answer in words, never an exception.
"""

from __future__ import annotations

import contextlib
import ctypes
import ntpath
import os
from collections.abc import Mapping, Sequence
from typing import Any

from caprl_desktop.core.gpu.found import Gpu
from caprl_desktop.core.gpu.libraries import open_first, system32

NVML_SUCCESS = 0
# Buffer sizes nvml.h gives for names and versions (NVML_DEVICE_NAME_V2_BUFFER_SIZE, ..._DRIVER_VERSION_...).
_NAME_SIZE = 96
_VERSION_SIZE = 80
# More than any workstation holds; a library answering more is not to be believed.
_MAX_DEVICES = 64


class _Memory(ctypes.Structure):
    """nvmlMemory_t (v1): bytes."""

    _fields_ = (("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong))


def nvml_candidates(platform: str, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Where NVML is on this OS: System32 for current Windows drivers, NVSMI under Program Files for older ones."""
    env = os.environ if environ is None else environ
    if platform == "win32":
        program_files = env.get("ProgramFiles", "C:\\Program Files")
        return (system32("nvml.dll", env),
                ntpath.join(program_files, "NVIDIA Corporation", "NVSMI", "nvml.dll"))
    if platform.startswith("linux"):
        return ("libnvidia-ml.so.1",)
    return ()


class NvmlError(Exception):
    """A call that did not return NVML_SUCCESS; caught inside this module and said in words."""


class _Nvml:
    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        error_string = getattr(lib, "nvmlErrorString", None)
        if error_string is not None:
            error_string.restype = ctypes.c_char_p
            error_string.argtypes = (ctypes.c_int,)
        self._error_string = error_string

    def function(self, name: str, *argtypes: Any) -> Any:
        try:
            fn = getattr(self._lib, name)
        except AttributeError:
            raise NvmlError(f"the library has no {name}") from None
        fn.restype = ctypes.c_int
        fn.argtypes = argtypes
        return fn

    def call(self, name: str, argtypes: Sequence[Any], *args: Any) -> None:
        code = self.function(name, *argtypes)(*args)
        if code != NVML_SUCCESS:
            raise NvmlError(f"{name} failed: {self.error_text(int(code))}")

    def error_text(self, code: int) -> str:
        if self._error_string is not None:
            text = self._error_string(code)
            if text:
                return f"{text.decode('utf-8', 'replace')} (NVML error {code})"
        return f"NVML error {code}"


def read_nvml(candidates: Sequence[str]) -> tuple[list[Gpu], str]:
    """NVIDIA GPUs NVML lists, and a note on what was found or why nothing ("no NVIDIA GPU (…)")."""
    opened = open_first(candidates)
    if isinstance(opened, str):
        return [], f"no NVIDIA GPU ({opened})"
    lib, name = opened
    nvml = _Nvml(lib)
    try:
        nvml.call("nvmlInit_v2", ())
    except NvmlError as exc:
        return [], f"no NVIDIA GPU ({name}: {exc})"
    try:
        return _read(nvml, name)
    except NvmlError as exc:
        return [], f"no NVIDIA GPU ({name}: {exc})"
    finally:
        # What was read stands if shutting down fails; NVML frees the rest when the process ends.
        with contextlib.suppress(NvmlError):
            nvml.call("nvmlShutdown", ())


def _read(nvml: _Nvml, library: str) -> tuple[list[Gpu], str]:
    text = ctypes.create_string_buffer(_VERSION_SIZE)
    nvml.call("nvmlSystemGetDriverVersion", (ctypes.c_char_p, ctypes.c_uint), text, _VERSION_SIZE)
    driver = text.value.decode("ascii", "replace").strip() or None
    cuda = _cuda_version(nvml)
    count = ctypes.c_uint(0)
    nvml.call("nvmlDeviceGetCount_v2", (ctypes.POINTER(ctypes.c_uint),), ctypes.byref(count))
    gpus: list[Gpu] = []
    skipped: list[str] = []
    for index in range(min(count.value, _MAX_DEVICES)):
        try:
            gpus.append(_device(nvml, index, driver, cuda))
        except NvmlError as exc:
            # One GPU that cannot be read (lost off the bus, no permission) leaves the others usable.
            skipped.append(f"GPU {index}: {exc}")
    if not gpus:
        why = "; ".join(skipped) if skipped else "the driver lists no GPU"
        return [], f"no NVIDIA GPU ({library}: {why})"
    cuda_text = f", runs CUDA up to {cuda[0]}.{cuda[1]}" if cuda else ""
    note = f"NVML ({library}): driver {driver or 'of unknown version'}{cuda_text}, " \
           f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}"
    return gpus, note + "".join(f"; {s}" for s in skipped)


def _cuda_version(nvml: _Nvml) -> tuple[int, int] | None:
    value = ctypes.c_int(0)
    try:
        nvml.call("nvmlSystemGetCudaDriverVersion_v2", (ctypes.POINTER(ctypes.c_int),), ctypes.byref(value))
    except NvmlError:
        return None
    # NVML encodes 12.6 as 12060.
    return (value.value // 1000, value.value % 1000 // 10) if value.value > 0 else None


def _device(nvml: _Nvml, index: int, driver: str | None, cuda: tuple[int, int] | None) -> Gpu:
    handle = ctypes.c_void_p()
    nvml.call("nvmlDeviceGetHandleByIndex_v2", (ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p)), index,
              ctypes.byref(handle))
    name = ctypes.create_string_buffer(_NAME_SIZE)
    nvml.call("nvmlDeviceGetName", (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint), handle, name, _NAME_SIZE)
    memory = _Memory()
    nvml.call("nvmlDeviceGetMemoryInfo", (ctypes.c_void_p, ctypes.POINTER(_Memory)), handle, ctypes.byref(memory))
    return Gpu(name=name.value.decode("utf-8", "replace").strip() or f"NVIDIA GPU {index}", vendor="NVIDIA",
               source="NVML", memory_total=int(memory.total), memory_free=int(memory.free),
               shares_system_memory=False, driver_version=driver, cuda_version=cuda,
               compute_capability=_compute_capability(nvml, handle))


def _compute_capability(nvml: _Nvml, handle: ctypes.c_void_p) -> tuple[int, int] | None:
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    try:
        nvml.call("nvmlDeviceGetCudaComputeCapability",
                  (ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)),
                  handle, ctypes.byref(major), ctypes.byref(minor))
    except NvmlError:
        return None
    return (major.value, minor.value) if major.value > 0 else None
