"""The models on this machine: a small manifest of installed files, their source and checksum, and the default.

Downloaded files live under ``models/<owner>--<repo>/``; files the user already had (``models add``) stay
where they are and are only recorded. Each text model names the projector it pairs with, so "the default
model" is one id. The manifest is rewritten atomically under a lock; a damaged manifest is set aside and
rebuilt from the files on disk, so no download is ever lost to it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import filelock

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import atomic_write_text
from caprl_desktop.core.errors import CaprlError, ModelFileError
from caprl_desktop.core.models.catalog import RemoteFile, Role, family, family_of_repo, normalise_quant, recognise

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
Source = Literal["hub", "local"]


class ModelStoreError(CaprlError):
    pass


@dataclass(frozen=True)
class InstalledFile:
    id: str
    role: Role
    filename: str
    path: str  # relative to the store for downloads, absolute for files added from elsewhere
    size: int
    sha256: str | None  # None: recorded when the manifest was rebuilt, not verified since
    source: Source
    family: str | None = None
    quant: str | None = None
    imatrix: bool = False
    repo: str | None = None
    revision: str | None = None
    mmproj: str | None = None  # for a text model: the id of its projector
    installed_at: str = ""

    @property
    def label(self) -> str:
        if self.quant is None:
            return self.filename
        if self.role == "mmproj":
            return f"mmproj-{self.quant}"
        return f"i1-{self.quant}" if self.imatrix else self.quant

    def matches(self, query: str) -> bool:
        """Whether the user meant this file by ``query``: a quant like q4_k_m / i1-Q4_K_M, the same with its family
        in front where several families are installed (2b:Q4_K_M, caprl-qwen3vl-2b:Q4_K_M), or a file name."""
        q = query.strip()
        if q == self.filename or q == self.id:
            return True
        name, colon, quant = q.rpartition(":")
        if colon:
            try:
                if family(name).key != self.family:
                    return False
            except KeyError:
                return False
            q = quant
        return normalise_quant(q) == normalise_quant(self.label)


@dataclass(frozen=True)
class ModelPair:
    model: InstalledFile
    mmproj: InstalledFile
    model_path: Path
    mmproj_path: Path


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def repo_folder(repo: str) -> str:
    return repo.replace("/", "--")


class ModelStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.models_dir()
        self.manifest_path = self.root / MANIFEST_NAME

    # --- paths --------------------------------------------------------------------------------

    def destination(self, remote: RemoteFile) -> Path:
        return self.root / repo_folder(remote.repo) / remote.filename

    def path_of(self, entry: InstalledFile) -> Path:
        p = Path(entry.path)
        return p if p.is_absolute() else self.root / p

    # --- manifest -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.root / "manifest.lock"), timeout=30)
        try:
            with lock:
                yield
        except filelock.Timeout:
            raise ModelStoreError(f"The model list in {self.root} is locked by another CapRL Desktop process.") \
                from None

    def _read(self) -> dict[str, Any]:
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": MANIFEST_VERSION, "default": None, "files": []}
        try:
            data = json.loads(text)
            files = [InstalledFile(**f) for f in data["files"]]
            return {"version": data.get("version", MANIFEST_VERSION), "default": data.get("default"),
                    "files": files}
        except (ValueError, KeyError, TypeError):
            return self._rebuild()

    def _write(self, data: dict[str, Any]) -> None:
        payload = {"version": MANIFEST_VERSION, "default": data["default"],
                   "files": [asdict(f) for f in data["files"]]}
        atomic_write_text(self.manifest_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")

    def _rebuild(self) -> dict[str, Any]:
        """Set a damaged manifest aside and record the downloaded files found on disk instead."""
        broken = self.manifest_path.with_name(f"{MANIFEST_NAME}.broken-{int(datetime.datetime.now().timestamp())}")
        with contextlib.suppress(OSError):
            self.manifest_path.replace(broken)
        found: list[InstalledFile] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            repo = folder.name.replace("--", "/", 1)
            fam = family_of_repo(repo)
            if fam is None:
                continue
            for file in sorted(folder.glob("*.gguf")):
                kind = recognise(fam, repo, file.name)
                if kind is None:
                    continue
                role, quant, imatrix = kind
                found.append(InstalledFile(
                    id=f"{repo}/{file.name}", role=role, filename=file.name,
                    path=str(file.relative_to(self.root)), size=file.stat().st_size, sha256=None, source="hub",
                    family=fam.key, quant=quant, imatrix=imatrix, repo=repo, installed_at=_now(),
                ))
        projectors = [f for f in found if f.role == "mmproj"]
        files = [replace(f, mmproj=_best_projector(f, projectors)) if f.role == "model" else f for f in found]
        models = [f for f in files if f.role == "model" and f.mmproj]
        data: dict[str, Any] = {"version": MANIFEST_VERSION, "default": models[0].id if models else None,
                                "files": files}
        self._write(data)
        return data

    # --- queries ------------------------------------------------------------------------------

    def files(self) -> list[InstalledFile]:
        files: list[InstalledFile] = self._read()["files"]
        return files

    def models(self) -> list[InstalledFile]:
        return [f for f in self.files() if f.role == "model"]

    def projectors(self) -> list[InstalledFile]:
        return [f for f in self.files() if f.role == "mmproj"]

    def get(self, file_id: str) -> InstalledFile | None:
        return next((f for f in self.files() if f.id == file_id), None)

    def find_installed(self, remote: RemoteFile) -> InstalledFile | None:
        return self.get(f"{remote.repo}/{remote.filename}")

    def find_model(self, query: str) -> InstalledFile:
        matches = [f for f in self.models() if f.matches(query)]
        if not matches:
            have = ", ".join(f.label for f in self.models()) or "none"
            raise ModelStoreError(f"No installed model called {query!r} (installed: {have}).")
        if len(matches) > 1:
            options = [f"{family(f.family).short}:{f.label}" if f.family else f.filename for f in matches]
            raise ModelStoreError(f"{query!r} could mean " + ", ".join(f.filename for f in matches)
                                  + f"; say which: {' or '.join(options)}.")
        return matches[0]

    def default_id(self) -> str | None:
        value = self._read()["default"]
        return value if isinstance(value, str) else None

    def pair_for(self, model: InstalledFile, files: list[InstalledFile] | None = None) -> ModelPair:
        """The model and its projector, checked to be still on disk with the size they were installed with.

        ``files``: the manifest's entries when the caller has just read them (saves reading it again).
        """
        files = self.files() if files is None else files
        projector = next((f for f in files if f.id == model.mmproj), None) if model.mmproj else None
        if projector is None:
            raise ModelFileError(f"{model.filename} has no vision projector recorded; add one with "
                                 f"`caprl-desktop models add {model.filename} --mmproj FILE`.")
        for entry in (model, projector):
            path = self.path_of(entry)
            if not path.exists():
                raise ModelFileError(f"The installed file {path} is gone. Download it again "
                                     f"(`caprl-desktop models download {model.label}`) or remove it from the list "
                                     f"(`caprl-desktop models remove {model.label}`).")
            size = path.stat().st_size
            if size != entry.size:
                raise ModelFileError(f"{path} changed since it was installed ({size} bytes, expected {entry.size}); "
                                     f"download it again with `caprl-desktop models download {model.label}`.")
        return ModelPair(model, projector, self.path_of(model), self.path_of(projector))

    def default_pair(self) -> ModelPair | None:
        """The pair ``caption`` uses when no model is given; None when nothing is installed."""
        data = self._read()  # once: the window asks this before every batch
        files: list[InstalledFile] = data["files"]
        model = next((f for f in files if f.id == data["default"]), None)
        if model is None:
            return None
        return self.pair_for(model, files)

    # --- changes ------------------------------------------------------------------------------

    def record(self, entry: InstalledFile, *, make_default: bool | None = None) -> InstalledFile:
        """Add or replace ``entry``; a text model becomes the default when asked or when there is none."""
        with self._locked():
            data = self._read()
            files = [f for f in data["files"] if f.id != entry.id]
            entry = replace(entry, installed_at=entry.installed_at or _now())
            files.append(entry)
            data["files"] = files
            current = data["default"]
            if entry.role == "model" and (make_default or (make_default is None and not
                                                           any(f.id == current for f in files))):
                data["default"] = entry.id
            self._write(data)
        return entry

    def set_default(self, model: InstalledFile) -> None:
        with self._locked():
            data = self._read()
            if not any(f.id == model.id for f in data["files"]):
                raise ModelStoreError(f"{model.filename} is not installed.")
            data["default"] = model.id
            self._write(data)

    def remove(self, model: InstalledFile) -> list[str]:
        """Forget ``model`` (and its projector if nothing else uses it); delete the files this app downloaded.

        Returns one line per file, saying whether it was deleted or only forgotten.
        """
        report: list[str] = []
        with self._locked():
            data = self._read()
            files: list[InstalledFile] = [f for f in data["files"] if f.id != model.id]
            gone = [model]
            if model.mmproj and not any(f.mmproj == model.mmproj for f in files if f.role == "model"):
                projector = next((f for f in files if f.id == model.mmproj), None)
                if projector is not None:
                    files.remove(projector)
                    gone.append(projector)
            if data["default"] == model.id:
                remaining = [f for f in files if f.role == "model"]
                data["default"] = remaining[-1].id if remaining else None
            data["files"] = files
            self._write(data)
        for entry in gone:
            path = self.path_of(entry)
            if entry.source == "hub":
                try:
                    path.unlink(missing_ok=True)
                    report.append(f"deleted {path}")
                except OSError as exc:  # Windows: still open in a running engine
                    report.append(f"could not delete {path} ({exc.strerror}); delete it by hand")
            else:
                report.append(f"forgot {path} (your file, left in place)")
        with contextlib.suppress(OSError):
            for folder in {self.path_of(e).parent for e in gone if e.source == "hub"}:
                if folder != self.root and not any(folder.iterdir()):
                    folder.rmdir()
        return report


def _best_projector(model: InstalledFile, projectors: list[InstalledFile]) -> str | None:
    same = [p for p in projectors if p.family == model.family]
    preferred = normalise_quant(family(model.family).default_mmproj) if model.family else ""
    same.sort(key=lambda p: (normalise_quant(p.quant or "") != preferred, p.size))
    return same[0].id if same else None
