"""What can be downloaded for a model family and how well each quant fits this machine.

One place for the CLI's ``models list --remote`` / ``models download`` and the window's model dialog: the
hub listing (or the bundled list when offline), the memory budget from a backend probe, the fit verdict of
every quant and the one recommended here.
"""

from __future__ import annotations

from dataclasses import dataclass

from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.gpu.variant import VariantChoice
from caprl_desktop.core.models import catalog as catalog_module
from caprl_desktop.core.models.catalog import Catalog
from caprl_desktop.core.models.fit import FitAdvice, MemoryBudget, advise, memory_budget, recommend, runtime_backend
from caprl_desktop.core.models.hub import HubClient, fetch_catalog
from caprl_desktop.core.params import EngineConfig

DEFAULT_N_CTX = EngineConfig(model_path="", mmproj_path="").n_ctx


@dataclass(frozen=True)
class ModelOffer:
    catalog: Catalog
    budget: MemoryBudget
    advice: list[FitAdvice]
    recommended: str | None  # a quant label, None when the listing holds no model

    def advice_for(self, label: str) -> FitAdvice | None:
        return next((a for a in self.advice if a.file.label == label), None)


def model_offer(family_key: str = catalog_module.DEFAULT_FAMILY, *, hub: HubClient | None = None,
                backend: BackendInfo | None = None, probe: bool = True) -> ModelOffer:
    """Slow (a hub request and a backend probe in a spawned process): call it off any GUI thread."""
    family = catalog_module.family(family_key)
    catalog = fetch_catalog(family, hub or HubClient())
    if backend is None and probe:
        from caprl_desktop.core.engine.client import probe_backend

        backend = probe_backend()
    budget = memory_budget(backend)
    projector = catalog.find_projector(family.default_mmproj)
    advice = advise(catalog, budget, projector, DEFAULT_N_CTX)
    best = recommend(catalog, advice, budget)
    return ModelOffer(catalog, budget, advice, best.label if best else None)


def runtime_model_offer(choice: VariantChoice, family_key: str = catalog_module.DEFAULT_FAMILY, *,
                        hub: HubClient | None = None) -> ModelOffer:
    """``model_offer`` when the engine in use is a llama.cpp runtime of ``choice``: each quant is fitted to the GPU
    that runtime runs on, as core/gpu found it, with no probe of the built-in engine. Slow (a hub request)."""
    return model_offer(family_key, hub=hub, backend=runtime_backend(choice), probe=False)
