"""A run's events on the window's rows: each lands on its own image's row, found by path.

A caption streams into its row, a finished one is shown with where it was saved (or fails with its reason,
keeping a caption made but not saved), a skipped one shows the caption it had; the go's count and pace
(``GoProgress``) are told as they happen. A run refused (another holds the folder) or ended by an unexpected
error fails what it had not finished, with the reason.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from caprl_desktop.core.errors import Reason
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import EngineRestarted, ItemFinished, ItemSkipped, ItemStarted, ItemText, JobPlanned
from caprl_desktop.ui.description_text import describe_outcome
from caprl_desktop.ui.go_progress import GoProgress
from caprl_desktop.ui.queue_model import QueueModel, State
from caprl_desktop.ui.reasons import reason_text


class RunRows(QObject):
    entryChanged = Signal(int)  # a row's state or caption changed as a whole (not a streamed piece)
    captionStreamed = Signal(object, str, int)  # image path, the piece, tokens so far
    speedChanged = Signal(float)  # tokens per second of the captions in flight together
    message = Signal(str, int)

    def __init__(self, queue: QueueModel, go: GoProgress, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._go = go

    def job_started(self, job_id: int, paths: list[Path]) -> None:
        rows = (self._queue.row_of(p) for p in paths)
        self._queue.set_job([r for r in rows if r is not None], job_id)

    def show(self, event: object) -> None:
        row = self._queue.row_of(event.item.path) if isinstance(event, ItemStarted | ItemText | ItemSkipped) else None
        if isinstance(event, ItemStarted) and row is not None:
            self._go.caption_started(event.item.path)
            self._queue.begin(row)
            self.entryChanged.emit(row)
        elif isinstance(event, ItemText) and row is not None:
            self._queue.append_text(row, event.text)
            self.captionStreamed.emit(event.item.path, event.text, self._queue.entry(row).tokens)
            self._go.token(event.item.path)
            speed = self._go.speed(self._tokens_of)
            if speed > 0:
                self.speedChanged.emit(speed)
        elif isinstance(event, ItemFinished):
            self._finished(event)
        elif isinstance(event, ItemSkipped) and row is not None:
            self._queue.finish(row, event.record, sidecar=event.sidecar, stats=None, earlier=True)
            self._go.skipped_one(event.item.path)
            self.entryChanged.emit(row)
        elif isinstance(event, EngineRestarted):
            self.message.emit(QCoreApplication.translate("QueueController",
                                                         "The engine crashed and was restarted: {}").format(
                event.reason), 15000)
        elif isinstance(event, JobPlanned):
            for clash in event.clashes:
                self.message.emit(clash.describe(), 10000)

    def refuse(self, items: list[ImageItem], why: Reason) -> None:
        """Another run holds their folder: they fail with the reason (Caption selected tries again)."""
        for item in items:
            row = self._queue.row_of(item.path)
            if row is not None:
                self._queue.refuse(row, why)
                self.entryChanged.emit(row)
        self.message.emit(reason_text(why), 20000)

    def fail_unfinished(self, why: Reason) -> None:
        """The run ended on an unexpected error: what it had not finished fails with the reason, not re-queued
        (the next try would likely fail the same way; Start or Caption selected tries again)."""
        for row in self._queue.in_state(State.WAITING, State.CAPTIONING):
            self._queue.refuse(row, why)
            self.entryChanged.emit(row)
        self.message.emit(reason_text(why), 30000)

    def _tokens_of(self, path: Path) -> int | None:
        row = self._queue.row_of(path)
        return None if row is None else self._queue.entry(row).tokens

    def _finished(self, event: ItemFinished) -> None:
        self._go.caption_ended(event.item.path)
        row = self._queue.row_of(event.item.path)
        if row is None:
            return
        self._go.finished(failed=bool(event.record.error))
        if event.record.error:
            self._queue.fail(row, event.reason or event.record.error, record=event.record, unsaved=event.unsaved)
        else:
            self._queue.finish(row, event.record, sidecar=event.sidecar, stats=event.stats,
                               description=describe_outcome(event.description))
            if event.stats is not None and not self._go.captions_in_flight():
                self.speedChanged.emit(event.stats.tokens_per_second)
        self.entryChanged.emit(row)
