"""``caprl-desktop caption --metadata`` end to end with the real engine, read back by ExifTool; ``metadata restore``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from caprl_desktop.cli.main import main
from caprl_desktop.core.metadata import clean_for_xml, read_description
from tests.support.cli import fast_args, model_args
from tests.support.exiftool import DATE_TAKEN, exiftool, exiftool_write, make_photo
from tests.support.models import ModelFiles

FAST = fast_args(seed=3)
HUMAN = "Grandma's garden, summer 1987"


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return bytes(image.tobytes())


def _jpeg_scan(path: Path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"\xff\xda"):]  # SOS to EOI: the compressed image itself


def _described(sidecar: Path) -> str:
    """What the description holds for a caption saved as ``sidecar``: the same text, cleaned for XML."""
    return clean_for_xml(sidecar.read_text(encoding="utf-8")).strip()




def test_embed_writes_each_caption_inside_and_changes_nothing_else(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "写真"
    folder.mkdir()
    photos = [make_photo(folder / name, fmt) for name, fmt in
              (("a.jpg", "JPEG"), ("b.png", "PNG"), ("c.webp", "WEBP"), ("d.tif", "TIFF"))]
    pixels = {p: _pixels(p) for p in photos}
    scan = _jpeg_scan(photos[0])

    code = main(["caption", str(folder), "--metadata", "embed", "--lang", "ja", *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 0, err

    for photo in photos:
        sidecar = photo.with_suffix(".txt")
        found = exiftool(photo, "-XMP:all", "-EXIF:all", "-ICC_Profile:ProfileDescription")
        assert str(found["XMP-dc:Description"]) == _described(sidecar), photo.name
        assert str(found["XMP-dc:Description-ja"]) == _described(sidecar)
        assert found["XMP-caprl:Model_file"] == models.model.name
        assert found["ExifIFD:DateTimeOriginal"] == DATE_TAKEN
        assert found["ICC_Profile:ProfileDescription"] == "sRGB built-in"
        assert _pixels(photo) == pixels[photo]
        assert not photo.with_suffix(".xmp").exists()  # inside, not beside
    assert _jpeg_scan(photos[0]) == scan
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "a.txt", "b.png", "b.txt", "c.txt", "c.webp",
                                                        "d.tif", "d.txt"]  # no temporary file left


def test_xmp_writes_sidecars_and_a_gif_gets_one_with_embed(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "album"
    folder.mkdir()
    photo = make_photo(folder / "a.jpg", "JPEG")
    before = photo.read_bytes()
    code = main(["caption", str(photo), "--metadata", "xmp", "--lang", "en", *FAST, *model_args(models)])
    assert code == 0, capsys.readouterr().err
    assert photo.read_bytes() == before  # xmp: the image itself is not touched
    found = exiftool(folder / "a.xmp", "-XMP:all")
    assert str(found["XMP-dc:Description"]) == _described(folder / "a.txt")

    gif = folder / "anim.gif"
    Image.effect_noise((32, 32), 40).convert("P").save(gif)
    code = main(["caption", str(gif), "--metadata", "embed", "--lang", "en", *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 0, err
    found = exiftool(folder / "anim.xmp", "-XMP:all")
    assert str(found["XMP-dc:Description"]) == _described(folder / "anim.txt")
    assert "cannot hold a description inside" in err


def test_xmp_sidecars_follow_the_captions_under_output_dir(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    photo = make_photo(folder / "a.jpg", "JPEG")
    out = tmp_path / "out"
    code = main(["caption", str(folder), "--metadata", "xmp", "--output-dir", str(out), *FAST, *model_args(models)])
    assert code == 0, capsys.readouterr().err
    assert str(exiftool(out / "card" / "a.xmp", "-XMP:all")["XMP-dc:Description"]) == _described(out / "card" / "a.txt")
    assert not photo.with_suffix(".xmp").exists()


def test_a_human_description_is_kept_replaced_on_request_and_restored(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    exiftool_write(photo, f"-XMP-dc:Description={HUMAN}", f"-EXIF:ImageDescription={HUMAN}")
    original = exiftool(photo, "-XMP-dc:Description", "-IFD0:ImageDescription", "-b")
    args = ["caption", str(photo), "--metadata", "embed", "--lang", "en", *FAST, *model_args(models)]

    assert main(args) == 0
    assert "kept the description already there" in capsys.readouterr().err
    assert exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"] == HUMAN

    assert main([*args, "--overwrite", "--metadata-existing", "replace"]) == 0
    capsys.readouterr()
    assert str(exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"]) == _described(photo.with_suffix(".txt"))
    # A re-caption replaces the app's own description; the human one stays the one to restore.
    assert main([*args, "--overwrite", "--seed", "9"]) == 0
    capsys.readouterr()

    assert main(["metadata", "restore", str(photo)]) == 0
    assert "the earlier description is back" in capsys.readouterr().out
    assert exiftool(photo, "-XMP-dc:Description", "-IFD0:ImageDescription", "-b") == original
    found = read_description(photo)
    assert found is not None and found.text == HUMAN and not found.app_written


@pytest.mark.skipif(os.name == "nt", reason="a read-only mode bit is POSIX's; Windows' attribute is another test")
def test_a_read_only_photo_gets_an_xmp_sidecar_and_keeps_its_caption(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = make_photo(tmp_path / "locked.jpg", "JPEG")
    before = photo.read_bytes()
    photo.chmod(stat.S_IRUSR)
    try:
        code = main(["caption", str(photo), "--metadata", "embed", *FAST, *model_args(models)])
    finally:
        photo.chmod(stat.S_IRUSR | stat.S_IWUSR)
    err = capsys.readouterr().err
    assert code == 0, err
    assert photo.read_bytes() == before
    assert "not written inside the image" in err
    assert str(exiftool(tmp_path / "locked.xmp", "-XMP:all")["XMP-dc:Description"]) == \
        _described(tmp_path / "locked.txt")
