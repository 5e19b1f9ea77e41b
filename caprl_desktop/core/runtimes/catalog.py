"""Which official llama.cpp release the app runs, and which of its assets make a runtime for this computer.

The tag is pinned here, and only here: the llama.cpp that the installed llama-cpp-python vendors (0.3.36
vendors ggml-org/llama.cpp@0c1e57098, released as ``b11312``), so the runtime and the built-in engine run
the same llama.cpp. The asset names follow that release's workflow (``.github/workflows/release.yml`` in
the vendored source): Linux and macOS builds are ``.tar.gz`` with one top folder ``llama-<tag>/``, Windows
builds ``.zip`` with the files at the top; CUDA builds come with a ``cudart-…`` archive holding the CUDA
runtime libraries, unpacked beside them (on Windows its name has no tag). When the tag moves, check the names
against that workflow: the CUDA and ROCm versions in them change with it.

The asset list (name, size, download address and ``sha256:`` digest of each) comes from GitHub's release API,
``GET {api}/repos/ggml-org/llama.cpp/releases/tags/{tag}``; ``CAPRL_RUNTIME_RELEASES`` replaces the API's
address (a mirror, or the tests' stand-in).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from caprl_desktop import __version__
from caprl_desktop.core.errors import CaprlError

TAG = "b11312"  # ggml-org/llama.cpp@0c1e57098, vendored by llama-cpp-python 0.3.36
REPOSITORY = "ggml-org/llama.cpp"
RELEASES_ENV = "CAPRL_RUNTIME_RELEASES"
DEFAULT_API = "https://api.github.com"
_TIMEOUT_S = 20.0

Variant = Literal["cpu", "cuda-12", "cuda-13", "vulkan", "hip", "metal"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
OsName = Literal["linux", "windows", "macos"]
Arch = Literal["x64", "arm64"]

# What each variant needs and what it is called in words (for listings).
VARIANT_WORDS: dict[Variant, str] = {
    "cpu": "CPU", "cuda-12": "NVIDIA CUDA 12", "cuda-13": "NVIDIA CUDA 13", "vulkan": "Vulkan (AMD, Intel, NVIDIA)",
    "hip": "AMD ROCm/HIP", "metal": "Apple Metal",
}

# (OS, arch, variant) -> the release's asset names, "{tag}" filled in; the first holds llama-server.
_ASSETS: dict[tuple[OsName, Arch, Variant], tuple[str, ...]] = {
    ("linux", "x64", "cpu"): ("llama-{tag}-bin-ubuntu-x64.tar.gz",),
    ("linux", "x64", "vulkan"): ("llama-{tag}-bin-ubuntu-vulkan-x64.tar.gz",),
    ("linux", "x64", "cuda-12"): ("llama-{tag}-bin-ubuntu-cuda-12.8-x64.tar.gz",
                                  "cudart-llama-{tag}-bin-ubuntu-cuda-12.8-x64.tar.gz"),
    ("linux", "x64", "cuda-13"): ("llama-{tag}-bin-ubuntu-cuda-13.4-x64.tar.gz",
                                  "cudart-llama-{tag}-bin-ubuntu-cuda-13.4-x64.tar.gz"),
    ("linux", "x64", "hip"): ("llama-{tag}-bin-ubuntu-rocm-10.0-x64.tar.gz",),
    ("linux", "arm64", "cpu"): ("llama-{tag}-bin-ubuntu-arm64.tar.gz",),
    ("linux", "arm64", "vulkan"): ("llama-{tag}-bin-ubuntu-vulkan-arm64.tar.gz",),
    ("linux", "arm64", "cuda-13"): ("llama-{tag}-bin-ubuntu-cuda-13.4-arm64.tar.gz",
                                    "cudart-llama-{tag}-bin-ubuntu-cuda-13.4-arm64.tar.gz"),
    ("windows", "x64", "cpu"): ("llama-{tag}-bin-win-cpu-x64.zip",),
    ("windows", "x64", "vulkan"): ("llama-{tag}-bin-win-vulkan-x64.zip",),
    ("windows", "x64", "cuda-12"): ("llama-{tag}-bin-win-cuda-12.4-x64.zip", "cudart-llama-bin-win-cuda-12.4-x64.zip"),
    ("windows", "x64", "cuda-13"): ("llama-{tag}-bin-win-cuda-13.4-x64.zip", "cudart-llama-bin-win-cuda-13.4-x64.zip"),
    ("windows", "x64", "hip"): ("llama-{tag}-bin-win-rocm-10.0-x64.zip",),
    ("windows", "arm64", "cpu"): ("llama-{tag}-bin-win-cpu-arm64.zip",),
    ("windows", "arm64", "cuda-13"): ("llama-{tag}-bin-win-cuda-13.4-arm64.zip",
                                      "cudart-llama-bin-win-cuda-13.4-arm64.zip"),
    # The Apple silicon build has Metal and the CPU in one; the Intel Mac build only the CPU.
    ("macos", "arm64", "metal"): ("llama-{tag}-bin-macos-arm64.tar.gz",),
    ("macos", "arm64", "cpu"): ("llama-{tag}-bin-macos-arm64.tar.gz",),
    ("macos", "x64", "cpu"): ("llama-{tag}-bin-macos-x64.tar.gz",),
}

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


class ReleaseError(CaprlError):
    """The release's asset list could not be had, or does not offer what is asked."""


