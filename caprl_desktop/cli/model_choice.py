"""Which model files ``caption`` loads: given files, an installed quant, or the default pair.

``--model FILE`` alone takes the projector it was installed with, or else the one found beside it
(``core/models/projector_search.py``, as the window's local-files dialog does).
"""

from __future__ import annotations

import sys
from pathlib import Path

from caprl_desktop.cli import models_command
from caprl_desktop.cli.exit_codes import EXIT_OK
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.install import plan_install
from caprl_desktop.core.models.offer import model_offer
from caprl_desktop.core.models.projector_search import find_projector
from caprl_desktop.core.models.store import ModelStore

NO_MODEL = ("No model is installed yet. Download the recommended one with `caprl-desktop models download` "
            "(`caprl-desktop models list --remote` shows all), or give --model FILE --mmproj FILE.")


def choose_model(model: str | None, mmproj: Path | None, *, assume_yes: bool) -> tuple[Path, Path] | None:
    """The (model, projector) paths to load; None when the user declined a download (already said why)."""
    store = ModelStore()
    if model is not None:
        path = Path(model).expanduser()
        if path.suffix.lower() == ".gguf" or path.exists():
            if mmproj is not None:
                return path, mmproj.expanduser()
            for installed in store.models():
                if store.path_of(installed).resolve() == path.resolve():
                    found = store.pair_for(installed)
                    return found.model_path, found.mmproj_path
            # The same search as the window's local-files dialog; the caption's "Model:" line names the result.
            beside = find_projector(path)
            if beside is None:
                raise CaprlError(models_command.no_projector_found(path))
            return path, beside
        chosen = store.pair_for(store.find_model(model))
        return chosen.model_path, mmproj.expanduser() if mmproj is not None else chosen.mmproj_path
    pair = store.default_pair()
    if pair is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
        if not (assume_yes or interactive):
            raise CaprlError(NO_MODEL)
        if not _download_recommended(store, ask=not assume_yes):
            return None
        pair = store.default_pair()
        if pair is None:
            raise CaprlError(NO_MODEL)
    return pair.model_path, mmproj.expanduser() if mmproj is not None else pair.mmproj_path


def _download_recommended(store: ModelStore, *, ask: bool) -> bool:
    offer = model_offer()
    if offer.recommended is None:
        raise CaprlError("the hub lists no quant to download")
    plan = plan_install(offer.catalog, store, offer.recommended)
    print(f"No model is installed yet. Recommended for this machine: {offer.catalog.family.label} "
          f"{plan.model.label}.", file=sys.stderr)
    code = models_command.download_plan(plan, offer.catalog, store, make_default=True, ask=ask)
    return code == EXIT_OK and store.default_pair() is not None
