"""Runs a killed window or command left unfinished, offered to the window to resume, and taken up into its list.

The offer is read from the job journal when the window opens (a small read on the GUI thread). Taken up, each
run's images left are queued as rows of that run, with any caption it made but could not save, so that the
run goes on as the same job with its own choices (``RunRequest.to_open``). What the run finished before it
stopped is listed ahead of them with its records, so the list and its export are the whole run, as
``caprl-desktop jobs resume N --csv`` exports it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.journal import JobSummary, Journal
from caprl_desktop.ui.queue_model import QueueModel, State


class ResumeOffer(QObject):
    resumeOffered = Signal(object)  # list[JobSummary] that can be resumed; [] withdraws the offer
    journalSetAside = Signal(str)  # the journal was damaged and set aside on opening: the core's sentence
    message = Signal(str, int)

    def __init__(self, queue: QueueModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self.runs: list[JobSummary] = []

    def offer(self) -> list[JobSummary]:
        """The runs with images left uncaptioned, offered (``resumeOffered``)."""
        try:
            with Journal() as journal:
                self._said_set_aside(journal)
                self.runs = [j for j in journal.jobs() if j.resumable]
        except CaprlError:
            self.runs = []
        self.resumeOffered.emit(list(self.runs))
        return list(self.runs)

    def take(self) -> int:
        """Queue the images the runs on offer left, as rows of their runs; the offer is withdrawn. Returns the
        rows added."""
        added = 0
        try:
            with Journal() as journal:
                self._said_set_aside(journal)
                for job in self.runs:
                    added += self._list_finished(journal.finished(job.id))
                    items = journal.pending(job.id)
                    made = journal.made(job.id)
                    overwrite = job.options is not None and job.options.overwrite  # (a resumable run has them)
                    added += self._queue.add(items, overwrite=overwrite)
                    for item in items:
                        row = self._queue.row_of(item.path)
                        if row is not None and self._queue.entry(row).state == State.QUEUED:
                            self._queue.resume(row, job.id, made.get(item.path))
        except CaprlError as exc:
            self.message.emit(str(exc), 15000)
        self.runs = []
        self.resumeOffered.emit([])
        return added

    def _list_finished(self, finished: list[tuple[ImageItem, CaptionRecord]]) -> int:
        """List the images a run finished (captioned, failed, skipped for their caption) as it left them; one
        listed already stays as it is."""
        new = [(item, record) for item, record in finished if self._queue.row_of(item.path) is None]
        first = len(self._queue.entries)
        added = self._queue.add([item for item, _ in new], state=State.DONE)
        for row, (_, record) in enumerate(new, start=first):
            if record.error:
                self._queue.fail(row, record.error, record=record)
            else:
                self._queue.finish(row, record, sidecar=None, stats=None, earlier=True)
        return added

    def _said_set_aside(self, journal: Journal) -> None:
        if journal.set_aside_note:
            self.journalSetAside.emit(journal.set_aside_note)
