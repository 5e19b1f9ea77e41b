"""The rows both faces show for models: one quant's sizes in one spelling, on the command line and in the window.

``caprl-desktop models list [--remote]`` and the model dialog read their numbers from here, so the same quant
shows the same download size and memory need in both (the dialog once summed model and projector for an
installed quant while the command line and the hub list showed the model alone).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caprl_desktop.core.models.catalog import family
from caprl_desktop.core.models.checksums import installed_entry
from caprl_desktop.core.models.store import InstalledFile, ModelStore
from caprl_desktop.core.units import human_size

if TYPE_CHECKING:  # (the hub's client comes with offers: the window names its model long before it lists any)
    from caprl_desktop.core.models.files import ModelPairInfo
    from caprl_desktop.core.models.fit import FitAdvice
    from caprl_desktop.core.models.offer import ModelOffer


@dataclass(frozen=True)
class QuantRow:
    """One quant the hub offers, as both faces list it."""

    advice: FitAdvice
    size: str  # the quant file's download size, as the hub lists it
    memory: str  # what it needs here: weights, projector, KV cache and compute buffers (an estimate)
    recommended: bool
    installed: bool


@dataclass(frozen=True)
class InstalledRow:
    """One installed text model, as both faces list it."""

    model: InstalledFile
    projector: InstalledFile | None
    size: str  # the model file's size: the same number the quant has in the hub list
    default: bool


def quant_rows(offer: ModelOffer, installed_ids: Iterable[str]) -> list[QuantRow]:
    """Static quants first, then imatrix, each smallest first."""
    installed = set(installed_ids)
    return [QuantRow(a, human_size(a.file.size), human_size(a.needed), a.file.label == offer.recommended,
                     f"{a.file.repo}/{a.file.filename}" in installed)
            for a in sorted(offer.advice, key=lambda a: (a.file.imatrix, a.file.size))]


def installed_rows(files: Iterable[InstalledFile], default_id: str | None) -> list[InstalledRow]:
    """The installed text models in the store's order, each with the projector it pairs with (if still there)."""
    files = list(files)
    projectors = {f.id: f for f in files if f.role == "mmproj"}
    return [InstalledRow(m, projectors.get(m.mmproj or ""), human_size(m.size), m.id == default_id)
            for m in files if m.role == "model"]


def model_name(pair: ModelPairInfo, store: ModelStore | None = None) -> str:
    """How both faces name a loaded model: "CapRL-Qwen3VL-2B Q4_K_M" for one downloaded by the app, else its
    file's name without ".gguf" (a file picked on disk). Reads the store's manifest: not on the GUI thread."""
    entry = installed_entry(pair.model_path, store)
    if entry is not None and entry.family and entry.quant:
        with contextlib.suppress(KeyError):  # a family this version no longer knows
            return f"{family(entry.family).label} {entry.label}"
    return pair.model_path.name.removesuffix(".gguf")
