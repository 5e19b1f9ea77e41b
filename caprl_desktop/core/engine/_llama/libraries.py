"""Which llama.cpp libraries the engine process loads, chosen before ``llama_cpp`` is imported.

A GPU build of llama.cpp links its backend into the libraries: on a PC without the NVIDIA driver a CUDA
build's ``llama.dll`` cannot load (``ggml-cuda.dll`` needs ``nvcuda.dll``), ``import llama_cpp`` raises, and
without this module the engine process died with exit code 1 on every start. So the engine first tries to
load the build's library itself. Where that fails and a CPU build is shipped beside it (``llama_cpp/lib-cpu``,
see packaging/README.md, or the folder ``CAPRL_CPU_LIB_PATH`` names), llama-cpp-python is pointed at the
CPU build through its own variables (``LLAMA_CPP_LIB_PATH``, ``MTMD_CPP_LIB``) and the reason is kept as a
note the window and the CLI show; where there is none, a ``LlamaLibraryError`` says what is missing.

A failed ``dlopen``/``LoadLibrary`` unloads what it loaded on the way, so the CPU build starts clean.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

from caprl_desktop.core.errors import EngineError

LIB_PATH_ENV = "LLAMA_CPP_LIB_PATH"  # llama-cpp-python's own override for libllama's folder
MTMD_PATH_ENV = "MTMD_CPP_LIB"  # ... and for libmtmd's
CPU_LIB_ENV = "CAPRL_CPU_LIB_PATH"  # ours: where a CPU build's libraries are, if not beside the package's

# ggml's backend libraries, by the name a GPU build's folder holds them under.
_GPU_BACKENDS = (("cuda", "CUDA"), ("hip", "ROCm"), ("vulkan", "Vulkan"), ("sycl", "SYCL"), ("metal", "Metal"))

note = ""  # why the CPU build runs instead of the GPU build, once ``prepare`` has fallen back


class LlamaLibraryError(EngineError):
    """llama.cpp's libraries cannot be loaded, and no CPU build is there to fall back to."""


def library_file(folder: Path, base: str = "llama") -> Path | None:
    """The file llama-cpp-python would load for ``base`` from ``folder`` (its naming, per system).

    Its own loader (``llama_cpp._ctypes_extensions``) cannot be reused: importing it imports the ``llama_cpp``
    package, which loads the very library this is checking.
    """
    if sys.platform == "win32":
        names = [f"{base}.dll", f"lib{base}.dll"]
    elif sys.platform == "darwin":
        names = [f"lib{base}.so", f"lib{base}.dylib"]
    else:
        names = [f"lib{base}.so"]
    return next((folder / name for name in names if (folder / name).is_file()), None)


def package_folder() -> Path | None:
    """``llama_cpp/lib`` of the installed package, found without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def gpu_backend(folder: Path) -> str:
    """The GPU backend a build's folder holds ("CUDA"), or "GPU" where its name says nothing."""
    names = " ".join(p.name.lower() for p in folder.iterdir()) if folder.is_dir() else ""
    return next((label for key, label in _GPU_BACKENDS if f"ggml-{key}" in names), "GPU")


def load_error(folder: Path) -> str | None:
    """Why llama.cpp's library in ``folder`` cannot be loaded, or None when it loads (it then stays loaded)."""
    path = library_file(folder)
    if path is None:
        return f"no llama.cpp library in {folder}"
    if sys.platform == "win32":
        os.add_dll_directory(str(folder))  # its ggml*.dll sit beside it, as llama-cpp-python arranges too
    try:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return (str(exc) or type(exc).__name__)[:300]
    return None


def prepare() -> None:
    """Point llama-cpp-python at a build that loads; ``note`` then says why where it had to fall back."""
    global note
    primary_env = os.environ.get(LIB_PATH_ENV)
    primary = Path(primary_env) if primary_env else package_folder()
    if primary is None:
        raise LlamaLibraryError("llama-cpp-python is not installed: reinstall CapRL Desktop.")
    reason = load_error(primary)
    if reason is None:
        return
    cpu_env = os.environ.get(CPU_LIB_ENV)
    fallback = Path(cpu_env) if cpu_env else primary.parent / "lib-cpu"
    backend = gpu_backend(primary)
    driver = "the NVIDIA driver" if backend == "CUDA" else f"the {backend} driver"
    if library_file(fallback) is None:
        raise LlamaLibraryError(
            f"llama.cpp could not be loaded ({reason}). This build of llama.cpp uses {backend}: install or "
            f"update {driver}, or install the CPU build of CapRL Desktop.")
    fallback_reason = load_error(fallback)
    if fallback_reason is not None:
        raise LlamaLibraryError(
            f"llama.cpp could not be loaded: the {backend} build failed ({reason}) and so did the CPU build "
            f"beside it ({fallback_reason}). Reinstall CapRL Desktop.")
    os.environ[LIB_PATH_ENV] = str(fallback)
    os.environ[MTMD_PATH_ENV] = str(fallback)
    note = (f"the {backend} build of llama.cpp could not be loaded ({reason}), so captions run on the CPU; "
            f"install or update {driver} to use the GPU")