@dataclass(frozen=True)
class Platform:
    os: OsName
    arch: Arch

    @property
    def words(self) -> str:
        return f"{ {'linux': 'Linux', 'windows': 'Windows', 'macos': 'macOS'}[self.os]} {self.arch}"


def this_platform() -> Platform | None:
    """This computer as the release names builds; None for one it has none for (32-bit, other CPUs)."""
    os_name: OsName | None = ("windows" if sys.platform == "win32" else "macos" if sys.platform == "darwin"
                              else "linux" if sys.platform.startswith("linux") else None)
    machine = platform.machine().lower()
    arch: Arch | None = ("x64" if machine in ("x86_64", "amd64") else "arm64" if machine in ("arm64", "aarch64")
                         else None)
    return Platform(os_name, arch) if os_name is not None and arch is not None else None


def variants_for(where: Platform) -> list[Variant]:
    """The variants the release builds for ``where``, in ``VARIANTS``' order."""
    return [v for v in VARIANTS if (where.os, where.arch, v) in _ASSETS]


def asset_names(where: Platform, variant: Variant, tag: str = TAG) -> tuple[str, ...]:
    """The release's archives that make ``variant`` on ``where`` (llama-server's first, then the CUDA runtime
    where the release splits it out); raises ``ReleaseError`` where the release builds none."""
    names = _ASSETS.get((where.os, where.arch, variant))
    if names is None:
        offered = ", ".join(variants_for(where)) or "none"
        raise ReleaseError(f"llama.cpp publishes no {variant} build for {where.words} (there: {offered})")
    return tuple(name.format(tag=tag) for name in names)


@dataclass(frozen=True)
class Asset:
    name: str
    size: int
    url: str  # browser_download_url
    sha256: str | None  # from its digest; None when the release gives none


@dataclass(frozen=True)
class Release:
    tag: str
    assets: dict[str, Asset]

    def pick(self, where: Platform, variant: Variant) -> list[Asset]:
        """The assets of ``variant`` for ``where``, each checked to be listed with its digest."""
        picked = []
        for name in asset_names(where, variant, self.tag):
            asset = self.assets.get(name)
            if asset is None:
                raise ReleaseError(f"llama.cpp release {self.tag} does not list {name}")
            if asset.sha256 is None:
                raise ReleaseError(f"llama.cpp release {self.tag} gives no sha256 digest for {name}, so it cannot "
                                   "be checked and is not installed")
            picked.append(asset)
        return picked


def api_base() -> str:
    return (os.environ.get(RELEASES_ENV) or DEFAULT_API).rstrip("/")


def release_url(tag: str = TAG, base: str | None = None) -> str:
    return f"{base or api_base()}/repos/{REPOSITORY}/releases/tags/{tag}"


def parse_release(tag: str, data: Any) -> Release:
    """The release API's answer as a ``Release``; raises ``ReleaseError`` for an answer that is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("assets"), list):
        raise ReleaseError(f"the answer for llama.cpp release {tag} is not a release's asset list")
    assets: dict[str, Asset] = {}
    for item in data["assets"]:
        if not isinstance(item, dict):
            continue
        name, size, url = item.get("name"), item.get("size"), item.get("browser_download_url")
        if not isinstance(name, str) or not isinstance(size, int) or not isinstance(url, str):
            continue
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        digest = item.get("digest")
        found = _DIGEST.fullmatch(digest.lower()) if isinstance(digest, str) else None
        assets[name] = Asset(name, size, url, found.group(1) if found else None)
    return Release(str(data.get("tag_name") or tag), assets)


def fetch_release(tag: str = TAG, base: str | None = None) -> Release:
    """The release's asset list from the release API; raises ``ReleaseError`` with the reason."""
    import httpx2  # (the window and the caption path never list releases)

    url = release_url(tag, base)
    headers = {"Accept": "application/vnd.github+json", "User-Agent": f"caprl-desktop/{__version__}"}
    try:
        response = httpx2.get(url, headers=headers, timeout=_TIMEOUT_S, follow_redirects=True)
    except httpx2.TimeoutException as exc:
        raise ReleaseError(f"the release server did not answer in time ({url}); check the internet connection "
                           "and try again") from exc
    except httpx2.TransportError as exc:
        raise ReleaseError(f"the release server cannot be reached ({url}: {type(exc).__name__}); check the "
                           "internet connection and try again") from exc
    if response.status_code == 404:
        raise ReleaseError(f"llama.cpp release {tag} was not found at {base or api_base()}")
    if response.status_code != 200:
        raise ReleaseError(f"the release server answered HTTP {response.status_code} for {url}; try again later")
    try:
        data = response.json()
    except ValueError as exc:
        raise ReleaseError(f"the answer from {url} is not the JSON a release API sends") from exc
    return parse_release(tag, data)
