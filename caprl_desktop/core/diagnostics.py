"""What a bug report needs, gathered in one place: versions, GPU, backend, devices, memory, models, paths.

Read-only and offline.  The llama.cpp facts come from the engine's probe process and the GPU search runs in
one of its own, so a broken GPU driver shows up as a line in the report, not as a crash of the command asking.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from collections.abc import Iterator

import psutil

from caprl_desktop import __version__
from caprl_desktop.core import integration, paths
from caprl_desktop.core.desktop_libraries import explain_missing, missing_xcb_libraries, uses_xcb
from caprl_desktop.core.engine.backend import describe_backend
from caprl_desktop.core.engine.client import probe_backend_or_reason
from caprl_desktop.core.engine.remote import saved as saved_servers
from caprl_desktop.core.engine.remote.wire import answer_line
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.gpu.detect import detect_isolated
from caprl_desktop.core.gpu.found import GpuSearch
from caprl_desktop.core.gpu.variant import choose_variant
from caprl_desktop.core.models.downloads import sha256_of
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.units import human_size

PACKAGES = ("llama-cpp-python", "PySide6-Essentials", "PySide6", "huggingface-hub", "Pillow", "platformdirs", "gguf")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpu_lines(search: GpuSearch) -> Iterator[str]:
    """The [gpu] section: each GPU found, what each place looked said, and the runtime variant with its reason."""
    for gpu in search.gpus:
        yield gpu.describe()
    yield from search.notes
    choice = choose_variant(search)
    yield f"runtime variant {choice.variant}: {choice.reason}"


def report(*, checksums: bool = True) -> Iterator[tuple[str, str]]:
    """(section, line) pairs, in order; ``checksums`` hashes each model file (a few seconds per GB)."""
    yield "app", f"CapRL Desktop {__version__}"
    yield "app", f"Python {platform.python_version()} ({sys.executable})"
    yield "app", f"OS {platform.platform()} ({platform.machine()})"
    for package in PACKAGES:
        version = _version(package)
        if version is not None:
            yield "app", f"{package} {version}"

    if uses_xcb():
        missing = missing_xcb_libraries()
        yield "app", "X11 libraries for the window: " + (
            "all present" if not missing else explain_missing(missing).replace("\n", " "))

    memory = psutil.virtual_memory()
    yield "machine", f"CPU: {platform.processor() or platform.machine()}, {psutil.cpu_count(logical=False)} cores " \
                     f"({psutil.cpu_count()} threads)"
    yield "machine", f"RAM: {human_size(memory.total)} total, {human_size(memory.available)} available"
    # In a process of its own: a GPU driver that crashes while it is asked ends that process, not this one.
    for line in gpu_lines(detect_isolated()):
        yield "gpu", line

    backend = probe_backend_or_reason()
    if isinstance(backend, str):
        yield "llama.cpp", f"the backend probe failed: {backend}"
    else:
        yield "llama.cpp", describe_backend(backend)
        for device in backend.devices:
            memory_text = f", {human_size(device.memory_total)}" if device.memory_total else ""
            yield "llama.cpp", f"device {device.backend}/{device.name}: {device.description} ({device.kind}" \
                               f"{memory_text})"
        yield "llama.cpp", f"system info: {backend.system_info.strip()}"

    try:
        store = ModelStore()
        default = store.default_id()
        for entry in store.files():
            path = store.path_of(entry)
            mark = " (default)" if entry.id == default else ""
            line = f"{entry.role} {entry.label}{mark}: {path}, {human_size(entry.size)}"
            if not path.is_file():
                line += ", MISSING"
            elif checksums:
                actual = sha256_of(path)
                verdict = "no recorded sha256" if entry.sha256 is None else \
                    "matches" if actual == entry.sha256 else f"DOES NOT MATCH the recorded {entry.sha256}"
                line += f", sha256 {actual} ({verdict})"
            yield "models", line
    except CaprlError as exc:
        yield "models", f"the model folder cannot be read: {exc}"

    saved = saved_servers.load()
    if not saved:
        yield "servers", "none saved (`caprl-desktop engines add NAME URL`)"
    for name, server in saved.items():
        key = f", {server.key_source}" + (" (not set)" if server.api_key_env and not os.environ.get(
            server.api_key_env) else "") if server.key_source else ""
        yield "servers", f"{name}: {server.shown}, {server.at_a_time}{key}: {answer_line(server)}"

    for name, folder in (("data", paths.data_dir()), ("models", paths.models_dir()), ("config", paths.config_dir()),
                         ("logs", paths.log_dir())):
        yield "paths", f"{name}: {folder}"
    yield "paths", f"file-manager entries: {integration.status(integration.current_plan())}"
