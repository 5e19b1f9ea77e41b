"""The captions in the folders as the user's library: each with what the journal knows of it, for exports and
for descriptions written from them afterwards.

A caption on disk is what counts, whichever session or run made it. Its record is the run's that wrote it
when the journal has one and the text is still the model's (language, prompt, model, provenance); "edited by
hand" when the text changed since, with when (the window's saved edit, else the file's modification time) and
the model's words kept beside it (``CaptionRecord.model_caption``; the provenance describes those); "from
disk" when nothing recorded where it came from. The window exports the images it lists this way, and writes
descriptions from them ("Write descriptions into the images", ``caprl-desktop metadata write``).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import SOURCE_DISK, SOURCE_EDITED, SOURCE_MODEL, CaptionRecord
from caprl_desktop.core.jobs.descriptions import DescriptionOutcome, write_caption_description, xmp_sidecar_of
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.existing import ExistingCaption, existing_captions, same_caption
from caprl_desktop.core.jobs.journal import CaptionEdit, EditKind, Journal
from caprl_desktop.core.jobs.options import ExistingChoice, MetadataMode
from caprl_desktop.core.metadata.fields import can_embed, clean_for_xml
from caprl_desktop.core.quality.guards import language_share


@dataclass(frozen=True)
class DiskCaption:
    sidecar: Path
    record: CaptionRecord  # the caption as on disk; its source says whose words they are


def caption_record(item: ImageItem, caption: ExistingCaption, model: CaptionRecord | None,
                   edits: Sequence[CaptionEdit] = ()) -> CaptionRecord:
    """``caption``'s record: ``model`` (the last caption the app's run wrote to its sidecar) where it is still
    that; edited by hand where it is not; from disk where nothing is known. ``edits``: those saved in the window
    to that sidecar, oldest first."""
    text = caption.text
    if model is not None and same_caption(model.caption, text):
        return dataclasses.replace(model, file_name=item.file_name, path=str(item.path), caption=text, error="",
                                   source=SOURCE_MODEL, edited_at="", model_caption="")
    saved = [edit.written_at for edit in edits if same_caption(edit.caption, text)]
    if model is not None:
        when = saved[-1] if saved else modified_time(caption.sidecar)
        return dataclasses.replace(model, file_name=item.file_name, path=str(item.path), caption=text, error="",
                                   source=SOURCE_EDITED, edited_at=when, model_caption=model.caption)
    bare = CaptionRecord(item.file_name, text, "", "", "", None, None, "", str(item.path))
    if saved:  # written by hand in the window, for an image the model never captioned
        return dataclasses.replace(bare, source=SOURCE_EDITED, edited_at=saved[-1])
    return dataclasses.replace(bare, source=SOURCE_DISK)


def modified_time(path: Path) -> str:
    """When ``path`` was last written, as an ISO time ("" when it cannot be read)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return ""
    return datetime.datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def captions_on_disk(items: Iterable[ImageItem], caption_folder: Path | None, journal: Journal | None,
                     session: Mapping[Path, CaptionRecord] | None = None) -> dict[Path, DiskCaption]:
    """The caption each image has on disk with its record, by image path (images without one are absent).

    ``journal`` None: nothing is known (every caption is "from disk"). ``session``: the records of captions made
    in this window session, by image path, which stand for the journal's should it have missed them (busy).
    Reads a small file per image and the journal: a pool thread's work for many."""
    chosen = {item.path: item for item in items}
    captions = existing_captions(chosen.values(), caption_folder)
    sidecars = [caption.sidecar.absolute() for caption in captions.values()]
    written = journal.written(sidecars) if journal is not None else {}
    edits = journal.edits(sidecars) if journal is not None else {}
    found: dict[Path, DiskCaption] = {}
    for image, caption in captions.items():
        key = caption.sidecar.absolute()
        runs = written.get(key)
        model = (session or {}).get(image) or (runs[-1].record if runs else None)
        record = caption_record(chosen[image], caption, model, edits.get(key, ()))
        found[image] = DiskCaption(caption.sidecar, record)
    return found


def known_captions(items: Iterable[ImageItem], caption_folder: Path | None,
                   session: Mapping[Path, CaptionRecord] | None = None) -> dict[Path, DiskCaption]:
    """``captions_on_disk`` with the app's journal; a journal that cannot be read (busy, damaged) knows nothing,
    and every caption is then "from disk" unless this session made it."""
    chosen = list(items)
    try:
        with Journal() as journal:
            return captions_on_disk(chosen, caption_folder, journal, session)
    except CaprlError:
        return captions_on_disk(chosen, caption_folder, None, session)


