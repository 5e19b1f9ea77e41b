"""A CPU ``llama-server`` built from the llama.cpp source that the installed llama-cpp-python vendors.

The runtime tests need a real ``llama-server`` of the same llama.cpp the built-in engine runs, and no test may
reach the internet, so it is built here: the llama-cpp-python source package of the installed version (from
the package registry, once), its ``vendor/llama.cpp`` unpacked, and ``cmake --target llama-server`` with the
libraries beside it and an ``$ORIGIN`` run path, as llama.cpp's release workflow lays out its Linux builds. All
of it is kept in a cache folder (``CAPRL_TEST_CACHE``, default ``~/.cache/caprl-desktop-tests``), so it is built
once per machine and version; a file lock keeps two test runs from building at once.

``python -m tests.support.llama_server_build`` builds it ahead (CI does, before the tests) and prints where.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import filelock

CACHE_ENV = "CAPRL_TEST_CACHE"
PACKAGE = "llama_cpp_python"
DONE = ".built"  # written last into the output folder: a build cut short is never taken for a finished one


class BuildUnavailable(RuntimeError):
    """What the build needs (cmake, a C++ compiler, the source package) is missing here."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "caprl-desktop-tests")


def installed_version() -> str:
    return importlib.metadata.version(PACKAGE)


def server_dir(version: str | None = None) -> Path:
    """Where the finished build lives: ``llama-server`` and its shared libraries side by side."""
    return cache_dir() / f"llama-server-{version or installed_version()}" / "bin"


def vendored_source(version: str | None = None) -> Path:
    """llama.cpp's source as llama-cpp-python ``version`` vendors it (downloaded and unpacked once)."""
    version = version or installed_version()
    root = cache_dir() / f"src-{version}"
    source = root / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    sdist = _sdist(version)
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    staging = root / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        for member in members:
            member.name = member.name[len(prefix):]
        archive.extractall(staging, members=[m for m in members if m.name], filter="data")
    shutil.rmtree(source, ignore_errors=True)
    staging.rename(source)
    return source


def _sdist(version: str) -> Path:
    folder = cache_dir() / "sdist"
    found = folder / f"llama_cpp_python-{version}.tar.gz"
    if found.is_file():
        return found
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps", "--no-binary",
         ":all:", "-d", str(folder)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not found.is_file():
        raise BuildUnavailable(f"could not download the llama-cpp-python {version} source package: "
                               f"{result.stderr.strip()[-500:]}")
    return found


def build_server(version: str | None = None, *, jobs: int = 2) -> Path:
    """The folder holding ``llama-server`` and its libraries; built on first use. Raises ``BuildUnavailable``."""
    version = version or installed_version()
    out = server_dir(version)
    if (out / DONE).is_file():
        return out
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise BuildUnavailable(f"building llama-server needs {tool}, which is not on PATH")
    out.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(out.parent / ".lock")):
        if (out / DONE).is_file():  # another run built it while this one waited
            return out
        source = vendored_source(version)
        build = out.parent / "build"
        configure = [
            "cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
            "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            # As the release workflow builds it: the libraries are found beside the program wherever it is unpacked.
            "-DCMAKE_INSTALL_RPATH=$ORIGIN", "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON",
        ]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        for command in (configure, ["cmake", "--build", str(build), "--target", "llama-server", f"-j{jobs}"]):
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command[:3])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for path in sorted((build / "bin").iterdir()):
            if path.name == "llama-server" or ".so" in path.name:
                # The libraries' version links stay links (as in the release archives).
                if path.is_symlink():
                    (out / path.name).symlink_to(path.readlink())
                else:
                    shutil.copy2(path, out / path.name)
        license_file = source / "LICENSE"
        if license_file.is_file():
            shutil.copy2(license_file, out / "LICENSE")
        (out / DONE).write_text(version, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(build_server())
