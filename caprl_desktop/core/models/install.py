"""Installing a model: its quant and, unless one is already here, its vision projector, then recording both.

Used by ``caprl-desktop models download`` and the GUI's model dialog alike. The pair is checked with the
engine's own file checks before it is recorded, so an installed model is always one the engine can open.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.atomic import explain_os_error
from caprl_desktop.core.errors import CaprlError, ModelFileError
from caprl_desktop.core.models.catalog import Catalog, RemoteFile
from caprl_desktop.core.models.downloads import (
    ProgressCallback,
    check_space,
    download_file,
    partial_bytes,
    sha256_of,
)
from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.models.hub import HubClient
from caprl_desktop.core.models.store import InstalledFile, ModelStore, Source
from caprl_desktop.core.units import human_size


class InstallError(CaprlError):
    pass


@dataclass(frozen=True)
class InstallPlan:
    model: RemoteFile
    mmproj: RemoteFile
    downloads: tuple[RemoteFile, ...]  # what is not installed yet, projector first
    download_bytes: int  # still to fetch, counting partial downloads already on disk

    def describe(self) -> str:
        names = " + ".join(f"{f.filename} ({human_size(f.size)})" for f in self.downloads)
        return names or f"{self.model.filename} is already installed"


def plan_install(catalog: Catalog, store: ModelStore, quant: str, *, imatrix: bool = False,
                 mmproj_quant: str | None = None) -> InstallPlan:
    if not catalog.from_hub:
        raise InstallError("Nothing can be downloaded now. " + catalog.note)
    model = catalog.find_model(quant, imatrix=imatrix)
    if model is None:
        kind = "imatrix" if imatrix or quant.upper().startswith("I1-") else "static"
        have = ", ".join(f.label for f in catalog.models if f.imatrix == (kind == "imatrix"))
        raise InstallError(f"{catalog.family.label} has no {kind} quant {quant!r} (available: {have}).")
    mmproj = _choose_projector(catalog, store, mmproj_quant)
    downloads = tuple(f for f in (mmproj, model) if not _installed(store, f))
    remaining = sum(f.size - partial_bytes(store.destination(f), f) for f in downloads)
    return InstallPlan(model, mmproj, downloads, remaining)


def _choose_projector(catalog: Catalog, store: ModelStore, wanted: str | None) -> RemoteFile:
    if wanted is not None:
        projector = catalog.find_projector(wanted)
        if projector is None:
            have = ", ".join(p.quant for p in catalog.projectors) or "none"
            raise InstallError(f"No vision projector {wanted!r} in {catalog.family.static_repo} (available: {have}).")
        return projector
    # One already downloaded serves every quant of the family; else the family's default.
    for projector in catalog.projectors:
        if _installed(store, projector):
            return projector
    projector = catalog.find_projector(catalog.family.default_mmproj) or (
        catalog.projectors[0] if catalog.projectors else None)
    if projector is None:
        raise InstallError(f"{catalog.family.static_repo} lists no vision projector (mmproj), so captioning "
                           "images is not possible with it.")
    return projector


def _installed(store: ModelStore, remote: RemoteFile) -> bool:
    entry = store.find_installed(remote)
    return entry is not None and entry.sha256 == remote.sha256 and store.path_of(entry).exists()


def install(
    plan: InstallPlan,
    catalog: Catalog,
    store: ModelStore,
    hub: HubClient,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    make_default: bool | None = None,
) -> InstalledFile:
    """Download what ``plan`` lists, verify, record; returns the installed text model."""
    check_space(store.root, plan.download_bytes)
    for remote in plan.downloads:
        dest = store.destination(remote)
        download_file(hub, remote, dest, revision=catalog.revisions.get(remote.repo), on_progress=on_progress,
                      cancel=cancel)
        if remote.role == "mmproj":
            _record(store, catalog, remote, dest)
    model_dest = store.destination(plan.model)
    mmproj_dest = store.destination(plan.mmproj)
    try:
        check_model_pair(model_dest, mmproj_dest)
    except ModelFileError as exc:
        raise InstallError(f"The downloaded files do not work together: {exc}") from exc
    return _record(store, catalog, plan.model, model_dest, mmproj=plan.mmproj, make_default=make_default)


def _record(store: ModelStore, catalog: Catalog, remote: RemoteFile, dest: Path, *,
            mmproj: RemoteFile | None = None, make_default: bool | None = None) -> InstalledFile:
    source: Source = "hub"
    entry = InstalledFile(
        id=f"{remote.repo}/{remote.filename}", role=remote.role, filename=remote.filename,
        path=str(dest.relative_to(store.root)), size=remote.size, sha256=remote.sha256, source=source,
        family=remote.family, quant=remote.quant, imatrix=remote.imatrix, repo=remote.repo,
        revision=catalog.revisions.get(remote.repo),
        mmproj=f"{mmproj.repo}/{mmproj.filename}" if mmproj is not None else None,
    )
    return store.record(entry, make_default=make_default)


def add_local(store: ModelStore, model_path: Path, mmproj_path: Path, *,
              make_default: bool | None = None) -> InstalledFile:
    """Record GGUF files already on disk (from LM Studio, say) after the engine's own checks; nothing is copied."""
    model_path = model_path.expanduser().resolve()
    mmproj_path = mmproj_path.expanduser().resolve()
    info = check_model_pair(model_path, mmproj_path)
    try:
        model_sha, mmproj_sha = sha256_of(model_path), sha256_of(mmproj_path)
    except OSError as exc:  # checked a moment ago, unreadable now (removed, a drive unplugged)
        raise InstallError(explain_os_error(exc, Path(exc.filename or model_path))) from exc
    projector = InstalledFile(
        id=f"local:{mmproj_path}", role="mmproj", filename=mmproj_path.name, path=str(mmproj_path),
        size=info.mmproj_bytes, sha256=mmproj_sha, source="local",
    )
    store.record(projector)
    model = InstalledFile(
        id=f"local:{model_path}", role="model", filename=model_path.name, path=str(model_path),
        size=info.model_bytes, sha256=model_sha, source="local",
        # No quant or family: a local file is chosen by its file name and never shadows a downloaded quant.
        mmproj=projector.id,
    )
    return store.record(model, make_default=make_default)
