"""Fake NVML and Vulkan loader libraries, compiled from the C here, that the app's GPU search loads by path.

They export the real entry points with the real signatures, so the app's ctypes code runs unchanged; the test
scripts them through their ``fake_*`` functions on the same library handle (the system loads a path once per
process). A machine without a C compiler skips the tests that need them.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
GiB = 1 << 30

# PCI vendor ids and Vulkan device types, as the fake loader takes them.
NVIDIA, AMD, INTEL = 0x10DE, 0x1002, 0x8086
INTEGRATED, DISCRETE, CPU_DEVICE = 1, 2, 4
_SUFFIX = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")


def c_compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("cc")


def build(source: str, out_dir: Path, *defines: str) -> Path:
    """``source`` compiled into a shared library in ``out_dir``, with ``-D`` for each of ``defines``."""
    compiler = c_compiler()
    if compiler is None:
        pytest.skip("no C compiler (gcc) to build the fake GPU libraries")
    out = out_dir / (Path(source).stem + "".join(f"-{d.lower()}" for d in defines) + _SUFFIX)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror",
                    *(f"-D{d}" for d in defines), "-o", str(out), str(HERE / source)],
                   check=True, capture_output=True, text=True)
    return out


def fake_nvml(out_dir: Path) -> FakeNvml:
    """The fake NVML in ``out_dir`` (built there the first time), reset to no GPU."""
    path = out_dir / f"fake_nvml{_SUFFIX}"
    return FakeNvml(path if path.exists() else build("fake_nvml.c", out_dir))


def fake_vulkan(out_dir: Path) -> FakeVulkan:
    """The fake Vulkan loader in ``out_dir`` (built there the first time), reset to no device."""
    path = out_dir / f"fake_vulkan{_SUFFIX}"
    return FakeVulkan(path if path.exists() else build("fake_vulkan.c", out_dir))


def layout(out_dir: Path, *, real_headers: bool = False) -> dict[str, int]:
    """The sizes and offsets vulkan_layout.c prints, built against fake_vulkan.h or the real Vulkan header."""
    compiler = c_compiler()
    if compiler is None:
        pytest.skip("no C compiler (gcc) to build the Vulkan layout check")
    program = out_dir / ("vulkan_layout_real" if real_headers else "vulkan_layout")
    subprocess.run([compiler, "-Wall", "-Werror", *(["-DREAL_VULKAN_HEADERS"] if real_headers else []),
                    "-o", str(program), str(HERE / "vulkan_layout.c")], check=True, capture_output=True, text=True)
    lines = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout.splitlines()
    return {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1]) for line in lines}


class FakeNvml:
    """Scripts fake_nvml.c: the driver version, the GPUs, an init that fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lib = ctypes.CDLL(str(path))
        self._lib.fake_nvml_driver.argtypes = (ctypes.c_char_p, ctypes.c_int)
        self._lib.fake_nvml_add_gpu.argtypes = (ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_ulonglong,
                                                ctypes.c_int, ctypes.c_int, ctypes.c_int)
        self._lib.fake_nvml_fail_init.argtypes = (ctypes.c_int,)
        self.reset()

    def reset(self) -> None:
        self._lib.fake_nvml_reset()

    def driver(self, version: str, cuda: tuple[int, int]) -> None:
        self._lib.fake_nvml_driver(version.encode(), cuda[0] * 1000 + cuda[1] * 10)

    def add_gpu(self, name: str, total: int, free: int, compute_capability: tuple[int, int] = (8, 9), *,
                memory_error: int = 0) -> None:
        self._lib.fake_nvml_add_gpu(name.encode(), total, free, *compute_capability, memory_error)

    def fail_init(self, code: int) -> None:
        self._lib.fake_nvml_fail_init(code)

    def sessions(self) -> int:
        """nvmlInit_v2 calls not matched by an nvmlShutdown."""
        return int(self._lib.fake_nvml_sessions())


class FakeVulkan:
    """Scripts fake_vulkan.c: the physical devices, a vkCreateInstance that fails, the loader's version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        self.lib.fake_vk_add_device.argtypes = (ctypes.c_char_p, ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint32,
                                                ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)
        self.lib.fake_vk_fail_create.argtypes = (ctypes.c_int32,)
        self.lib.fake_vk_loader_version.argtypes = (ctypes.c_uint32, ctypes.c_uint32)
        self.reset()

    def reset(self) -> None:
        self.lib.fake_vk_reset()

    def add_device(self, name: str, vendor: int, device_type: int, memory: int, *, budget: int = 0,
                   usage: int = 0, driver: int = 0) -> None:
        """A device with ``memory`` bytes of device-local heap; ``budget`` 0: no VK_EXT_memory_budget."""
        self.lib.fake_vk_add_device(name.encode(), vendor, device_type, driver, memory, budget, usage)

    def fail_create(self, code: int) -> None:
        self.lib.fake_vk_fail_create(code)

    def loader_version(self, major: int, minor: int) -> None:
        self.lib.fake_vk_loader_version(major, minor)

    def live_instances(self) -> int:
        return int(self.lib.fake_vk_live_instances())

    def misuses(self) -> int:
        """Calls the Vulkan rules forbid (a 1.1 function on a 1.0 instance), which a real driver may crash on."""
        return int(self.lib.fake_vk_misuses())
