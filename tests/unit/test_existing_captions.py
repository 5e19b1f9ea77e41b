"""Captions already on disk, and which of them a person wrote or changed since the app wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.existing import ExistingCaption, Replaced, existing_captions, hand_edited, weigh
from caprl_desktop.core.jobs.journal import Journal, journaled
from caprl_desktop.core.jobs.scheduler import run_job
from tests.support.fake_engine import FakeEngine, Script
from tests.support.jobs import options


def test_the_journal_tells_captions_edited_by_hand_from_those_the_app_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripts: dict[str, Script] = {}
    engine = FakeEngine(scripts=scripts)
    folder = tmp_path / "photos"
    engine.images(folder, ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"])
    monkeypatch.chdir(tmp_path)
    # A command run on a relative path, as typed: its sidecars are relative too.
    relative, _ = find_images([Path("photos")])
    first = [i for i in relative if i.path.name in ("a.png", "b.png", "c.png")]
    with Journal() as journal:
        job = journal.create(first, options())
        list(journaled(run_job(first, options(), engine), journal, job))
    assert (folder / "c.txt").read_text(encoding="utf-8") == "c.png caption\n"
    # c again, in a later run that replaced its caption: the last caption written is what counts.
    items, _ = find_images([folder])
    [c] = [i for i in items if i.path.name == "c.png"]
    scripts["c.png"] = Script(pieces=("second", " run"))
    with Journal() as journal:
        job = journal.create([c], options(overwrite=True))
        list(journaled(run_job([c], options(overwrite=True), engine), journal, job))
    assert (folder / "c.txt").read_text(encoding="utf-8") == "second run\n"

    (folder / "b.txt").write_text("A person fixed this caption.\n", encoding="utf-8")
    (folder / "d.txt").write_text("Written by another tool\n", encoding="utf-8")
    (folder / "e.txt").write_text("  \n", encoding="utf-8")  # empty: no caption
    captions = existing_captions(items)
    assert set(captions) == {folder / n for n in ("a.png", "b.png", "c.png", "d.png")}
    assert captions[folder / "b.png"] == ExistingCaption(folder / "b.txt", "A person fixed this caption.")
    with Journal() as journal:
        written = journal.written_captions(c.sidecar for c in captions.values())
    assert written == {folder / "a.txt": "a.png caption", folder / "c.txt": "second run",
                       folder / "b.txt": "b.png caption"}
    verdicts = {image.name: hand_edited(caption, written) for image, caption in captions.items()}
    assert verdicts == {"a.png": False, "b.png": True, "c.png": False, "d.png": None}
    assert weigh(captions, written) == Replaced(captioned=4, hand_edited=1, not_from_app=1)
    assert weigh(captions, written).made_by_hand == 2


def test_captions_under_a_caption_folder_are_found_there(tmp_path: Path) -> None:
    engine = FakeEngine()
    folder = tmp_path / "card"
    engine.images(folder, ["x.png", "y.png"])
    items, _ = find_images([folder])
    elsewhere = tmp_path / "captions"
    opts = options(caption_folder=str(elsewhere))
    with Journal() as journal:
        job = journal.create(items, opts)
        list(journaled(run_job(items, opts, engine), journal, job))
    assert existing_captions(items) == {}  # nothing beside the images
    captions = existing_captions(items, elsewhere)
    assert {c.sidecar for c in captions.values()} == {elsewhere / "card" / "x.txt", elsewhere / "card" / "y.txt"}
    with Journal() as journal:
        written = journal.written_captions(c.sidecar for c in captions.values())
    assert weigh(captions, written) == Replaced(captioned=2, hand_edited=0, not_from_app=0)
