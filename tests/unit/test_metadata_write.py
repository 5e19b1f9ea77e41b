"""``caprl-desktop metadata write``: the captions already on disk written into the images as their descriptions
(issue 28 item 4), read back with ExifTool: the model's with its provenance, an edited one saying so, one found on
disk saying that; someone else's description kept unless asked, then replaced and restored."""

from __future__ import annotations

from pathlib import Path

import pytest

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED
from caprl_desktop.cli.main import main
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal
from tests.support.exiftool import exiftool, exiftool_write
from tests.support.library import caption, made_engine

HUMAN = "Grandma's garden, summer 1987"


def test_metadata_write_describes_each_caption_on_disk_with_whose_words_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = made_engine(tmp_path)
    folder = tmp_path / "album"
    model, edited, found, bare = engine.images(folder, ["model.png", "edited.png", "found.png", "bare.png"])
    items, _ = find_images([model, edited])
    with Journal() as journal:
        caption(journal, engine, items)
    edited.with_suffix(".txt").write_text("Fixed by a person.\n", encoding="utf-8")
    found.with_suffix(".txt").write_text("Written before this app.\n", encoding="utf-8")
    exiftool_write(found, f"-XMP-dc:Description={HUMAN}")

    code = main(["metadata", "write", str(folder)])
    out, err = capsys.readouterr()
    assert code == EXIT_SOME_FAILED  # bare.png has no caption: named, nothing written
    assert f"{bare}: no caption on disk; nothing written" in err
    assert out.splitlines()[-1] == "2 written, 1 kept their own description, 1 without a caption, 0 failed"

    tags = exiftool(model, "-XMP:all")
    assert tags["XMP-dc:Description"] == "model.png caption" and tags["XMP-dc:Description-ja"] == "model.png caption"
    assert tags["XMP-caprl:Model_file"] == "CapRL-3B.Q4_K_M.gguf" and "XMP-caprl:Source" not in tags
    tags = exiftool(edited, "-XMP:all")
    assert tags["XMP-dc:Description"] == "Fixed by a person."
    assert tags["XMP-caprl:Source"] == "edited by hand" and str(tags["XMP-caprl:Edited_at"])[:2] == "20"
    assert exiftool(found, "-XMP:all")["XMP-dc:Description"] == HUMAN  # someone else's: kept
    assert "XMP-dc:Description" not in exiftool(bare, "-XMP:all")

    # Asked to replace it: replaced, said to be from disk; and `metadata restore` puts the person's back.
    assert main(["metadata", "write", str(found), "--metadata-existing", "replace"]) == EXIT_OK
    tags = exiftool(found, "-XMP:all")
    assert tags["XMP-dc:Description"] == "Written before this app." and tags["XMP-caprl:Source"] == "from disk"
    assert main(["metadata", "restore", str(found)]) == EXIT_OK
    assert exiftool(found, "-XMP:all")["XMP-dc:Description"] == HUMAN


def test_metadata_write_with_xmp_writes_sidecars_and_leaves_the_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = made_engine(tmp_path)
    [photo] = engine.images(tmp_path / "pics", ["p.png"])
    photo.with_suffix(".txt").write_text("A caption on disk.\n", encoding="utf-8")
    before = photo.read_bytes()
    assert main(["metadata", "write", str(photo), "--metadata", "xmp"]) == EXIT_OK
    assert photo.read_bytes() == before
    assert exiftool(photo.with_suffix(".xmp"), "-XMP:all")["XMP-dc:Description"] == "A caption on disk."
    assert f"{photo}: description written in {photo.with_suffix('.xmp')}" in capsys.readouterr().out
