"""Finding the images under dropped files and folders, on a pool thread (a folder of 50,000 must not freeze)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from caprl_desktop.core.jobs.discovery import ImageItem, UnreadFolder, find_images


@dataclass(frozen=True)
class ScanResult:
    items: list[ImageItem]
    missing: list[Path]
    overwrite: bool
    start: bool = True  # caption them once listed; False: they wait for Start
    denied: tuple[Path, ...] = ()  # folders that could not be read (permissions, macOS privacy)
    unread: tuple[UnreadFolder, ...] = ()  # every folder that could not be read, or not wholly, and why


class _Signals(QObject):
    # One plain object per signal: a bool argument queued from a pool thread corrupted a refcount in
    # PySide6 6.12 ("Fatal Python error: bool_dealloc" at exit).
    found = Signal(object)


class _ScanTask(QRunnable):
    def __init__(self, paths: list[Path], overwrite: bool, start: bool, signals: _Signals) -> None:
        super().__init__()
        self._paths = paths
        self._overwrite = overwrite
        self._start = start
        self._signals = signals

    def run(self) -> None:
        denied: list[Path] = []
        unread: list[UnreadFolder] = []
        items, missing = find_images(self._paths, denied=denied, unread=unread)
        self._signals.found.emit(ScanResult(items, missing, self._overwrite, self._start, tuple(denied),
                                            tuple(unread)))


class Scanner(QObject):
    found = Signal(object)  # ScanResult
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # scans finish in the order they were asked for
        self._signals = _Signals(self)
        self._signals.found.connect(self._done)
        self._running = 0

    def scan(self, paths: list[Path], *, overwrite: bool = False, start: bool = True) -> None:
        self._running += 1
        self.busyChanged.emit(True)
        self._pool.start(_ScanTask(paths, overwrite, start, self._signals))

    def _done(self, result: ScanResult) -> None:
        self._running -= 1
        self.found.emit(result)
        if not self._running:
            self.busyChanged.emit(False)

    def wait(self) -> None:
        self._pool.waitForDone()
