"""What a GPU search found: each GPU with its memory and driver, and, per place looked, what it said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Vendor = Literal["NVIDIA", "AMD", "Intel", "Apple", "other"]
Source = Literal["NVML", "Vulkan", "Apple"]

GIB = 1 << 30

# PCI vendor ids, as Vulkan reports them.
VENDOR_IDS: dict[int, Vendor] = {0x10DE: "NVIDIA", 0x1002: "AMD", 0x8086: "Intel", 0x106B: "Apple"}


@dataclass(frozen=True)
class Gpu:
    name: str  # as the driver names it: "NVIDIA GeForce RTX 4070"
    vendor: Vendor
    source: Source
    memory_total: int  # bytes; the computer's RAM where the GPU shares it (Apple silicon)
    memory_free: int | None  # bytes free now, None where the driver does not say
    shares_system_memory: bool  # integrated GPUs and Apple silicon: their memory is the computer's RAM
    driver_version: str | None = None  # "560.94"
    cuda_version: tuple[int, int] | None = None  # the newest CUDA the NVIDIA driver runs, (12, 6)
    compute_capability: tuple[int, int] | None = None  # NVIDIA's architecture number, (8, 9) for Ada

    @property
    def size_text(self) -> str:
        """The card's memory as it is sold ("12 GB"), or the shared RAM it can use."""
        shared = ", shared with the system" if self.shares_system_memory else ""
        return f"{card_memory(self.memory_total)}{shared}"

    def describe(self) -> str:
        """One line for doctor: name, memory, what is free, the driver."""
        parts = [self.size_text]
        if self.memory_free is not None:
            parts.append(f"{self.memory_free / GIB:.1f} GB free")
        if self.driver_version:
            cuda = f" (runs CUDA up to {self.cuda_version[0]}.{self.cuda_version[1]})" if self.cuda_version else ""
            parts.append(f"driver {self.driver_version}{cuda}")
        if self.compute_capability:
            parts.append(f"compute capability {self.compute_capability[0]}.{self.compute_capability[1]}")
        return f"{self.name}: {', '.join(parts)} [{self.source}]"


@dataclass(frozen=True)
class GpuSearch:
    gpus: tuple[Gpu, ...]
    notes: tuple[str, ...]  # per place looked: what it found, or why nothing ("no NVIDIA GPU (…)")
    platform: str  # sys.platform of the computer searched
    machine: str  # "x64", "arm64" or what platform.machine() said

    def by_vendor(self, vendor: Vendor) -> tuple[Gpu, ...]:
        return tuple(g for g in self.gpus if g.vendor == vendor)


def card_memory(n: int) -> str:
    """Memory the way cards are sold: whole binary gigabytes ("12 GB" for the 11.99 GiB a 12 GB card reports)."""
    if n >= GIB:
        return f"{round(n / GIB)} GB"
    return f"{round(n / (1 << 20))} MB"


def machine_kind(machine: str) -> str:
    """x64 and arm64 under the names each OS gives them (AMD64, x86_64, aarch64, ARM64)."""
    lowered = machine.lower()
    if lowered in ("x86_64", "amd64", "x64"):
        return "x64"
    if lowered in ("arm64", "aarch64"):
        return "arm64"
    return lowered
