"""Installing a runtime: its release assets downloaded and checked, unpacked safely, put in place in one rename.

The archives come through the same download machinery as models (``core/models/downloads``: progress,
speed, time left, resume after a dropped connection, a cancel keeps what was fetched), over plain HTTP from
the addresses the release lists; each is checked against the size and sha256 the release gives before
anything of it is unpacked. They are unpacked into a hidden staging folder beside the runtimes, which becomes
``runtimes/<tag>-<variant>/`` only once ``llama-server`` is there and its ``runtime.json`` written. An update
of the runtime in use becomes the one in use, the old one kept until the new one has captioned (``store``).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from caprl_desktop import __version__
from caprl_desktop.core.models.downloads import (
    HttpResponse,
    ProgressCallback,
    TransferError,
    check_space,
    download_verified,
)
from caprl_desktop.core.models.hub_problem import busy_or_failing
from caprl_desktop.core.runtimes import archives, store
from caprl_desktop.core.runtimes.catalog import TAG, Asset, Platform, Release, Variant, fetch_release
from caprl_desktop.core.runtimes.store import InstalledRuntime, runtime_name

_TIMEOUT = httpx2.Timeout(30.0, connect=15.0)


@dataclass(frozen=True)
class AssetSource:
    """A release asset asked for over plain HTTP (the downloads' ``HttpSource``)."""

    asset: Asset
    sha256: str

    @property
    def name(self) -> str:
        return self.asset.name

    @property
    def size(self) -> int:
        return self.asset.size

    def record(self) -> dict[str, Any]:
        return {"url": self.asset.url}

    @contextlib.contextmanager
    def open(self, start: int) -> Iterator[HttpResponse]:
        headers = {"User-Agent": f"caprl-desktop/{__version__}"}
        if start:
            headers["Range"] = f"bytes={start}-"
        what = f"Cannot download {self.asset.name}"
        try:
            # Release downloads redirect to a storage host; the sha256 vouches for what comes from there.
            with httpx2.stream("GET", self.asset.url, headers=headers, timeout=_TIMEOUT,
                               follow_redirects=True) as response:
                if response.status_code not in (200, 206):
                    raise TransferError(f"{what}: the server answered HTTP {response.status_code}.",
                                        retry=busy_or_failing(response.status_code))
                yield response
        except httpx2.TimeoutException as exc:
            raise TransferError(f"{what}: the server did not answer in time. Check the internet connection and try "
                                "again.", retry=True) from exc
        except httpx2.TransportError as exc:
            raise TransferError(f"{what}: the server cannot be reached ({type(exc).__name__}). Check the internet "
                                "connection and try again.", retry=True) from exc


@dataclass(frozen=True)
class Installed:
    runtime: InstalledRuntime
    already: bool = False  # it was installed before; nothing was downloaded
    replaces: str | None = None  # the runtime in use it updates (kept until the new one has captioned)


def install(variant: Variant, where: Platform, *, tag: str = TAG, release: Release | None = None,
            on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> Installed:
    """Download, check and install ``variant`` of release ``tag`` for ``where``.

    Raises ``ReleaseError`` (no such build, no digest), ``DownloadError`` (kept partial downloads continue next
    time; a body with the wrong sha256 is deleted), ``ArchiveError`` (nothing of it installed)."""
    name = runtime_name(tag, variant)
    existing = next((r for r in store.installed() if r.name == name), None)
    if existing is not None:
        return Installed(existing, already=True)
    release = release or fetch_release(tag)
    assets = release.pick(where, variant)
    root = store.runtimes_dir()
    downloads = root / ".downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for asset in assets:
        assert asset.sha256 is not None  # (``pick`` refuses an asset without one)
        files.append(download_verified(
            AssetSource(asset, asset.sha256), downloads / asset.name, on_progress=on_progress, cancel=cancel,
            busy=f"{asset.name} is already being downloaded by another CapRL Desktop window or command.",
            damaged=f"{asset.name} arrived damaged: its sha256 does not match the one llama.cpp's release gives, "
                    "so it was deleted and nothing was installed. Try again; if this keeps happening, the "
                    "connection or a proxy is altering the data."))
    staging = root / f".staging-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        check_space(root, sum(archives.unpacked_size(f) for f in files))
        for archive in files:
            archives.unpack(archive, staging)
        if not (staging / store.SERVER_NAME).is_file():
            raise archives.ArchiveError(f"{assets[0].name} holds no {store.SERVER_NAME}; nothing was installed")
        store.write_manifest(staging, release.tag, variant,
                             [{"name": a.name, "size": a.size, "sha256": a.sha256} for a in assets])
        staging.replace(root / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for archive in files:  # unpacked: the archives are only disk space now
        with contextlib.suppress(OSError):
            archive.unlink()
    runtime = store.find(name)
    in_use = store.chosen()
    if in_use is not None and in_use.variant == variant and in_use.name != name:
        store.use_update(name, in_use.name)
        return Installed(runtime, replaces=in_use.name)
    return Installed(runtime)

