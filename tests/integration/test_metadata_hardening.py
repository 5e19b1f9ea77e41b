"""``caption --metadata`` against hostile input with the real engine (issue 25): two images sharing a stem and
``--output-dir`` read back by ``metadata show``, damaged XMP in a photo, the user's folders in shared photos, and a
description write killed midway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from caprl_desktop.cli.main import main
from caprl_desktop.core.app_log import log_path
from caprl_desktop.core.metadata import clean_for_xml, read_xmp_sidecar
from tests.support.cli import fast_args, model_args
from tests.support.exiftool import exiftool, make_photo
from tests.support.hostile_metadata import DAMAGED_XMP, hidden, killed_midway, with_xmp_packet
from tests.support.models import ModelFiles

FAST = fast_args(seed=3)


def _described(caption: Path) -> str:
    return clean_for_xml(caption.read_text(encoding="utf-8")).strip()


def test_show_reads_what_the_run_wrote_for_a_jpg_and_a_png_sharing_a_stem(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jpg, png = make_photo(tmp_path / "a.jpg", "JPEG"), make_photo(tmp_path / "a.png", "PNG")
    for image, seed in ((jpg, "3"), (png, "11")):  # seeds apart: the tiny model's two captions must differ
        args = ["caption", str(image), "--metadata", "xmp", *fast_args(seed=int(seed)), *model_args(models)]
        assert main(args) == 0
    capsys.readouterr()
    assert _described(tmp_path / "a.txt") != _described(tmp_path / "a.png.txt")
    for image, sidecar in ((jpg, tmp_path / "a.xmp"), (png, tmp_path / "a.png.xmp")):
        found = read_xmp_sidecar(sidecar)
        assert found is not None and found.text == _described(sidecar.with_suffix(".txt")), image.name
        assert main(["metadata", "show", str(image)]) == 0
        # The caption text is shown with its control characters made visible; the line above names its source.
        first = capsys.readouterr().out.splitlines()[0]
        assert first == f"{image}: in its XMP sidecar {sidecar}, written by CapRL Desktop"


def test_show_finds_the_sidecars_a_run_wrote_under_output_dir(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    photo = make_photo(card / "a.jpg", "JPEG")
    out = tmp_path / "out"
    assert main(["caption", str(card), "--metadata", "xmp", "--output-dir", str(out), *FAST, *model_args(models)]) == 0
    capsys.readouterr()
    for given in (card, photo):
        assert main(["metadata", "show", str(given), "--output-dir", str(out)]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        assert first == f"{photo}: in its XMP sidecar {out / 'card' / 'a.xmp'}, written by CapRL Desktop"
    found = read_xmp_sidecar(out / "card" / "a.xmp")
    assert found is not None and found.text == _described(out / "card" / "a.txt")


def test_a_photo_with_damaged_xmp_is_left_whole_and_the_terminal_hears_only_the_app(
    models: ModelFiles, tmp_path: Path
) -> None:
    """The command in a process of its own: under pytest, logging's handlers would keep Exiv2 off stderr anyway."""
    photo = with_xmp_packet(make_photo(tmp_path / "a.jpg", "JPEG"), DAMAGED_XMP)
    before = photo.read_bytes()
    run = subprocess.run([sys.executable, "-m", "caprl_desktop", "caption", str(photo), "--metadata", "embed",
                          *FAST, *model_args(models)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert photo.read_bytes() == before
    assert str(exiftool(tmp_path / "a.xmp", "-XMP:all")["XMP-dc:Description"]) == _described(tmp_path / "a.txt")
    assert "XMP metadata already in a.jpg is damaged" in run.stderr
    assert "XMP Toolkit" not in run.stderr and "Failed to decode" not in run.stderr
    assert "XMP Toolkit error 201" in log_path("cli").read_text(encoding="utf-8")


def test_shared_photos_carry_the_model_file_names_and_the_export_its_paths(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    photo, gif = make_photo(folder / "a.jpg", "JPEG"), folder / "b.gif"
    Image.effect_noise((32, 32), 40).convert("P").save(gif)  # a GIF holds no description: b.xmp does
    records = tmp_path / "r.jsonl"
    main(["caption", str(folder), "--metadata", "embed", "--jsonl", str(records), *FAST, *model_args(models)])
    capsys.readouterr()
    models_folder = str(models.model.parent)
    found = exiftool(photo, "-XMP:all")
    assert models_folder not in json.dumps(found)
    assert found["XMP-caprl:Model_file"] == models.model.name
    assert found["XMP-caprl:Projector_file"] == models.mmproj.name
    assert len(found["XMP-caprl:Model_sha256"]) == 64
    sidecar = (folder / "b.xmp").read_text(encoding="utf-8")
    assert models.model.name in sidecar and models_folder not in sidecar
    exported = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    assert {r["provenance"]["model_path"] for r in exported if r["provenance"]} == {str(models.model.absolute())}


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX's")
def test_the_next_run_removes_the_copy_a_killed_description_write_left(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = make_photo(tmp_path / "k05.png", "PNG")
    killed_midway(photo)
    assert len(hidden(tmp_path)) == 1
    assert main(["caption", str(tmp_path), "--metadata", "embed", *FAST, *model_args(models)]) == 0
    capsys.readouterr()
    assert hidden(tmp_path) == []
    assert exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"] == _described(tmp_path / "k05.txt")
