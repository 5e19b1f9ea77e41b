"""Captions a person changes in the window, kept as the library's, off the GUI thread.

Each caption the panel saves is journaled (``Journal.record_edit``): the record then says "edited by hand" and
no longer credits the model, and the image's history (``core/jobs/history.py``) lets Undo and Revert work after
switching images or a restart. With descriptions on, the description in the image follows the edit (the same
atomic, lossless path as a run's, ``core/jobs/on_disk.py``); with them off, an app description of the caption
before the edit is found out of date, and the panel offers to write it. "Write descriptions into the images"
writes the captions on disk of the selection, or of a folder, a slice at a time, telling the rows as it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.descriptions import DescriptionOutcome
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.existing import same_caption
from caprl_desktop.core.jobs.history import CaptionHistory, caption_history
from caprl_desktop.core.jobs.journal import EditKind, Journal
from caprl_desktop.core.jobs.on_disk import Described, Unrecorded, stale_description, write_descriptions
from caprl_desktop.core.jobs.options import ExistingChoice, MetadataMode
from caprl_desktop.core.jobs.sidecars import plan_sidecars
from caprl_desktop.ui.description_text import describe_outcome
from caprl_desktop.ui.disk_captions import DiskReader
from caprl_desktop.ui.settings import AppSettings

DESCRIBE_SLICE = 40  # images written between two reports of how far a "Write descriptions" has got
KEEP_WAIT_S = 3.0  # the most the window waits on a busy journal to keep the captions a re-caption replaces


@dataclass(frozen=True)
class SavedCaption:
    """A caption the panel saved to its sidecar: typed, or put back from its history."""

    path: Path
    root: Path
    sidecar: Path
    text: str
    kind: EditKind


@dataclass(frozen=True)
class _Edited:
    history: CaptionHistory | None
    described: Described | None  # descriptions on: what became of the description
    unrecorded: str  # why the journal could not keep the edit ("" when it did)


@dataclass
class DescribeTally:
    """How far a "Write descriptions" has got, and what became of the images so far."""

    total: int
    written: int = 0
    kept: int = 0
    without: int = 0
    failed: list[str] = field(default_factory=list)  # the first problem of each image that failed

    @property
    def done(self) -> int:
        return self.written + self.kept + self.without + len(self.failed)

    def add(self, described: Described) -> None:
        outcome = described.outcome
        if outcome is None:
            self.without += 1
        elif outcome.problem:
            self.failed.append(outcome.problem)
        elif outcome.kept_existing:
            self.kept += 1
        else:
            self.written += 1

    def text(self) -> str:
        translate = QCoreApplication.translate
        if self.done < self.total:
            return translate("CaptionEdits", "Writing descriptions into the images… {} / {}").format(
                self.done, self.total)
        parts = [translate("CaptionEdits", "Description written into 1 image") if self.written == 1
                 else translate("CaptionEdits", "Descriptions written into {} images").format(self.written)]
        if self.kept:
            parts.append(translate("CaptionEdits", "1 kept the description someone else wrote") if self.kept == 1
                         else translate("CaptionEdits", "{} kept the description someone else wrote").format(
                             self.kept))
        if self.without:
            parts.append(translate("CaptionEdits", "1 has no caption to write") if self.without == 1
                         else translate("CaptionEdits", "{} have no caption to write").format(self.without))
        if self.failed:
            parts.append(translate("CaptionEdits", "{} failed: {}").format(len(self.failed), self.failed[0]))
        return " · ".join(parts)


class CaptionEdits(QObject):
    historyFound = Signal(object, object)  # image path, CaptionHistory (of the caption shown when it was asked)
    descriptionChanged = Signal(object, str)  # image path, what became of its description, in words
    message = Signal(str, int)  # for the status bar, and for how many ms (0: until the next)

    def __init__(self, caption_folder: Callable[[], Path | None], settings: AppSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._caption_folder = caption_folder
        self._settings = settings
        self._reader = DiskReader(self)  # histories and edits, in the order asked
        self._bulk = DiskReader(self)  # "Write descriptions", never in the way of the row on display
        self._histories: dict[Path, CaptionHistory] = {}
        self._stale: dict[Path, MetadataMode] = {}

    def history(self, path: Path) -> CaptionHistory | None:
        return self._histories.get(path)

    def out_of_date(self, path: Path) -> MetadataMode | None:
        """Where the image's description is the app's, of a caption before an edit (None: it is not)."""
        return self._stale.get(path)

    def look(self, item: ImageItem, current: str, sidecar: Path | None = None) -> None:
        """Read the history of ``item``'s caption (``historyFound``); known already for the same caption, it is
        told again at once."""
        known = self._histories.get(item.path)
        if known is not None and known.current is not None and same_caption(known.current, current):
            self.historyFound.emit(item.path, known)
            return
        folder = self._caption_folder()

        def work() -> CaptionHistory | None:
            where = sidecar or plan_sidecars([item], folder).paths[item.path]
            try:
                with Journal() as journal:
                    return caption_history(journal, where, current)
            except CaprlError:
                return None  # busy or unreadable: no history offered, the caption stands as it is

        self._reader.run(work, lambda found: self._found(item.path, found))

    def _found(self, path: Path, found: CaptionHistory | None) -> None:
        if found is None:
            return
        self._histories[path] = found
        self.historyFound.emit(path, found)

    def saved(self, saved: SavedCaption) -> None:
        """Journal a caption the panel saved; the description follows it (or is found out of date)."""
        folder, mode, existing = self._caption_folder(), self._settings.metadata, self._settings.metadata_existing
        item = ImageItem(saved.path, saved.root)
        if mode != "off":
            self.descriptionChanged.emit(saved.path, QCoreApplication.translate(
                "CaptionEdits", "Writing the description into the image…"))

        def work() -> _Edited:
            try:
                with Journal() as journal:
                    journal.record_edit(saved.path, saved.sidecar, saved.text, saved.kind)
                    history = caption_history(journal, saved.sidecar, saved.text)
                    described = None
                    if mode != "off":
                        [described] = write_descriptions([item], caption_folder=folder, mode=mode, existing=existing,
                                                         journal=journal)
                    return _Edited(history, described, "")
            except CaprlError as exc:
                problem = DescriptionOutcome(saved.path, problem=str(exc)) if mode != "off" else None
                return _Edited(None, Described(item, problem) if problem else None, str(exc))

        def then(edited: _Edited) -> None:
            if edited.unrecorded:
                self.message.emit(QCoreApplication.translate(
                    "CaptionEdits", "The caption is saved; the journal could not record the edit: {}").format(
                    edited.unrecorded), 15000)
            if edited.history is not None:
                self._found(saved.path, edited.history)
            if edited.described is not None:
                self._stale.pop(saved.path, None)
                self.descriptionChanged.emit(saved.path, describe_outcome(edited.described.outcome))
            elif mode == "off":
                self._check_stale(item, saved.text, saved.sidecar)

        self._reader.run(work, then)

    def keep(self, rows: list[Unrecorded]) -> bool:
        """Record the captions a re-caption is about to replace that nothing recorded, in their images' histories
        (one small write, here: the re-caption must not start before it). False, and it is said, when the
        journal cannot take them: then nothing may be replaced."""
        if not rows:
            return True
        try:
            with Journal(busy_timeout=KEEP_WAIT_S) as journal:
                journal.record_edits(rows)
        except CaprlError as exc:
            self.message.emit(QCoreApplication.translate(
                "CaptionEdits", "Nothing was re-captioned: the captions edited by hand could not be kept in their "
                "history ({}). Try again in a moment.").format(exc), 20000)
            return False
        return True

    def _check_stale(self, item: ImageItem, text: str, sidecar: Path) -> None:
        folder = self._caption_folder()

        def then(stale: MetadataMode | None) -> None:
            if stale is None:
                if self._stale.pop(item.path, None) is not None:
                    self.descriptionChanged.emit(item.path, "")
                return
            self._stale[item.path] = stale
            self.descriptionChanged.emit(item.path, QCoreApplication.translate(
                "CaptionEdits", "The description in the image is the caption before this edit"))

        self._reader.run(lambda: stale_description(item, text, folder, sidecar), then)

    def describe(self, items: list[ImageItem] | None = None, folder: Path | None = None, *,
                 mode: MetadataMode | None = None) -> None:
        """Write the captions on disk of ``items`` (or of the images under ``folder``) as their descriptions:
        where Settings says (inside the images unless it says XMP sidecars), keeping or replacing someone else's
        description as it says. ``mode``: write there instead (an out-of-date description, where it is)."""
        where: MetadataMode = mode or ("xmp" if self._settings.metadata == "xmp" else "embed")
        existing: ExistingChoice = self._settings.metadata_existing
        captions = self._caption_folder()
        if items is not None:
            self._describe_all(items, where, existing, captions)
        elif folder is not None:
            self._bulk.run(lambda: find_images([folder])[0],
                           lambda found: self._describe_all(found, where, existing, captions))

    def _describe_all(self, items: list[ImageItem], mode: MetadataMode, existing: ExistingChoice,
                      captions: Path | None) -> None:
        if not items:
            self.message.emit(QCoreApplication.translate("CaptionEdits", "No images found there."), 10000)
            return
        tally = DescribeTally(len(items))
        self.message.emit(tally.text(), 0)
        for chunk in _slices(items, DESCRIBE_SLICE):
            self._describe_later(chunk, mode, existing, captions, tally)

    def _describe_later(self, items: list[ImageItem], mode: MetadataMode, existing: ExistingChoice,
                        captions: Path | None, tally: DescribeTally) -> None:
        self._bulk.run(lambda: _describe_slice(items, mode, existing, captions),
                       lambda done: self._described(done, tally))

    def _described(self, done: list[Described], tally: DescribeTally) -> None:
        for described in done:
            tally.add(described)
            if described.outcome is not None:
                self._stale.pop(described.item.path, None)
                self.descriptionChanged.emit(described.item.path, describe_outcome(described.outcome))
        self.message.emit(tally.text(), 0 if tally.done < tally.total else 30000)

    def wait(self) -> None:
        self._reader.wait()
        self._bulk.wait()


def _slices(items: list[ImageItem], size: int) -> Iterator[list[ImageItem]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _describe_slice(items: list[ImageItem], mode: MetadataMode, existing: ExistingChoice,
                    captions: Path | None) -> list[Described]:
    try:
        with Journal() as journal:
            return list(write_descriptions(items, caption_folder=captions, mode=mode, existing=existing,
                                           journal=journal))
    except CaprlError as exc:  # no journal to keep what a replace would replace: nothing is written
        return [Described(item, DescriptionOutcome(item.path, problem=str(exc))) for item in items]
