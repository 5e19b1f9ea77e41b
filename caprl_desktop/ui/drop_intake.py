"""Dropped paths into the window's list: scanned on a pool thread, then listed a slice at a time.

A folder of 50,000 images must never hold up the event loop, so what a scan found is listed ``LIST_SLICE``
rows per turn of it. Scans end in the order they were asked, each becomes one ``PendingDrop``, and drops are
listed one after the other; the queue starts nothing while one is being listed (``listing``), so one drop is
one run. What a drop added, and what could not be looked into, is said once it is all listed.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.existing import existing_captions
from caprl_desktop.ui.disk_captions import DiskReader
from caprl_desktop.ui.drop_report import DropReport, report_text
from caprl_desktop.ui.queue_model import QueueModel, State
from caprl_desktop.ui.scanner import Scanner, ScanResult

LIST_SLICE = 2000  # images added to the list per turn of the event loop (about 10 ms)
ADDED_MESSAGE_MS = 60_000  # what a drop added stays this long (the status bar's model line is under it)


@dataclass
class PendingDrop:
    """What a scan found and is not listed yet (the rest of it, once slices are listed)."""

    items: list[ImageItem]
    overwrite: bool  # re-caption those with a caption
    start: bool  # queued to caption, else listed to wait for Start
    report: DropReport  # what the drop added, said once it is all listed


class DropIntake(QObject):
    message = Signal(str, int)  # for the status bar, and for how many ms
    scanningChanged = Signal(bool)
    sliceListed = Signal(int, int, bool)  # the first row a slice added, how many, whether they were queued
    dropListed = Signal(int)  # the first row a drop added, once all of it is listed
    listed = Signal(bool)  # a slice is listed: True when more follow at the next turn of the event loop

    def __init__(self, queue: QueueModel, disk: DiskReader, caption_folder: Callable[[], Path | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._disk = disk
        self._caption_folder = caption_folder
        self._asked: collections.deque[list[Path]] = collections.deque()  # the paths of each scan, in order
        self._pending: collections.deque[PendingDrop] = collections.deque()
        self.scanning = False
        self.scanner = Scanner(self)
        self.scanner.found.connect(lambda result: self.take(result, self._asked.popleft() if self._asked else []))
        self.scanner.busyChanged.connect(self._scanning)

    @property
    def listing(self) -> bool:
        """Images found are still being added to the list."""
        return bool(self._pending)

    def scan(self, paths: list[Path], *, overwrite: bool, start: bool) -> None:
        """Find the images under ``paths`` (absolute) on a pool thread, then list them."""
        self._asked.append(paths)  # scans end in the order asked: ``found`` takes them in that order
        self.scanner.scan(paths, overwrite=overwrite, start=start)

    def take(self, result: ScanResult, given: list[Path]) -> None:
        """List images found under ``given`` (by a scan, or by a re-caption's question)."""
        report = DropReport(given, result.missing, result.items, unread=list(result.unread))
        if result.denied:
            self._say_denied(list(result.denied))
        if not result.items:
            # After the denied ones' own message only if other folders could not be read either: named too.
            if not result.denied or len(result.unread) > len(result.denied):
                self.message.emit(report_text(report), ADDED_MESSAGE_MS)
            return
        self._pending.append(PendingDrop(result.items, result.overwrite, result.start, report))
        if len(self._pending) == 1:
            self._list_some()

    def wait(self) -> None:
        self.scanner.wait()

    def _scanning(self, busy: bool) -> None:
        self.scanning = busy
        self.scanningChanged.emit(busy)

    def _say_denied(self, denied: list[Path]) -> None:
        names = ", ".join(str(p) for p in denied[:3]) + (" …" if len(denied) > 3 else "")
        # (Translated as the queue's, where these sentences were first said.)
        hint = QCoreApplication.translate(
            "QueueController", " On macOS, allow CapRL Desktop under System Settings → Privacy & Security → Files "
            "and Folders (or Full Disk Access).") if sys.platform == "darwin" else ""
        denied_text = QCoreApplication.translate("QueueController", "Could not look inside {}: permission denied.")
        self.message.emit(denied_text.format(names) + hint, ADDED_MESSAGE_MS)

    def _list_some(self) -> None:
        drop = self._pending[0]
        chunk, drop.items = drop.items[:LIST_SLICE], drop.items[LIST_SLICE:]
        if not drop.items:
            self._pending.popleft()
        first = len(self._queue.entries)
        added = self._queue.add(chunk, overwrite=drop.overwrite, state=State.QUEUED if drop.start else State.IDLE)
        drop.report.listed(first, [entry.item for entry in self._queue.entries[first:first + added]])
        self.sliceListed.emit(first, added, drop.start)
        if not drop.items:
            self._drop_listed(drop.report)
        if self._pending:
            QTimer.singleShot(0, self._list_some)
        self.listed.emit(bool(self._pending))

    def _drop_listed(self, drop: DropReport) -> None:
        """Say what a drop added, and show where; how many have a caption already follows from a pool thread."""
        if drop.first_row is not None:
            self.dropListed.emit(drop.first_row)
        self.message.emit(report_text(drop), ADDED_MESSAGE_MS)
        if drop.new_items:
            new, folder = drop.new_items, self._caption_folder()

            def counted(captioned: int) -> None:
                if captioned:
                    self.message.emit(report_text(drop, captioned), ADDED_MESSAGE_MS)

            self._disk.run(lambda: len(existing_captions(new, folder)), counted)
