"""Which GGUF quants and vision projectors a model family offers, read from a hub repo listing.

A family (CapRL-3B, its static and imatrix repos, memory figures for the fit advice) is data in
``data/model_catalog.json``; this module recognises quant and projector files by name in whatever listing
the hub returns, and falls back to the bundled, approximate list when the hub cannot be reached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from caprl_desktop.core.models.hub_problem import HubProblem

Role = Literal["model", "mmproj"]

# The quant names llama.cpp's quantizer writes, as uploaders put them at the end of file names:
# CapRL-3B.Q4_K_M.gguf, CapRL-3B.i1-IQ3_XS.gguf, CapRL-3B.mmproj-f16.gguf, mmproj-model-F16.gguf.
_QUANT_RE = re.compile(
    r"(?:^|[.\-_])(?P<i1>i1-)?(?P<quant>IQ[1-4]_(?:XXS|XS|NL|S|M)|Q[2-8]_K(?:_[SML])?|Q[4-8]_[01]|BF16|F16|F32)\.gguf$",
    re.IGNORECASE,
)
_SPLIT_RE = re.compile(r"-\d{5}-of-\d{5}\.gguf$")


@dataclass(frozen=True)
class ModelFamily:
    key: str
    label: str
    static_repo: str
    imatrix_repo: str | None
    name_prefix: str
    default_quant: str
    default_mmproj: str
    max_recommended_gpu: str
    max_recommended_cpu: str
    kv_bytes_per_token: int
    compute_overhead_bytes: int
    fallback: Mapping[str, Mapping[str, int]] | None  # "static", "imatrix", "mmproj": quant -> approximate size
    short: str = ""  # what `--family` also takes: "3b", "2b", "4b"
    description: str = ""  # one line: base model, size, what the authors claim
    description_ja: str = ""
    card: str = ""  # the model card's address
    base_model: str = ""
    fallback_names: Mapping[str, str] = field(default_factory=dict)  # how the fallback's files are spelt, by kind

    def describe(self, language: str = "en") -> str:
        return (self.description_ja if language == "ja" else "") or self.description

    @property
    def repos(self) -> tuple[str, ...]:
        return (self.static_repo,) + ((self.imatrix_repo,) if self.imatrix_repo else ())


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: a text-model quant or a vision projector."""

    family: str
    repo: str
    filename: str
    role: Role
    quant: str  # as the file name spells it: "Q4_K_M", "f16"
    imatrix: bool
    size: int
    sha256: str | None  # None only in the bundled fallback list

    @property
    def label(self) -> str:
        """The name users type and see: "Q4_K_M", "i1-Q4_K_M"; projectors "mmproj-f16"."""
        if self.role == "mmproj":
            return f"mmproj-{self.quant}"
        return f"i1-{self.quant}" if self.imatrix else self.quant


@dataclass(frozen=True)
class Catalog:
    family: ModelFamily
    models: tuple[RemoteFile, ...]  # smallest first
    projectors: tuple[RemoteFile, ...]
    revisions: Mapping[str, str]  # repo -> commit the listing was read at
    from_hub: bool  # False: the bundled, approximate list (sizes only, no checksums)
    note: str = ""  # why the bundled list is shown (or a repo is missing), for the command line
    problem: HubProblem | None = None  # the same why as a kind, for the window to say in its own language
    detail: str = ""  # the transport's own words behind ``problem``, if any

    def find_model(self, quant: str, *, imatrix: bool = False) -> RemoteFile | None:
        wanted = normalise_quant(quant)
        if wanted.startswith("I1-"):
            wanted, imatrix = wanted[3:], True
        for f in self.models:
            if normalise_quant(f.quant) == wanted and f.imatrix == imatrix:
                return f
        return None

    def find_projector(self, quant: str) -> RemoteFile | None:
        wanted = normalise_quant(quant.removeprefix("mmproj-"))
        return next((p for p in self.projectors if normalise_quant(p.quant) == wanted), None)


def normalise_quant(quant: str) -> str:
    return quant.strip().upper()


def recognise(family: ModelFamily, repo: str, filename: str) -> tuple[Role, str, bool] | None:
    """(role, quant, imatrix) when ``filename`` in ``repo`` is one of the family's quants, else None."""
    name = filename.rsplit("/", 1)[-1]
    if not name.lower().endswith(".gguf") or _SPLIT_RE.search(name):
        return None  # split files (-00001-of-00002) are for models far larger than ours
    if family.name_prefix and not name.startswith(family.name_prefix):
        return None
    match = _QUANT_RE.search(name)
    if match is None:
        return None
    quant = match.group("quant")
    if "mmproj" in name.lower():
        return ("mmproj", quant, False)
    imatrix = repo == family.imatrix_repo or match.group("i1") is not None
    return ("model", quant, imatrix)