def caption_language(record: CaptionRecord) -> str:
    """The caption's language: its run's, else read from its letters (kana and kanji against Latin ones)."""
    if record.language in ("ja", "en"):
        return record.language
    share = language_share(record.caption)
    return "ja" if share.japanese > share.latin else "en"


def describe(item: ImageItem, found: DiskCaption, *, mode: MetadataMode, existing: ExistingChoice,
             caption_folder: Path | None) -> DescriptionOutcome | None:
    """Write ``found``'s caption as ``item``'s description (see ``write_caption_description``)."""
    record = found.record
    provenance = record.provenance.for_photos() if record.provenance is not None else None
    return write_caption_description(
        item, record.caption, caption_language(record), provenance, mode=mode, existing=existing,
        text_sidecar=found.sidecar, caption_folder=caption_folder, source=record.source, edited_at=record.edited_at)


@dataclass(frozen=True)
class Described:
    item: ImageItem
    outcome: DescriptionOutcome | None  # None: the image has no caption on disk, so nothing was written
    unrecorded: str = ""  # a human description would have been replaced but the journal could not keep it: why


def write_descriptions(items: Sequence[ImageItem], *, caption_folder: Path | None, mode: MetadataMode,
                       existing: ExistingChoice, journal: Journal) -> Iterator[Described]:
    """Write each image's caption on disk as its description, one image at a time, in order.

    A human description replaced (``existing="replace"``) is journaled at once, as a run's are, so that
    ``caprl-desktop metadata restore`` puts it back; when the journal cannot take it, it is put back at once
    (``unrecorded`` says why), never left replaced with no way back."""
    if mode == "off":
        raise ValueError("descriptions are written inside the images (embed) or in XMP sidecars (xmp)")
    found = captions_on_disk(items, caption_folder, journal)
    for item in items:
        disk = found.get(item.path)
        if disk is None:
            yield Described(item, None)
            continue
        outcome = describe(item, disk, mode=mode, existing=existing, caption_folder=caption_folder)
        if outcome is not None and outcome.previous is not None and outcome.written is not None:
            try:
                journal.record_replaced(outcome.written, outcome.previous)
            except CaprlError as exc:
                yield Described(item, _put_back(item, outcome), str(exc))
                continue
        yield Described(item, outcome)


def _put_back(item: ImageItem, outcome: DescriptionOutcome) -> DescriptionOutcome:
    """Undo a description that replaced a human one the journal could not record."""
    from caprl_desktop.core.metadata import restore_description  # (Exiv2: when first needed)

    assert outcome.written is not None
    try:
        restore_description(outcome.written, outcome.previous)
    except (CaprlError, OSError) as exc:
        return dataclasses.replace(outcome, problem=f"the description replaced cannot be recorded nor put back: {exc}")
    return DescriptionOutcome(item.path, kept_existing=True)


def stale_description(item: ImageItem, caption: str, caption_folder: Path | None,
                      text_sidecar: Path | None = None) -> MetadataMode | None:
    """Where the app's own description of ``item`` is another caption than ``caption`` (one written before an
    edit, with descriptions turned off since): "embed" inside the image, "xmp" in its XMP sidecar; None when
    neither is (a description someone else wrote is theirs, never out of date)."""
    from caprl_desktop.core.metadata import read_description, read_xmp_sidecar  # (Exiv2: when first needed)

    wanted = clean_for_xml(caption)
    try:
        inside = read_description(item.path) if can_embed(item.path) else None
    except (CaprlError, OSError):
        inside = None
    if inside is not None and inside.app_written and not same_caption(inside.text, wanted):
        return "embed"
    try:
        beside = read_xmp_sidecar(xmp_sidecar_of(item, caption_folder, text_sidecar))
    except (CaprlError, OSError):
        beside = None
    if beside is not None and beside.app_written and not same_caption(beside.text, wanted):
        return "xmp"
    return None


Unrecorded = tuple[Path, Path, str, EditKind, str]  # image, sidecar, caption, "disk", when: for ``record_edits``


def unrecorded(captions: Mapping[Path, ExistingCaption], recorded: Mapping[Path, Sequence[CaptionEdit]],
               ) -> list[Unrecorded]:
    """The captions of ``captions`` (a person may have worked on them) that nothing recorded: written by hand or
    by another program, or edited outside the app; as rows for ``Journal.record_edits``. Recorded before a
    re-caption replaces them, they stay in their images' histories, for Undo. ``recorded``: the journal's edits
    by sidecar (``Journal.edits``): a caption saved in the window is recorded already."""
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    rows: list[Unrecorded] = []
    for image, caption in captions.items():
        known = recorded.get(caption.sidecar.absolute())
        if not (known and same_caption(known[-1].caption, caption.text)):
            rows.append((image, caption.sidecar, caption.text, "disk", modified_time(caption.sidecar) or now))
    return rows
