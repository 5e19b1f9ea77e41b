"""Captions in image metadata: written by caprl_desktop.core.metadata, read back by ExifTool."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from PIL import Image

from caprl_desktop.core import metadata
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.metadata import _exiv2io
from tests.support.exiftool import DATE_TAKEN, exiftool, exiftool_write, make_photo
from tests.support.faults import fail_writes

FORMATS = [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif")]
CAPTIONS = {"ja": "窓辺で眠る茶色の猫。背景には観葉植物がある。", "en": "A brown cat asleep on a windowsill."}
PROVENANCE = {"model": "CapRL-3B-Q4_K_M", "model_sha256": "ab" * 32, "seed": "42"}


def _pixels(path: Path) -> bytes:
    with Image.open(path) as image:
        return bytes(image.tobytes())


def _jpeg_scan(path: Path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"\xff\xda") :]  # from SOS to EOI: the compressed image itself


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
@pytest.mark.parametrize("language", ["ja", "en"])
def test_caption_is_written_and_nothing_else_changes(tmp_path: Path, fmt: str, ext: str, language: str) -> None:
    photo = make_photo(tmp_path / f"photo.{ext}", fmt)
    pixels = _pixels(photo)
    scan = _jpeg_scan(photo) if fmt == "JPEG" else b""
    text = CAPTIONS[language]

    result = metadata.write_description(photo, text, language, PROVENANCE)  # type: ignore[arg-type]

    assert result.written[0] == "Xmp.dc.description" and result.previous is None
    found = exiftool(photo, "-XMP:all", "-EXIF:all", "-ICC_Profile:ProfileDescription")
    assert found["XMP-dc:Description"] == text
    assert found[f"XMP-dc:Description-{language}"] == text
    assert found["XMP-xmp:CreatorTool"].startswith("CapRL Desktop ")
    assert found["XMP-caprl:Model"] == PROVENANCE["model"]
    assert found["XMP-caprl:Model_sha256"] == PROVENANCE["model_sha256"]
    assert str(found["XMP-caprl:Seed"]) == "42"
    # EXIF ImageDescription is ASCII: an English caption goes there, a Japanese one stays out (Explorer).
    assert found.get("IFD0:ImageDescription") == (text if language == "en" else None)
    assert found["ExifIFD:DateTimeOriginal"] == DATE_TAKEN
    assert found["ICC_Profile:ProfileDescription"] == "sRGB built-in"
    assert _pixels(photo) == pixels
    if fmt == "JPEG":
        assert _jpeg_scan(photo) == scan
    assert _leftovers(tmp_path) == []

    read = metadata.read_description(photo)
    assert read is not None and read.text == text and read.app_written
    assert read.xmp == {"x-default": text, language: text}
    assert dict(read.provenance) == PROVENANCE


def _with_human_description(tmp_path: Path) -> Path:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    # A description written by another program (ExifTool here), in every field, with a second language.
    exiftool_write(
        photo, "-XMP-dc:Description=Grandma's garden, 1987", "-XMP-dc:Description-de=Omas Garten, 1987",
        "-IFD0:ImageDescription=Grandma's garden, 1987", "-IPTC:Caption-Abstract=Grandma's garden, 1987",
        "-XMP-xmp:CreatorTool=Adobe Photoshop",
    )
    return photo


def test_a_human_description_is_kept_by_default(tmp_path: Path) -> None:
    photo = _with_human_description(tmp_path)
    before = photo.read_bytes()
    read = metadata.read_description(photo)
    assert read is not None and not read.app_written and read.text == "Grandma's garden, 1987"

    result = metadata.write_description(photo, CAPTIONS["en"], "en", PROVENANCE)

    assert result.kept_existing and result.written == ()
    assert photo.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_replace_then_restore_puts_the_human_description_back(tmp_path: Path) -> None:
    photo = _with_human_description(tmp_path)
    before = exiftool(photo, "-XMP:all", "-IFD0:ImageDescription", "-IPTC:all", "-b")

    result = metadata.write_description(photo, CAPTIONS["ja"], "ja", PROVENANCE, existing="replace")

    now = exiftool(photo, "-XMP:all", "-IFD0:ImageDescription", "-IPTC:all")
    assert now["XMP-dc:Description"] == CAPTIONS["ja"] and "XMP-dc:Description-de" not in now
    assert "IFD0:ImageDescription" not in now  # ASCII-only field: the old English text would hide the caption
    assert now["IPTC:Caption-Abstract"] == CAPTIONS["ja"]  # the file carried IPTC: UTF-8 declared
    assert now["IPTC:CodedCharacterSet"] == "UTF8"
    assert result.previous is not None and result.previous.exif == b"Grandma's garden, 1987"

    metadata.restore_description(photo, result.previous)

    after = exiftool(photo, "-XMP:all", "-IFD0:ImageDescription", "-IPTC:all", "-b")
    for key in ("XMP-dc:Description", "XMP-dc:Description-de", "IFD0:ImageDescription",
                "IPTC:Caption-Abstract", "XMP-xmp:CreatorTool"):
        assert after[key] == before[key], key
    assert not [k for k in after if k.startswith("XMP-caprl:")]
    read = metadata.read_description(photo)
    assert read is not None and not read.app_written


def test_restore_refuses_a_description_edited_since(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    result = metadata.write_description(photo, CAPTIONS["en"], "en", PROVENANCE)
    exiftool_write(photo, "-XMP-dc:Description=fixed by hand")
    assert metadata.read_description(photo) is not None
    assert not metadata.read_description(photo).app_written  # type: ignore[union-attr]
    with pytest.raises(metadata.MetadataError, match="changed since"):
        metadata.restore_description(photo, result.previous)


def test_the_apps_own_description_is_replaced_without_asking(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.png", "PNG")
    metadata.write_description(photo, "first", "en", PROVENANCE)
    again = metadata.write_description(photo, "second", "en", PROVENANCE)
    assert again.written and again.previous is None
    assert exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"] == "second"


def test_control_characters_are_removed(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    text = "a cat\x00 on a\x07 mat\x1b[0m\r\nsecond line\ttab"

    result = metadata.write_description(photo, text, "en", PROVENANCE)

    expected = "a cat on a mat[0m\nsecond line\ttab"
    assert result.text == expected
    assert exiftool(photo, "-XMP-dc:Description")["XMP-dc:Description"] == expected
    assert metadata.read_description(photo).text == expected  # type: ignore[union-attr]


def test_a_read_only_photo_is_left_untouched(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    before = photo.read_bytes()
    photo.chmod(0o444)
    with pytest.raises(WriteError, match="read-only"):
        metadata.write_description(photo, CAPTIONS["en"], "en", PROVENANCE)
    assert photo.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_folder_that_cannot_be_written_gives_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = make_photo(tmp_path / "photo.webp", "WEBP")
    before = photo.read_bytes()
    fail_writes(monkeypatch, tmp_path, errno.EACCES)
    with pytest.raises(WriteError, match="no permission") as caught:
        metadata.write_description(photo, CAPTIONS["en"], "en", PROVENANCE)
    assert caught.value.problem == "read_only"
    assert photo.read_bytes() == before


@pytest.mark.parametrize("where", ["exiv2", "rename"])
def test_a_failure_midway_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    photo = make_photo(tmp_path / "photo.tif", "TIFF")
    before = photo.read_bytes()
    if where == "rename":
        def no_rename(self: Path, target: Path) -> Path:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(Path, "replace", no_rename)
    else:
        real = _exiv2io.open_image

        def half_written(path: Path, name: str | None = None, *, to_write: bool = False) -> object:
            real(path, name, to_write=to_write)
            with path.open("r+b") as f:  # as if killed while Exiv2 rewrote the copy
                f.truncate(100)
            raise KeyboardInterrupt
        monkeypatch.setattr(_exiv2io, "open_image", half_written)

    with pytest.raises((WriteError, KeyboardInterrupt)):
        metadata.write_description(photo, CAPTIONS["en"], "en", PROVENANCE)
    assert photo.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_type_that_cannot_embed_is_refused(tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (8, 8)).save(gif)
    assert not metadata.can_embed(gif)
    with pytest.raises(metadata.UnsupportedImageError):
        metadata.write_description(gif, "x", "en", PROVENANCE)
    png_named_jpg = tmp_path / "odd.jpg"
    gif.rename(png_named_jpg)
    with pytest.raises(metadata.UnsupportedImageError):
        metadata.write_description(png_named_jpg, "x", "en", PROVENANCE)


def test_the_xmp_sidecar_is_read_by_exiftool(tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (8, 8)).save(gif)
    before = gif.read_bytes()

    result = metadata.write_xmp_sidecar(tmp_path / "anim.xmp", CAPTIONS["ja"], "ja", PROVENANCE)

    assert result.path == tmp_path / "anim.xmp"
    found = exiftool(result.path)
    assert found["File:FileType"] == "XMP"
    assert found["XMP-dc:Description"] == CAPTIONS["ja"]
    assert found["XMP-dc:Description-ja"] == CAPTIONS["ja"]
    assert found["XMP-caprl:Model"] == PROVENANCE["model"]
    assert gif.read_bytes() == before
    read = metadata.read_xmp_sidecar(result.path)
    assert read is not None and read.text == CAPTIONS["ja"] and read.app_written and read.exif is None
    assert _leftovers(tmp_path) == []


def test_an_existing_sidecar_keeps_its_other_fields(tmp_path: Path) -> None:
    sidecar = tmp_path / "photo.xmp"
    metadata.write_xmp_sidecar(sidecar, "first", "en", PROVENANCE)
    exiftool_write(sidecar, "-XMP-xmp:Rating=4")
    metadata.write_xmp_sidecar(sidecar, "second", "en", PROVENANCE)
    found = exiftool(tmp_path / "photo.xmp")
    assert found["XMP-dc:Description"] == "second" and found["XMP-xmp:Rating"] == 4


def test_bad_provenance_keys_are_refused(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "photo.jpg", "JPEG")
    with pytest.raises(ValueError, match="provenance"):
        metadata.write_description(photo, "x", "en", {"not a name": "1"})
