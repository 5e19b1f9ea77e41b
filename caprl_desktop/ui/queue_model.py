"""The image list: one row per image with its state, caption and thumbnail (thumbnails made off the GUI thread)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPixmap

from caprl_desktop.core.engine.reports import CaptionStats
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.discovery import ImageItem

THUMB_SIZE = 56
StateRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class State(enum.Enum):
    QUEUED = "queued"
    WAITING = "waiting"  # handed to the engine, not started yet
    CAPTIONING = "captioning"
    DONE = "done"
    FAILED = "failed"
    IDLE = "idle"  # listed, not queued (e.g. after cancel)


@dataclass
class Entry:
    item: ImageItem
    state: State = State.QUEUED
    caption: str = ""
    error: str = ""
    stats: CaptionStats | None = None
    sidecar: Path | None = None
    overwrite: bool = False
    tokens: int = 0
    record: CaptionRecord | None = None  # the job's record (language, prompt, model, timings), for exports
    unsaved: bool = False  # the caption was made but its sidecar could not be written: save it, do not redo it
    job_id: int | None = None  # still to caption in this recorded run: captioning it resumes that run

    @property
    def path(self) -> Path:
        return self.item.path


class _ThumbnailSignals(QObject):
    done = Signal(str, QImage)


class _ThumbnailTask(QRunnable):
    def __init__(self, path: Path, size: int, signals: _ThumbnailSignals) -> None:
        super().__init__()
        self._path = path
        self._size = size
        self._signals = signals

    def run(self) -> None:
        self._signals.done.emit(str(self._path), read_thumbnail(self._path, self._size))


def read_thumbnail(path: Path, size: int) -> QImage:
    """Qt's own decoders, scaled while decoding; a null image for anything they cannot read."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation: phone photos upright
    original = reader.size()
    if original.isValid() and (original.width() > size or original.height() > size):
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.width() > size or image.height() > size:
        # The header's size was not known up front (a GIF whose screen size lies, found by fuzzing):
        # scale now, or tens of thousands of listed images would keep full-size pixels.
        image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return image


class ImageLoader(QObject):
    """Loads scaled images on a thread pool; caches them per (path, size)."""

    loaded = Signal(str, int)  # path, size

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._cache: dict[tuple[str, int], QPixmap] = {}
        self._pending: set[tuple[str, int]] = set()
        self._signals: dict[int, _ThumbnailSignals] = {}

    def get(self, path: Path, size: int) -> QPixmap | None:
        key = (str(path), size)
        pixmap = self._cache.get(key)
        if pixmap is None and key not in self._pending:
            self._pending.add(key)
            signals = self._signals.get(size)
            if signals is None:
                signals = self._signals[size] = _ThumbnailSignals(self)
                signals.done.connect(lambda p, img, s=size: self._done(p, s, img))
            self._pool.start(_ThumbnailTask(path, size, signals))
        return pixmap

    def _done(self, path: str, size: int, image: QImage) -> None:
        self._pending.discard((path, size))
        self._cache[(path, size)] = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        self.loaded.emit(path, size)

    def wait(self) -> None:
        self._pool.waitForDone()


class QueueModel(QAbstractListModel):
    def __init__(self, loader: ImageLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []
        self._rows: dict[Path, int] = {}
        self._loader = loader
        loader.loaded.connect(self._thumbnail_loaded)

    # --- Qt model -----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's names)
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{entry.item.file_name}\n{self.state_text(entry)}"
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._loader.get(entry.path, THUMB_SIZE)
            return QIcon(pixmap) if pixmap is not None and not pixmap.isNull() else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.path}\n{entry.error}" if entry.error else str(entry.path)
        if role == Qt.ItemDataRole.ForegroundRole and entry.state == State.FAILED:
            return QColor("#c0392b")
        if role == StateRole:
            return entry.state.value
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(0, THUMB_SIZE + 8)
        return None

    def state_text(self, entry: Entry) -> str:
        if entry.state == State.FAILED:
            return self.tr("Failed: {}").format(entry.error)
        if entry.state == State.CAPTIONING:
            return self.tr("Captioning… {} tokens").format(entry.tokens)
        if entry.state == State.DONE:
            return self.tr("Done")
        if entry.state == State.WAITING:
            return self.tr("Up next")
        if entry.state == State.IDLE:
            return self.tr("Not captioned")
        return self.tr("Queued")

    # --- entries ------------------------------------------------------------------------------

    def add(self, items: list[ImageItem], *, overwrite: bool = False) -> int:
        """Append images not listed yet (queued); re-queue listed ones when ``overwrite``. Returns new rows."""
        new: list[ImageItem] = []
        fresh: set[Path] = set()
        for item in items:  # one pass: hashing a Path is the cost with tens of thousands of images
            path = item.path
            row = self._rows.get(path)
            if row is None:
                if path not in fresh:
                    fresh.add(path)
                    new.append(item)
            elif overwrite and self.entries[row].state not in (State.CAPTIONING, State.WAITING):
                self.update(row, state=State.QUEUED, overwrite=True, error="", job_id=None, unsaved=False)
        if new:
            first = len(self.entries)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, item in enumerate(new):
                self._rows[item.path] = first + offset
                self.entries.append(Entry(item, overwrite=overwrite))
            self.endInsertRows()
        return len(new)

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(path)

    def entry(self, row: int) -> Entry:
        return self.entries[row]

    def update(self, row: int, **changes: object) -> None:
        entry = self.entries[row]
        for key, value in changes.items():
            setattr(entry, key, value)
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.entries[row]
            self.endRemoveRows()
        self._rows = {e.path: i for i, e in enumerate(self.entries)}

    def in_state(self, *states: State) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.state in states]

    def _thumbnail_loaded(self, path: str, size: int) -> None:
        row = self._rows.get(Path(path))
        if row is not None and size == THUMB_SIZE:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
