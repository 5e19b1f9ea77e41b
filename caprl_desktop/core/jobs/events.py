"""The events a job yields, in order: planned, skipped ones, then per image started / text / finished, and the end.

Plain frozen dataclasses: the command line prints them, the window shows them, the journal records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.reports import CaptionStats
from caprl_desktop.core.errors import Reason
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.descriptions import DescriptionOutcome
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.sidecars import SidecarClash
from caprl_desktop.core.quality.watch import MarkKind, marks_summary


@dataclass(frozen=True)
class JobPlanned:
    total: int
    to_caption: int
    clashes: tuple[SidecarClash, ...]


@dataclass(frozen=True)
class ItemSkipped:
    item: ImageItem
    record: CaptionRecord  # carries the existing sidecar's caption
    sidecar: Path  # where that caption is, for an editor to save back to


@dataclass(frozen=True)
class ItemStarted:
    index: int
    item: ImageItem


@dataclass(frozen=True)
class ItemText:
    index: int
    item: ImageItem
    text: str


@dataclass(frozen=True)
class ItemFinished:
    index: int
    item: ImageItem
    record: CaptionRecord
    stats: CaptionStats | None
    sidecar: Path | None
    save_error: WriteError | None = None  # the caption was made (it is in the record), its sidecar not written
    others_running: int = 0  # captions of this job still in flight beside this one
    description: DescriptionOutcome | None = None  # the caption as the image's description (``--metadata``)
    marks: tuple[MarkKind, ...] = ()  # what the guards found (``core/quality/watch.py``); in words in the provenance
    reason: Reason | None = None  # why it failed, for a face to word (``record.error`` is its English sentence)

    @property
    def ok(self) -> bool:
        return not self.record.error

    @property
    def unsaved(self) -> bool:
        """Made, and to be saved once the folder or disk allows (a resume saves it, not makes it again).

        A save that failed for a reason of this file alone (a name too long for the disk) would fail the
        same way again: that image is failed, its caption kept in the record."""
        return self.save_error is not None and self.save_error.problem != "other"


@dataclass(frozen=True)
class EngineRestarted:
    reason: str


@dataclass(frozen=True)
class JobFinished:
    captioned: int
    failed: int
    skipped: int
    cancelled: bool
    cannot_save: WriteError | None = None  # the job stopped: a folder is read-only or the disk is full
    marks: tuple[tuple[MarkKind, int], ...] = ()  # captions saved with each mark, in ``MARK_KINDS`` order

    @property
    def complete(self) -> bool:
        return not self.cancelled and self.cannot_save is None

    def marked(self, kind: MarkKind) -> int:
        return dict(self.marks).get(kind, 0)

    @property
    def marks_summary(self) -> str:
        """"3 repetition cut · 1 wrong language"; "" when no caption was marked."""
        return marks_summary(dict(self.marks))


JobEvent = JobPlanned | ItemSkipped | ItemStarted | ItemText | ItemFinished | EngineRestarted | JobFinished