def build_catalog(
    family: ModelFamily,
    listings: Mapping[str, tuple[str, Iterable[tuple[str, int, str | None]]]],
) -> Catalog:
    """Build from hub listings: repo -> (commit, [(filename, size, sha256)])."""
    models: list[RemoteFile] = []
    projectors: list[RemoteFile] = []
    revisions: dict[str, str] = {}
    for repo, (revision, files) in listings.items():
        revisions[repo] = revision
        for filename, size, sha256 in files:
            kind = recognise(family, repo, filename)
            if kind is None:
                continue
            role, quant, imatrix = kind
            if role == "mmproj" and repo != family.static_repo:
                continue  # projectors come from the static repo only, whatever else holds one
            entry = RemoteFile(family.key, repo, filename, role, quant, imatrix, size, sha256)
            (projectors if role == "mmproj" else models).append(entry)
    models.sort(key=lambda f: (f.imatrix, f.size, f.quant))
    projectors.sort(key=lambda f: f.size)
    return Catalog(family, tuple(models), tuple(projectors), revisions, from_hub=True)


def bundled_catalog(family: ModelFamily, note: str = "", *, problem: HubProblem | None = None,
                    detail: str = "") -> Catalog:
    """The list shipped with the app: right names, approximate sizes, no checksums. Every family has one, so the
    hub being out of reach never reads as a family without quants (or without a projector)."""
    models: list[RemoteFile] = []
    projectors: list[RemoteFile] = []
    fallback = family.fallback or {}
    for quant, size in fallback.get("static", {}).items():
        name = _fallback_name(family, "static", quant)
        models.append(RemoteFile(family.key, family.static_repo, name, "model", quant, False, size, None))
    if family.imatrix_repo:
        for quant, size in fallback.get("imatrix", {}).items():
            name = _fallback_name(family, "imatrix", quant)
            models.append(RemoteFile(family.key, family.imatrix_repo, name, "model", quant, True, size, None))
    for quant, size in fallback.get("mmproj", {}).items():
        name = _fallback_name(family, "mmproj", quant)
        projectors.append(RemoteFile(family.key, family.static_repo, name, "mmproj", quant, False, size, None))
    models.sort(key=lambda f: (f.imatrix, f.size, f.quant))
    projectors.sort(key=lambda f: f.size)
    return Catalog(family, tuple(models), tuple(projectors), {}, from_hub=False, note=note, problem=problem,
                   detail=detail)


_DEFAULT_NAMES = {"static": "{prefix}{quant}.gguf", "imatrix": "{prefix}i1-{quant}.gguf",
                  "mmproj": "{prefix}mmproj-{quant}.gguf"}  # mradermacher's: CapRL-3B.Q4_K_M.gguf


def _fallback_name(family: ModelFamily, kind: str, quant: str) -> str:
    return family.fallback_names.get(kind, _DEFAULT_NAMES[kind]).format(prefix=family.name_prefix, quant=quant)


def _family_from_json(data: Mapping[str, Any]) -> ModelFamily:
    fallback = dict(data.get("fallback") or {})
    names = fallback.pop("names", {})
    return ModelFamily(
        key=data["key"],
        label=data["label"],
        static_repo=data["static_repo"],
        imatrix_repo=data.get("imatrix_repo"),
        name_prefix=data.get("name_prefix", ""),
        default_quant=data["default_quant"],
        default_mmproj=data["default_mmproj"],
        max_recommended_gpu=data["max_recommended_gpu"],
        max_recommended_cpu=data["max_recommended_cpu"],
        kv_bytes_per_token=int(data["kv_bytes_per_token"]),
        compute_overhead_bytes=int(data["compute_overhead_bytes"]),
        fallback=fallback or None,
        fallback_names=names,
        short=data.get("short", ""),
        description=data.get("description", ""),
        description_ja=data.get("description_ja", ""),
        card=data.get("card", ""),
        base_model=data.get("base_model", ""),
    )


@cache
def families() -> tuple[ModelFamily, ...]:
    text = resources.files("caprl_desktop.core").joinpath("data/model_catalog.json").read_text(encoding="utf-8")
    return tuple(_family_from_json(f) for f in json.loads(text)["families"])


DEFAULT_FAMILY = "caprl-3b"


def family(key: str = DEFAULT_FAMILY) -> ModelFamily:
    """The family with this key or short name ("caprl-qwen3vl-4b" or "4b"), in any case."""
    wanted = key.strip().lower()
    for f in families():
        if wanted in (f.key, f.short.lower()):
            return f
    known = ", ".join(f"{f.key} ({f.short})" if f.short else f.key for f in families())
    raise KeyError(f"unknown model family {key!r} (known: {known})")


def family_of_repo(repo: str) -> ModelFamily | None:
    return next((f for f in families() if repo in f.repos), None)
