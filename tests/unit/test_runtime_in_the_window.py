"""The window captions through the runtime chosen with `caprl-desktop runtime use`, as the command line does."""

from __future__ import annotations

from pathlib import Path

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.runtimes import store
from caprl_desktop.core.runtimes.choice import ChosenEngine
from caprl_desktop.ui.engines import RealEngines


def test_the_windows_engine_on_this_computer_is_the_chosen_runtime_or_the_built_in_one(tmp_path: Path) -> None:
    engines = RealEngines(tmp_path / "logs")
    config = EngineConfig("model.gguf", "mmproj.gguf")
    assert isinstance(engines.local(config), EngineClient)  # nothing chosen: the built-in engine

    folder = store.runtimes_dir() / store.runtime_name("b11312", "cpu")
    folder.mkdir(parents=True)
    store.write_manifest(folder, "b11312", "cpu", [])
    store.use(folder.name)
    chosen = engines.local(config)
    assert isinstance(chosen, ChosenEngine) and not chosen.running  # made, not started: a run starts it

    store.use(store.BUILTIN)
    assert isinstance(engines.local(config), EngineClient)
