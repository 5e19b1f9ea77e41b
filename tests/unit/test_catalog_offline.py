"""Offline, every model family still lists its quants and projectors (the built-in list), and nothing says a model
cannot caption because the hub was out of reach."""

from __future__ import annotations

import pytest

from caprl_desktop.cli import models_command
from caprl_desktop.cli.main import main
from caprl_desktop.core.models.catalog import bundled_catalog, families, family, recognise
from caprl_desktop.core.models.hub import HubClient, fetch_catalog


@pytest.mark.parametrize("key", [f.key for f in families()])
def test_every_family_has_a_built_in_list_with_its_default_quant_and_projector(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    chosen = family(key)
    catalog = fetch_catalog(chosen, HubClient())
    assert not catalog.from_hub and "Offline mode is on" in catalog.note
    assert catalog.find_model(chosen.default_quant) is not None
    assert catalog.find_projector(chosen.default_mmproj) is not None
    for file in (*catalog.models, *catalog.projectors):
        # Named as the hub names them: the same file is recognised in the hub's own listing once online.
        assert recognise(chosen, file.repo, file.filename) == (file.role, file.quant, file.imatrix), file.filename
        assert file.size > 0 and file.sha256 is None


def test_the_built_in_list_of_caprl_3b_keeps_its_names() -> None:
    catalog = bundled_catalog(family("3b"))
    assert catalog.find_model("Q4_K_M") is not None
    assert {p.filename for p in catalog.projectors} == {"CapRL-3B.mmproj-Q8_0.gguf", "CapRL-3B.mmproj-f16.gguf"}
    assert catalog.find_model("i1-IQ3_XS") is not None


@pytest.mark.parametrize("short", ["2b", "4b"])
def test_models_list_remote_offline_shows_quants_and_projectors_of_caprl_2(
    short: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(models_command, "probe_backend", lambda: None)  # (no engine process: RAM is the budget)
    assert main(["models", "list", "--remote", "--family", short]) == 0
    out = capsys.readouterr().out
    assert "Q4_K_M" in out and "Q8_0" in out
    projectors = out.split("vision projectors", 1)[1]
    assert "Q8_0" in projectors and "F16" in projectors
    assert "cannot caption" not in out
