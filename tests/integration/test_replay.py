"""``caprl-desktop replay``: a seeded run made one caption at a time is made again byte for byte on the real
llama.cpp (the generated model), and a record whose model file changed is not replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.export.writers import read_jsonl
from caprl_desktop.core.models.downloads import sha256_of
from tests.support.cli import fast_args, model_args
from tests.support.images import save_noise
from tests.support.models import ModelFiles


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "pics"
    for n in range(3):
        save_noise(root / f"img{n}.png", seed=n + 1)
    return root


def test_a_seeded_run_one_at_a_time_is_replayed_identically(
    models: ModelFiles, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    code = main(["caption", str(folder), "--jsonl", str(out), "--seed", "5", "--parallel", "1", "--lang", "en",
                 "--temperature", "0.9", *fast_args(max_tokens=24), *model_args(models)])
    assert code == 0, capsys.readouterr().err
    lines = read_jsonl(out)
    assert len(lines) == 3
    model_sha = sha256_of(models.model)
    for line in lines:
        provenance = line["provenance"]
        assert isinstance(provenance, dict)
        assert provenance["model_sha256"] == model_sha and provenance["seed"] == 5
        assert provenance["projector_sha256"] == sha256_of(models.mmproj)
        assert provenance["temperature"] == 0.9 and provenance["parallel"] == 1
        assert provenance["device"] and provenance["image_tokens"] and provenance["finish_reason"]
    capsys.readouterr()

    assert main(["replay", str(out), "--threads", "2"]) == 0
    printed = capsys.readouterr().out
    assert "3 identical, 0 different, 0 not replayed" in printed
    assert printed.count("identical  pics/img") == 3  # (named from the JSONL's folder)


def test_a_changed_caption_or_model_is_reported_and_exits_1(
    models: ModelFiles, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["caption", str(folder / "img0.png"), str(folder / "img1.png"), "--jsonl", str(out), "--seed", "3",
                 "--parallel", "1", *fast_args(), *model_args(models)]) == 0
    lines = read_jsonl(out)
    lines[0]["caption"] = "not what the model said"
    moved = dict(lines[1])
    moved["provenance"] = {**lines[1]["provenance"], "model_sha256": "0" * 64}  # type: ignore[dict-item]
    lines[1] = moved
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    capsys.readouterr()

    assert main(["replay", str(out), "--threads", "2"]) == 1
    printed = capsys.readouterr().out
    assert "different  pics/img0.png" in printed
    assert "not replayed  pics/img1.png: the model" in printed and "sha256 differs" in printed
    assert "0 identical, 1 different, 1 not replayed" in printed


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"file_name": "x.png"}\n', encoding="utf-8")
    assert main(["replay", str(bad)]) == 2
    assert "not a CapRL Desktop caption record" in capsys.readouterr().err
