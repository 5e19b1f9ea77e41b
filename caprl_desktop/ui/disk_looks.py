"""What the listed images already have on disk, looked up for their rows off the GUI thread.

Rows left not captioned may have a caption from before: the row says so ("Captioned earlier") and shows it, and
an edit starts from it instead of saving over it. The row on display is read at once, ahead of longer reads
(``look_now``), and ``reading`` says it is not known yet, so that the window lets no edit start before it is;
``entryChanged`` says when it is. Whether an image holds a description (and whose) is looked up the same way.
Before captions are replaced, what they are is weighed the same way (``ask_replace``). The reading itself is the
core's (``core/jobs/existing.py``), through ``DiskReader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.existing import ExistingCaption, existing_captions
from caprl_desktop.ui.description_text import describe_file
from caprl_desktop.ui.disk_captions import DiskReader, ReplaceQuestion, weigh_replacement
from caprl_desktop.ui.queue_model import QueueModel, State


class DiskLooks(QObject):
    entryChanged = Signal(int)  # a row now shows what is on disk (or the row on display is known to have none)
    skippedFound = Signal(object)  # an image listed to wait for Start has a caption: Start will skip it
    replaceAsked = Signal(object)  # ReplaceQuestion: re-captioning would replace captions (the user is asked)
    replaceAgreed = Signal(object)  # ReplaceQuestion: none has a caption, nothing to ask
    message = Signal(str, int)

    def __init__(self, queue: QueueModel, caption_folder: Callable[[], Path | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._caption_folder = caption_folder
        self.disk = DiskReader(self)  # one read after the other, in the order asked
        self._now = DiskReader(self)  # the row on display, never behind a long read
        self._reading: set[Path] = set()  # rows on display whose caption on disk is being read
        self._read_for_display: Path | None = None  # the last of them

    def reading(self, path: Path) -> bool:
        """The image's caption on disk is being read for display: an edit must wait for it."""
        return path in self._reading

    def look_for_earlier(self, rows: Iterable[int], *, announce: bool = False) -> None:
        """Find the captions on disk of ``rows`` not captioned. ``announce``: say those found with
        ``skippedFound`` (images just listed, which Start will skip)."""
        self._look([self._queue.entry(r).item for r in rows if not self._queue.entry(r).earlier], announce,
                   self.disk)

    def look_now(self, row: int) -> None:
        """The same for the row on display, read once each time it is shown (``reading`` until it is known)."""
        entry = self._queue.entry(row)
        if entry.state == State.IDLE and not entry.earlier and entry.path != self._read_for_display:
            self._read_for_display = entry.path  # (shown again once read: not read again for that)
            self._reading.add(entry.path)
            self._look([entry.item], False, self._now)

    def look_for_description(self, row: int) -> None:
        """Find out whether the row's image holds a description (and whose)."""
        path = self._queue.entry(row).path

        def found(text: str) -> None:
            at = self._queue.row_of(path)
            if at is not None and not self._queue.entry(at).description:
                self._queue.set_description(at, text)
                self.entryChanged.emit(at)

        self.disk.run(lambda: describe_file(path), found)

    def ask_replace(self, items: list[ImageItem] | None = None, paths: list[Path] | None = None) -> None:
        """What re-captioning ``items`` (or the images under ``paths``) would replace: ``replaceAsked`` says how
        many captions (and how many were edited by hand); with none, ``replaceAgreed`` goes on at once."""
        folder = self._caption_folder()
        wanted = [Path(p).absolute() for p in paths or []]

        def work() -> ReplaceQuestion:
            found = items if items is not None else find_images(wanted)[0]
            return weigh_replacement(found, folder, wanted)

        self.disk.run(work, self._weighed)

    def _weighed(self, question: ReplaceQuestion) -> None:
        if not question.items:
            self.message.emit(QCoreApplication.translate("QueueController", "No images found there."), 10000)
        elif question.replaced.captioned:
            self.replaceAsked.emit(question)
        else:
            self.replaceAgreed.emit(question)

    def wait(self) -> None:
        self.disk.wait()
        self._now.wait()

    def _look(self, items: list[ImageItem], announce: bool, reader: DiskReader) -> None:
        if items:
            folder = self._caption_folder()
            reader.run(lambda: existing_captions(items, folder), lambda found: self._found(items, found, announce))

    def _found(self, asked: list[ImageItem], found: dict[Path, ExistingCaption], announce: bool) -> None:
        for item in asked:
            caption = found.get(item.path)
            reading = item.path in self._reading
            self._reading.discard(item.path)
            row = self._queue.row_of(item.path)
            if row is None or self._queue.entry(row).state != State.IDLE:
                continue
            shown = caption is not None and not self._queue.entry(row).earlier
            if caption is not None and shown:
                self._queue.captioned_earlier(row, caption.sidecar, caption.text)
            if shown or reading:
                self.entryChanged.emit(row)  # (the row on display may be edited now)
            if caption is not None and announce:
                self.skippedFound.emit(item.path)
