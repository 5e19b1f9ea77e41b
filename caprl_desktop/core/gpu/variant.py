"""Which llama.cpp build this computer's GPU can run (cuda-13, cuda-12, vulkan, metal or cpu), and why, in words.

NVIDIA first: CUDA is llama.cpp's fastest path on their cards, if the driver is new enough for the CUDA build
(NVIDIA's compatibility table below) and, for CUDA 13, the card is not older than CUDA 13 compiles for.
A card whose driver runs neither still runs Vulkan. AMD and Intel cards run the Vulkan build. Apple silicon
runs Metal, which the built-in engine already uses, so no download helps there. Anything else: the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from caprl_desktop.core.gpu.found import Gpu, GpuSearch

Variant = Literal["cuda-13", "cuda-12", "vulkan", "metal", "cpu"]

# NVIDIA's CUDA compatibility table, "CUDA Toolkit and Minimum Required Driver Version for CUDA Minor Version
# Compatibility" (CUDA Toolkit release notes, https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/ ; also
# https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html): since CUDA 11 a program
# built with any toolkit of a major release runs on the driver that major release first needed, so one figure
# covers llama.cpp's CUDA 12.4 (Windows) and 12.8 (Linux) builds, and another its CUDA 13 builds.
CUDA_12_MIN_DRIVER = {"linux": (525, 60, 13), "win32": (528, 33)}
CUDA_13_MIN_DRIVER = {"linux": (580,), "win32": (580,)}
# CUDA 13.0 dropped offline compilation for Maxwell, Pascal and Volta (compute capability 5.x-7.0; release notes,
# "Deprecated Architectures"): its builds carry no code for those cards, so they stay on CUDA 12.
CUDA_13_MIN_COMPUTE_CAPABILITY = (7, 5)
# The CUDA version in the name of llama.cpp's CUDA 12 release build on each OS (its release workflow).
CUDA_12_BUILD_NAME = {"win32": "CUDA 12.4", "linux": "CUDA 12.8"}

# Where llama.cpp publishes each kind of build: (platform, machine) pairs.
_CUDA_BUILDS = {("win32", "x64"), ("linux", "x64")}
_VULKAN_BUILDS = {("win32", "x64"), ("linux", "x64"), ("linux", "arm64")}


@dataclass(frozen=True)
class VariantChoice:
    variant: Variant
    gpu: Gpu | None  # the GPU it would run on; None for cpu
    reason: str  # "NVIDIA GeForce RTX 4070 (12 GB), driver 560.94: CUDA 12.4 (CUDA 13 needs driver 580 or newer)"
    platform: str

    @property
    def runtime_helps(self) -> bool:
        """Whether a downloaded runtime would put captions on a GPU the built-in CPU engine leaves idle."""
        return self.variant in ("cuda-13", "cuda-12", "vulkan")

    @property
    def build_name(self) -> str:
        """The build as people know it: "CUDA 12.4", "CUDA 13", "Vulkan", "Metal", "CPU"."""
        if self.variant == "cuda-12":
            return CUDA_12_BUILD_NAME.get(_os(self.platform), "CUDA 12")
        return {"cuda-13": "CUDA 13", "vulkan": "Vulkan", "metal": "Metal"}.get(self.variant, "CPU")


def _os(platform: str) -> str:
    return "linux" if platform.startswith("linux") else platform


def parse_driver_version(text: str | None) -> tuple[int, ...] | None:
    """"560.94" -> (560, 94); "525.60.13" -> (525, 60, 13); None where it is not a dotted number."""
    if not text:
        return None
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return None


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(f"{part:02d}" if i else str(part) for i, part in enumerate(version))


def _driver_runs(gpu: Gpu, minimum: tuple[int, ...], cuda_major: int) -> bool:
    """The driver version against the table; where it cannot be read, the newest CUDA NVML says the driver runs."""
    driver = parse_driver_version(gpu.driver_version)
    if driver is not None:
        return driver >= minimum
    return gpu.cuda_version is not None and gpu.cuda_version[0] >= cuda_major


def _largest(gpus: tuple[Gpu, ...]) -> Gpu:
    # Dedicated memory first: an integrated GPU's "memory" is a share of RAM, larger on paper than the card beside it.
    return max(gpus, key=lambda g: (not g.shares_system_memory, g.memory_total))


def choose_variant(search: GpuSearch) -> VariantChoice:
    """The build this computer should run, with the reason; see the module's docstring for the order."""
    system = _os(search.platform)
    nvidia = search.by_vendor("NVIDIA")
    nvml = tuple(g for g in nvidia if g.source == "NVML")
    vulkan = tuple(g for g in search.gpus if g.source == "Vulkan")
    if nvml:
        choice = _nvidia_choice(_largest(nvml), search, vulkan)
        if choice is not None:
            return choice
    if search.platform == "darwin" and search.machine == "arm64":
        apple = search.by_vendor("Apple")
        gpu = apple[0] if apple else None
        named = f"{gpu.name} ({gpu.size_text})" if gpu else "Apple silicon"
        return VariantChoice("metal", gpu, f"{named}: Metal, which the built-in engine already uses",
                             search.platform)
    if vulkan and (system, search.machine) in _VULKAN_BUILDS:
        gpu = _largest(vulkan)
        return VariantChoice("vulkan", gpu, f"{gpu.name} ({gpu.size_text}): Vulkan", search.platform)
    if vulkan:
        gpu = _largest(vulkan)
        return VariantChoice("cpu", None, f"{gpu.name} found, but llama.cpp publishes no GPU build for "
                                          f"{search.platform} on {search.machine}: the CPU", search.platform)
    if nvml:
        # An NVIDIA card that runs no CUDA build here, and no Vulkan driver beside it.
        if (system, search.machine) in _CUDA_BUILDS:
            needs = f"CUDA 12 needs driver {_version_text(CUDA_12_MIN_DRIVER[system])} or newer, and no Vulkan " \
                    "driver was found; a newer NVIDIA driver would let the GPU caption"
        else:
            needs = f"llama.cpp publishes no CUDA build for {search.platform} on {search.machine}, and no Vulkan " \
                    "driver was found"
        return VariantChoice("cpu", None, f"{_nvidia_label(_largest(nvml))}: the CPU ({needs})", search.platform)
    # Why each place found nothing is in search.notes, which doctor prints beside this.
    return VariantChoice("cpu", None, "no GPU found: the CPU", search.platform)


