"""Captions made and journaled as a run of the app makes them, on the fake engine, for the tests of what the app
does later with the captions on disk (exports, descriptions, history)."""

from __future__ import annotations

from pathlib import Path

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.journal import Journal, journaled
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import EngineConfig
from tests.support.fake_engine import FakeEngine, Script
from tests.support.fake_engines import engine_info
from tests.support.jobs import options


def made_engine(tmp_path: Path, scripts: dict[str, Script] | None = None) -> FakeEngine:
    """A fake engine that says it loaded a (tiny, real) model pair, so its records carry provenance."""
    weights = tmp_path / "weights"
    weights.mkdir(exist_ok=True)
    model, mmproj = weights / "CapRL-3B.Q4_K_M.gguf", weights / "CapRL-3B.mmproj-f16.gguf"
    model.write_bytes(b"model")
    mmproj.write_bytes(b"projector")
    return FakeEngine(scripts=scripts if scripts is not None else {},
                      info=engine_info(EngineConfig(str(model), str(mmproj))))


def caption(journal: Journal, engine: FakeEngine, items: list[ImageItem], *, overwrite: bool = False) -> int:
    """Caption ``items`` as one journaled run (Japanese prompt, model label "tiny"); returns its number."""
    chosen = options(overwrite=overwrite)
    job = journal.create(items, chosen)
    list(journaled(run_job(items, chosen, engine), journal, job))
    return job
