"""Look for this computer's GPUs: NVML, the Vulkan loader and Apple silicon, in this process or a short-lived one.

``detect`` asks the drivers' libraries in this process: quick, and every failure is a note, but a driver that
crashes in its own code (it happens, in Vulkan drivers above all) would end the process asking. Callers that
must survive that (doctor, the help menu's report, the app before it offers a runtime) call
``detect_isolated``, which asks from a spawned process and reads a crash as "no answer".
"""

from __future__ import annotations

import platform as platform_module
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

import psutil

from caprl_desktop.core.child_answer import NoAnswer, ask_child
from caprl_desktop.core.gpu.found import Gpu, GpuSearch, machine_kind
from caprl_desktop.core.gpu.nvml import nvml_candidates, read_nvml
from caprl_desktop.core.gpu.vulkan import read_vulkan, vulkan_candidates


def detect(*, nvml_libraries: Sequence[str] | None = None, vulkan_libraries: Sequence[str] | None = None,
           platform: str | None = None, machine: str | None = None) -> GpuSearch:
    """Every GPU found, and a note per place looked. The libraries default to where each OS's drivers put them;
    tests name stand-ins by path."""
    system = platform or sys.platform
    kind = machine_kind(machine or platform_module.machine())
    gpus: list[Gpu] = []
    notes: list[str] = []
    nvml_paths = nvml_candidates(system) if nvml_libraries is None else tuple(nvml_libraries)
    vulkan_paths = vulkan_candidates(system) if vulkan_libraries is None else tuple(vulkan_libraries)
    for candidates, read in ((nvml_paths, read_nvml), (vulkan_paths, read_vulkan)):
        if candidates:  # nothing to look with on this OS (NVML on macOS): no note either
            found, note = read(candidates)
            gpus += found
            notes.append(note)
    if system == "darwin" and kind == "arm64":
        gpus.append(apple_gpu())
        notes.append("Apple silicon: Metal, with the computer's memory")
    return GpuSearch(tuple(gpus), tuple(notes), system, kind)


def apple_gpu(chip: str | None = None) -> Gpu:
    """Apple silicon's GPU: its memory is the computer's (unified), so what it may use is what RAM has free."""
    memory = psutil.virtual_memory()
    return Gpu(name=chip or _apple_chip() or "Apple silicon GPU", vendor="Apple", source="Apple",
               memory_total=int(memory.total), memory_free=int(memory.available), shares_system_memory=True)


def _apple_chip() -> str | None:
    """"Apple M2 Pro", from sysctl; None where it cannot say."""
    try:
        out = subprocess.run(["/usr/sbin/sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def detect_isolated(timeout: float = 30.0, *, nvml_libraries: Sequence[str] | None = None,
                    vulkan_libraries: Sequence[str] | None = None) -> GpuSearch:
    """``detect`` in a spawned process: a driver that crashes or hangs there leaves a note here, nothing worse.

    Slow beside ``detect`` (a Python process starts: about a second); call it off any GUI thread."""
    answer = ask_child(_detect_and_send, nvml_libraries, vulkan_libraries, name="caprl-gpu-search", timeout=timeout)
    if isinstance(answer, GpuSearch):
        return answer
    if not isinstance(answer, NoAnswer):
        why = f"an unexpected answer ({type(answer).__name__})"
    elif answer.hung:
        why = f"no answer in {timeout:.0f} s (a GPU driver hung)"
    else:
        why = f"the search process ended without an answer (exit code {answer.exitcode}: a GPU driver crashed it)"
    return GpuSearch((), (f"the GPU search failed: {why}",), sys.platform, machine_kind(platform_module.machine()))


def _detect_and_send(conn: Connection, nvml_libraries: Sequence[str] | None,
                     vulkan_libraries: Sequence[str] | None) -> None:
    """Runs in the spawned process."""
    try:
        conn.send(detect(nvml_libraries=nvml_libraries, vulkan_libraries=vulkan_libraries))
    finally:
        conn.close()
