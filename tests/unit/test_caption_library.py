"""Captions on disk as the user's library (issue 28 items 1, 5, 6, 7 in the core): each caption's record says
whose words it is (the model's, edited by hand, from disk), with what the journal knows; an image's history of
versions answers Undo, Revert and "what a re-caption replaced"; line ends never make a caption "edited"; an
edited record is not replayed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from caprl_desktop.core.export.writers import (
    SOURCE_DISK,
    SOURCE_EDITED,
    SOURCE_MODEL,
    CaptionRecord,
    read_jsonl,
    record_from_json,
    write_records,
)
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import ItemFinished, ItemSkipped
from caprl_desktop.core.jobs.existing import existing_captions, same_caption, weigh
from caprl_desktop.core.jobs.history import CaptionHistory, caption_history
from caprl_desktop.core.jobs.journal import EditKind, Journal, journaled
from caprl_desktop.core.jobs.on_disk import captions_on_disk
from caprl_desktop.core.jobs.replay import why_not
from caprl_desktop.core.jobs.scheduler import run_job
from tests.support.fake_engine import Script
from tests.support.jobs import options
from tests.support.library import caption, made_engine


def test_a_caption_the_model_wrote_with_cr_lf_and_saved_back_with_lf_is_not_edited_by_hand(tmp_path: Path) -> None:
    engine = made_engine(tmp_path, {"a.png": Script(pieces=("One line.\r\nTwo", "\rthree.")),
                                    "b.png": Script(pieces=("Plain.",))})
    engine.images(tmp_path / "pics", ["a.png", "b.png"])
    items, _ = find_images([tmp_path / "pics"])
    with Journal() as journal:
        caption(journal, engine, items)
        sidecar = tmp_path / "pics" / "a.txt"
        assert sidecar.read_bytes() == b"One line.\r\nTwo\rthree.\n"
        # As the window's editor saves it back (Qt gives \n for both), with no word changed.
        sidecar.write_text("One line.\nTwo\nthree.\n", encoding="utf-8")
        (tmp_path / "pics" / "b.txt").write_text("Plain, fixed by a person.\n", encoding="utf-8")
        captions = existing_captions(items)
        replaced = weigh(captions, journal.written_captions(c.sidecar for c in captions.values()))
    assert (replaced.captioned, replaced.hand_edited, replaced.not_from_app) == (2, 1, 0)
    assert replaced.by_hand == {tmp_path / "pics" / "b.png"}
    assert same_caption("a\r\nb\u2029c \n", "a\nb\nc") and not same_caption("a b", "a  b")


def test_each_caption_on_disk_is_exported_as_the_models_edited_by_hand_or_from_disk(tmp_path: Path) -> None:
    engine = made_engine(tmp_path)
    folder = tmp_path / "library"
    engine.images(folder, ["kept.png", "typed.png", "outside.png", "found.png", "none.png"])
    items, _ = find_images([folder])
    made = [i for i in items if i.path.name in ("kept.png", "typed.png", "outside.png")]
    with Journal() as journal:
        caption(journal, engine, made)
        (folder / "typed.txt").write_text("Typed in the window.\n", encoding="utf-8")
        journal.record_edit(folder / "typed.png", folder / "typed.txt", "Typed in the window.", "edit")
        (folder / "outside.txt").write_text("Changed in a text editor.\n", encoding="utf-8")
        os.utime(folder / "outside.txt", (1_700_000_000, 1_700_000_000))
        (folder / "found.txt").write_text("Written by another tool.\n", encoding="utf-8")
        found = captions_on_disk(items, None, journal)
    records = {path.name: disk.record for path, disk in found.items()}
    assert set(records) == {"kept.png", "typed.png", "outside.png", "found.png"}  # none.png has no caption

    kept = records["kept.png"]
    assert (kept.source, kept.caption, kept.language, kept.model) == (SOURCE_MODEL, "kept.png caption", "ja", "tiny")
    assert kept.provenance is not None and kept.provenance.seed is not None and kept.model_caption == ""

    typed = records["typed.png"]
    assert (typed.source, typed.caption, typed.model_caption) == (SOURCE_EDITED, "Typed in the window.",
                                                                   "typed.png caption")
    assert typed.edited_at[:4].isdigit() and "T" in typed.edited_at  # when the window saved it
    assert typed.provenance is not None and typed.provenance.finish_reason == "stop"  # of the model's, beside

    outside = records["outside.png"]
    assert (outside.source, outside.model_caption) == (SOURCE_EDITED, "outside.png caption")
    assert outside.edited_at.startswith("2023-11-1")  # nothing recorded the edit: the file's own time

    disk = records["found.png"]
    assert (disk.source, disk.provenance, disk.language, disk.model) == (SOURCE_DISK, None, "", "")

    # Exported, read back: whose words each is, and the model's words beside an edit; counted by source.
    target = tmp_path / "all.jsonl"
    report = write_records(target, "jsonl", [records[name] for name in sorted(records)])
    rows = {Path(str(row["path"])).name: row for row in read_jsonl(target)}
    assert rows["typed.png"]["source"] == "edited by hand" and rows["typed.png"]["model_caption"] == "typed.png caption"
    assert rows["found.png"]["source"] == "from disk" and rows["found.png"]["provenance"] is None
    assert report.by_source() == {SOURCE_MODEL: 1, SOURCE_EDITED: 2, SOURCE_DISK: 1}

    # replay makes only the model's unedited captions again, and says why not the others.
    assert why_not(record_from_json(rows["kept.png"])) == ""
    assert "edited by hand" in why_not(record_from_json(rows["typed.png"]))
    assert "found on disk" in why_not(record_from_json(rows["found.png"]))


def test_a_record_exported_before_sources_reads_back_as_the_models(tmp_path: Path) -> None:
    record = CaptionRecord("a.jpg", "A cat.", "en", "Describe.", "m", 1.0, 3, "", "/p/a.jpg")
    target = tmp_path / "old.jsonl"
    write_records(target, "jsonl", [record])
    [row] = read_jsonl(target)
    for later in ("source", "edited_at", "model_caption"):
        del row[later]
    assert record_from_json(json.loads(json.dumps(row))) == record


def test_a_skipped_images_record_in_a_resumed_runs_export_says_from_disk(tmp_path: Path) -> None:
    engine = made_engine(tmp_path)
    photos = engine.images(tmp_path / "pics", ["a.png", "b.png"])
    photos[0].with_suffix(".txt").write_text("There before.\n", encoding="utf-8")
    items, _ = find_images([tmp_path / "pics"])
    with Journal() as journal:
        job = journal.create(items, options())
        events = list(journaled(run_job(items, options(), engine), journal, job))
        records = {Path(r.path).name: r.source for r in journal.records(job)}
    assert records == {"a.png": SOURCE_DISK, "b.png": SOURCE_MODEL}
    as_run = {e.item.path.name: e.record.source for e in events if isinstance(e, ItemSkipped | ItemFinished)}
    assert as_run == records  # the command line's export of the run as it goes says the same


def test_an_images_history_answers_undo_revert_and_what_a_recaption_replaced(tmp_path: Path) -> None:
    scripts: dict[str, Script] = {}
    engine = made_engine(tmp_path, scripts)
    [photo] = engine.images(tmp_path / "pics", ["h.png"])
    sidecar = photo.with_suffix(".txt")
    items, _ = find_images([photo])

    def save(journal: Journal, text: str, kind: EditKind = "edit") -> None:
        sidecar.write_text(text + "\n", encoding="utf-8")
        journal.record_edit(photo, sidecar, text, kind)

    def history(journal: Journal) -> CaptionHistory:
        return caption_history(journal, sidecar, sidecar.read_text(encoding="utf-8").rstrip())

    with Journal() as journal:
        caption(journal, engine, items)
        first = caption_history(journal, sidecar, "h.png caption")
        assert [v.kind for v in first.versions] == ["model"] and not first.edited_by_hand
        assert first.previous is None and first.replaced is None

        save(journal, "Edit one.")
        save(journal, "Edit two.")
        now = caption_history(journal, sidecar, "Edit two.")
        assert now.edited_by_hand and now.model_caption == "h.png caption" and now.edited_at
        assert now.previous == "Edit one."
        save(journal, "Edit one.", "undo")  # Undo once: the one before
        assert history(journal).previous == "h.png caption"
        save(journal, "h.png caption", "undo")  # and again: the model's, not back to "Edit two."
        back = caption_history(journal, sidecar, "h.png caption")
        assert not back.edited_by_hand and back.previous is None

        save(journal, "Mine again.")
        scripts["h.png"] = Script(pieces=("Second", " run."))
        caption(journal, engine, items, overwrite=True)  # a re-caption
        again = caption_history(journal, sidecar, "Second run.")
        assert again.replaced == "Mine again." and again.previous == "Mine again."
        assert again.model_caption == "Second run." and not again.edited_by_hand
        assert [v.kind for v in again.versions] == ["model", "edit", "edit", "undo", "undo", "edit", "model"]

        save(journal, "A fix of the second.")
        save(journal, "Second run.", "revert")
        reverted = caption_history(journal, sidecar, "Second run.")
        assert not reverted.edited_by_hand and reverted.previous == "A fix of the second."

        # Changed outside the app: Undo puts back the last caption the app wrote.
        outside = caption_history(journal, sidecar, "Typed in a text editor.")
        assert outside.edited_by_hand and outside.previous == "Second run." and outside.edited_at == ""


def test_an_edit_keeps_the_models_caption_when_its_run_is_forgotten(tmp_path: Path) -> None:
    engine = made_engine(tmp_path)
    [photo] = engine.images(tmp_path / "pics", ["f.png"])
    sidecar = photo.with_suffix(".txt")
    items, _ = find_images([photo])
    with Journal() as journal:
        caption(journal, engine, items)
        sidecar.write_text("Edited.\n", encoding="utf-8")
        journal.record_edit(photo, sidecar, "Edited.", "edit")
        [job] = journal.jobs()
        assert journal.forget(job.id)
        kept = caption_history(journal, sidecar, "Edited.")
    assert kept.model_caption == "f.png caption" and kept.edited_by_hand and kept.previous == "f.png caption"


def test_a_journal_with_no_edit_saved_reads_as_none(tmp_path: Path) -> None:
    with Journal() as journal:  # (no table for edits until the first is saved)
        assert journal.edits([tmp_path / "a.txt"]) == {}
