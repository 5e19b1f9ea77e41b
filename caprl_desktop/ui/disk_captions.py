"""Captions already on disk, read for the window on a pool thread: which listed images were captioned earlier,
and what a re-caption would replace. Thousands of small files are never read on the GUI thread.

``DiskReader`` runs one piece of such work at a time, in order, and hands each result to its callback on the
GUI thread; the work itself is the core's (``core/jobs/existing.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.existing import Replaced, existing_captions, weigh
from caprl_desktop.core.jobs.journal import CaptionEdit, Journal
from caprl_desktop.core.jobs.on_disk import Unrecorded, unrecorded

T = TypeVar("T")


@dataclass(frozen=True)
class ReplaceQuestion:
    """Re-captioning ``items`` would replace the captions some of them have: the user is asked first."""

    items: list[ImageItem]
    replaced: Replaced
    given: list[Path]  # the folders asked for, when the images were found under them
    # The captions a person may have worked on that nothing recorded yet: recorded in their images' histories
    # before they are replaced (``core/jobs/on_disk.py`` ``unrecorded``).
    unrecorded: list[Unrecorded] = field(default_factory=list)


def weigh_replacement(items: list[ImageItem], caption_folder: Path | None, given: list[Path] | None = None,
                      ) -> ReplaceQuestion:
    """What re-captioning ``items`` would replace (reads their sidecars and the journal: a pool thread's work)."""
    captions = existing_captions(items, caption_folder)
    written: dict[Path, str] = {}
    edits: dict[Path, list[CaptionEdit]] = {}
    if captions:
        try:
            with Journal() as journal:
                written = journal.written_captions(c.sidecar for c in captions.values())
                edits = journal.edits(c.sidecar.absolute() for c in captions.values())
        except CaprlError:
            pass  # busy or unreadable: none counts as the app's, so the question errs on the careful side
    replaced = weigh(captions, written)
    return ReplaceQuestion(items, replaced, given or [],
                           unrecorded({p: captions[p] for p in replaced.by_hand}, edits))


class _Signals(QObject):
    done = Signal(object)  # (number, result or the exception raised)


class _Task(QRunnable):
    def __init__(self, number: int, work: Callable[[], object], signals: _Signals) -> None:
        super().__init__()
        self._number = number
        self._work = work
        self._signals = signals

    def run(self) -> None:
        try:
            result: object = self._work()
        except Exception as exc:  # noqa: BLE001 - raised again on the GUI thread (the crash path)
            result = exc
        self._signals.done.emit((self._number, result))


class DiskReader(QObject):
    """Runs file work on one pool thread, in the order asked, each result to its callback on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._waiting: dict[int, Callable[[Any], None]] = {}
        self._numbers = itertools.count()

    def run(self, work: Callable[[], T], then: Callable[[T], None]) -> None:
        number = next(self._numbers)
        self._waiting[number] = then
        self._pool.start(_Task(number, work, self._signals))

    def _done(self, done: tuple[int, object]) -> None:
        number, result = done
        then = self._waiting.pop(number)
        if isinstance(result, Exception):
            raise result
        then(result)

    def wait(self) -> None:
        self._pool.waitForDone()