def _nvidia_label(gpu: Gpu) -> str:
    driver = f", driver {gpu.driver_version}" if gpu.driver_version else ""
    return f"{gpu.name} ({gpu.size_text}){driver}"


def _nvidia_choice(gpu: Gpu, search: GpuSearch, vulkan: tuple[Gpu, ...]) -> VariantChoice | None:
    """CUDA 13, CUDA 12, or Vulkan for an NVIDIA card; None where none of them runs (the caller goes on)."""
    system = _os(search.platform)
    label = _nvidia_label(gpu)
    if (system, search.machine) not in _CUDA_BUILDS:
        return None
    cc = gpu.compute_capability
    too_old_for_13 = cc is not None and cc < CUDA_13_MIN_COMPUTE_CAPABILITY
    runs_13 = _driver_runs(gpu, CUDA_13_MIN_DRIVER[system], 13)
    if runs_13 and not too_old_for_13:
        return VariantChoice("cuda-13", gpu, f"{label}: CUDA 13", search.platform)
    if _driver_runs(gpu, CUDA_12_MIN_DRIVER[system], 12):
        name = CUDA_12_BUILD_NAME[system]
        if too_old_for_13 and cc is not None:
            why = f"CUDA 13 has no code for compute capability {cc[0]}.{cc[1]}; it needs " \
                  f"{CUDA_13_MIN_COMPUTE_CAPABILITY[0]}.{CUDA_13_MIN_COMPUTE_CAPABILITY[1]} or newer"
        else:
            why = f"CUDA 13 needs driver {_version_text(CUDA_13_MIN_DRIVER[system])} or newer"
        return VariantChoice("cuda-12", gpu, f"{label}: {name} ({why})", search.platform)
    nvidia_vulkan = tuple(g for g in vulkan if g.vendor == "NVIDIA")
    if nvidia_vulkan and (system, search.machine) in _VULKAN_BUILDS:
        return VariantChoice("vulkan", gpu, f"{label}: Vulkan (CUDA 12 needs driver "
                                            f"{_version_text(CUDA_12_MIN_DRIVER[system])} or newer; a newer "
                                            "driver would let it run CUDA)", search.platform)
    return None
