"""The image list: one row per image with its state, caption and thumbnail (thumbnails made off the GUI thread).

Rows change only through ``QueueModel``'s typed methods (``begin``, ``append_text``, ``finish``, ``fail``, ...),
so a misspelt field is a type error rather than a silent no-op, and the model keeps a count per state that
progress reads without walking tens of thousands of rows on every token.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import stat
from collections.abc import Iterable
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
from PySide6.QtGui import (
    QGuiApplication,
    QIcon,
    QImage,
    QImageIOHandler,
    QImageReader,
    QPainter,
    QPalette,
    QPixmap,
)

from caprl_desktop.core.engine.reports import CaptionStats
from caprl_desktop.core.errors import CaprlError, Reason, reason_of
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.images.formats import QT_CANNOT_READ
from caprl_desktop.core.images.loading import MAX_FILE_BYTES, load_image
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.ui.contrast import error_colour
from caprl_desktop.ui.reasons import reason_text
from caprl_desktop.ui.row_names import RowNames

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


@dataclass(slots=True)
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
    earlier: bool = False  # ``caption`` is the one found in its sidecar, not made in this session
    description: str = ""  # where its description went in the image's metadata (this session), in words
    paused: bool = False  # left by a run the user paused: Start goes on with it (shown "Paused", not idle)
    reason: Reason | None = None  # why it failed, worded in the interface's language (``error`` is the core's English)

    @property
    def path(self) -> Path:
        return self.item.path


def cut_off(entry: Entry) -> bool:
    """The caption stopped at the token limit (or a full context), not where the model ended it."""
    provenance = entry.record.provenance if entry.record is not None else None
    reason = entry.stats.finish_reason if entry.stats is not None else \
        provenance.finish_reason if provenance is not None else None
    return reason in ("length", "context")


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
    """Qt's own decoders, scaled while decoding (an image too large for Qt: the caption loader's, reduced); a
    null image for anything they cannot read.

    Only regular files up to the loader's limit are opened: a named pipe would block a pool thread for ever,
    ``/dev/zero`` would never end (stat never blocks, so asking first is safe)."""
    try:
        info = path.stat()
    except OSError:  # gone, a link loop, no permission
        return QImage()
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        return QImage()
    if path.suffix.lower() in QT_CANNOT_READ:
        return _thumbnail_through_pillow(path, size)
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation: phone photos upright
    original = reader.size()
    if _beyond_qt(reader, original):
        return _thumbnail_through_pillow(path, size)
    if original.isValid() and (original.width() > size or original.height() > size):
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.width() > size or image.height() > size:
        # The header's size was not known up front (a GIF whose screen size lies, found by fuzzing):
        # scale now, or tens of thousands of listed images would keep full-size pixels.
        image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
    return image


def _beyond_qt(reader: QImageReader, original: QSize) -> bool:
    """Qt decodes all but JPEGs at full size before it scales, and refuses (with a warning) what would pass its
    allocation limit; the caption loader reads such an image reduced, within its own limit on decoded bytes."""
    if not original.isValid() or reader.supportsOption(QImageIOHandler.ImageOption.ScaledSize):
        return False
    widest = 8  # bytes a pixel in Qt's widest format (64-bit RGBA, for 16-bit images)
    return original.width() * original.height() * widest > QImageReader.allocationLimit() << 20


def _centred_square(image: QImage, size: int) -> QImage:
    square = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawImage((size - image.width()) // 2, (size - image.height()) // 2, image)
    painter.end()
    return square


def _thumbnail_through_pillow(path: Path, size: int) -> QImage:
    """For types Qt has no reader for (HEIC): the caption loader's own decoding, with its limits and orientation."""
    try:
        prepared = load_image(path, size * size)
    except CaprlError:
        return QImage()
    image = QImage(prepared.rgb, prepared.width, prepared.height, prepared.width * 3, QImage.Format.Format_RGB888)
    image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image.copy()  # its own pixels: ``prepared.rgb`` goes away with this function


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
        if size == THUMB_SIZE and not image.isNull():
            image = _centred_square(image, size)  # every row's text then starts at the same x
        self._cache[(path, size)] = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        self.loaded.emit(path, size)

    def wait(self) -> None:
        self._pool.waitForDone()


class QueueModel(QAbstractListModel):
    def __init__(self, loader: ImageLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []
        self._rows: dict[Path, int] = {}
        self._counts: collections.Counter[State] = collections.Counter()
        self._names = RowNames()  # a name listed twice shows its folder
        self._blank: QIcon | None = None
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
            return f"{self._names.name(entry.item)}\n{self.state_text(entry)}"
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._loader.get(entry.path, THUMB_SIZE)
            # An empty square while loading, or for a file with no picture: the row's text stays in line.
            return QIcon(pixmap) if pixmap is not None and not pixmap.isNull() else self._blank_icon()
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.path}\n{self.error_text(entry)}" if entry.error else str(entry.path)
        if role == Qt.ItemDataRole.ForegroundRole and entry.state == State.FAILED:
            return error_colour(QGuiApplication.palette().color(QPalette.ColorRole.Base))
        if role == StateRole:
            return entry.state.value
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(0, THUMB_SIZE + 8)
        return None

    def _blank_icon(self) -> QIcon:
        if self._blank is None:
            blank = QPixmap(THUMB_SIZE, THUMB_SIZE)
            blank.fill(Qt.GlobalColor.transparent)
            self._blank = QIcon(blank)
        return self._blank

    def state_text(self, entry: Entry) -> str:
        if entry.state == State.FAILED:
            # "Failed" alone is the word the summary's "N failed" link filters the list by.
            return self.tr("Failed") + ": " + self.error_text(entry)
        if entry.state == State.CAPTIONING:
            if not entry.tokens:  # read, scaled and encoded before the first word comes
                return self.tr("Reading the image…")
            return self.tr("Captioning… 1 token") if entry.tokens == 1 else \
                self.tr("Captioning… {} tokens").format(entry.tokens)
        if entry.paused and entry.state == State.IDLE:  # (it may have a caption from before: it waits all the same)
            return self.tr("Paused")
        if entry.earlier and entry.state in (State.DONE, State.IDLE):  # skipped, or listed and not captioned
            return self.tr("Captioned earlier")
        if entry.state == State.DONE:
            return self.tr("Done · cut off") if cut_off(entry) else self.tr("Done")
        if entry.state == State.WAITING:
            return self.tr("Up next")
        if entry.state == State.IDLE:
            return self.tr("Not captioned")
        return self.tr("Queued")

    def error_text(self, entry: Entry) -> str:
        """Why the image failed, in the interface's language."""
        return reason_text(entry.reason) if entry.reason is not None else entry.error

    # --- reading ------------------------------------------------------------------------------

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(path)

    def entry(self, row: int) -> Entry:
        return self.entries[row]

    def in_state(self, *states: State) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.state in states]

    def count(self, *states: State) -> int:
        """How many rows are in ``states``, without walking the list."""
        return sum(self._counts[s] for s in states)

    def records(self, rows: Iterable[int] | None = None) -> list[CaptionRecord]:
        """The job's records of finished images, with the caption as it stands now (edits included).

        A failed image has no caption, only its reason, as in the command line's exports; unless its caption
        was made and only its saving failed (``unsaved``): that caption is real."""
        chosen = range(len(self.entries)) if rows is None else rows
        entries = (self.entries[row] for row in chosen)
        return [dataclasses.replace(e.record, caption="", error=e.error)
                if e.state == State.FAILED and not e.unsaved else dataclasses.replace(e.record, caption=e.caption)
                for e in entries if e.record is not None and e.state in (State.DONE, State.FAILED)]

    # --- adding and removing ------------------------------------------------------------------

    def add(self, items: list[ImageItem], *, overwrite: bool = False, state: State = State.QUEUED) -> int:
        """Append images not listed yet (in ``state``: queued, or idle until Start); re-queue listed ones when
        ``overwrite``. Returns new rows."""
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
                entry = self.entries[row]
                self._move(entry, State.QUEUED)
                entry.overwrite, entry.error, entry.reason, entry.job_id, entry.unsaved = True, "", None, None, False
                self._changed(row)
        if new:
            first = len(self.entries)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, item in enumerate(new):
                self._rows[item.path] = first + offset
                self.entries.append(Entry(item, state=state, overwrite=overwrite))
            self._counts[state] += len(new)
            repeated = self._names.add(new)
            self.endInsertRows()
            if repeated and first:  # rows listed before now show their folder too
                self._changed_span([0, first - 1])
        return len(new)

    def remove_rows(self, rows: list[int]) -> None:
        gone: list[ImageItem] = []
        for row in sorted(set(rows), reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            self._counts[self.entries[row].state] -= 1
            gone.append(self.entries.pop(row).item)
            self.endRemoveRows()
        self._rows = {e.path: i for i, e in enumerate(self.entries)}
        if self._names.remove(gone) and self.entries:  # a name no longer repeats: its row drops the folder
            self._changed_span([0, len(self.entries) - 1])

    # --- changing rows ------------------------------------------------------------------------

    def set_state(self, rows: Iterable[int], state: State) -> None:
        """Move rows to ``state`` as they are (queued, waiting, held idle); one change signal for them all."""
        changed = list(rows)
        for row in changed:
            self._move(self.entries[row], state)
        self._changed_span(changed)

    def requeue(self, row: int) -> None:
        """Queue a listed image again (after a failure, or one not captioned); what it failed with goes."""
        entry = self.entries[row]
        self._move(entry, State.QUEUED)
        entry.error, entry.reason = "", None
        self._changed(row)

    def reset(self, row: int, state: State) -> None:
        """An image handed to a job that ended before it finished: back to ``state``, its partial caption gone."""
        entry = self.entries[row]
        self._move(entry, state)
        entry.caption, entry.tokens, entry.earlier = "", 0, False
        self._changed(row)

    def set_paused(self, rows: Iterable[int], paused: bool) -> None:
        """Rows a paused run left (``paused``), or no longer waiting for it to go on."""
        changed = [row for row in rows if self.entries[row].paused != paused]
        for row in changed:
            self.entries[row].paused = paused
        self._changed_span(changed)

    def paused_rows(self) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.paused]

    def set_job(self, rows: Iterable[int], job_id: int) -> None:
        """Until captioned, these images belong to recorded run ``job_id``: starting them again resumes it."""
        changed = list(rows)
        for row in changed:
            self.entries[row].job_id = job_id
        self._changed_span(changed)

    def resume(self, row: int, job_id: int, made: str | None) -> None:
        """A queued image of run ``job_id`` taken up again; ``made``: its caption, made but not saved then."""
        entry = self.entries[row]
        entry.job_id, entry.unsaved, entry.caption = job_id, made is not None, made or ""
        self._changed(row)

    def begin(self, row: int) -> None:
        """The engine started this image (again, after a crash: from nothing)."""
        entry = self.entries[row]
        self._move(entry, State.CAPTIONING)
        entry.caption, entry.tokens, entry.error, entry.reason, entry.earlier = "", 0, "", None, False
        self._changed(row)

    def append_text(self, row: int, piece: str) -> None:
        """One streamed token's text."""
        entry = self.entries[row]
        entry.caption += piece
        entry.tokens += 1
        self._changed(row)

    def finish(self, row: int, record: CaptionRecord, *, sidecar: Path | None, stats: CaptionStats | None,
               earlier: bool = False, description: str = "") -> None:
        """Captioned and saved (or, ``earlier``, skipped: its caption was there already). It no longer belongs to
        a run."""
        entry = self.entries[row]
        self._move(entry, State.DONE)
        entry.caption, entry.record, entry.sidecar, entry.stats = record.caption, record, sidecar, stats
        entry.earlier, entry.description = earlier, description
        entry.error, entry.reason, entry.overwrite, entry.unsaved, entry.job_id = "", None, False, False, None
        self._changed(row)

    def set_description(self, row: int, text: str) -> None:
        """Whether its description is in the image file, in words (read off the GUI thread)."""
        self.entries[row].description = text
        self._changed(row)

    def fail(self, row: int, error: Reason | str, *, record: CaptionRecord | None = None,
             unsaved: bool = False) -> None:
        """Not captioned, or (``unsaved``) captioned but not saved: then it stays in its run, to be saved later.
        ``error``: why (a sentence of an earlier session's record has no kind: it is shown as it is)."""
        entry = self.entries[row]
        self._move(entry, State.FAILED)
        entry.reason = reason_of(error)
        entry.error, entry.unsaved = entry.reason.text, unsaved
        if record is not None:
            entry.record, entry.caption = record, record.caption
        if not unsaved:
            entry.job_id = None
        self._changed(row)

    def refuse(self, row: int, why: Reason | str) -> None:
        """Not started (another run holds its folder): it keeps its place in its own run, if any."""
        entry = self.entries[row]
        self._move(entry, State.FAILED)
        entry.reason = reason_of(why)
        entry.error = entry.reason.text
        self._changed(row)

    def set_caption(self, row: int, text: str) -> None:
        """The caption as the user edited and saved it."""
        entry = self.entries[row]
        entry.caption = text
        if entry.state == State.IDLE:  # written by hand into its sidecar: Start would skip it now
            entry.earlier = True
        self._changed(row)

    def captioned_earlier(self, row: int, sidecar: Path, text: str) -> None:
        """A row not captioned in this session whose sidecar holds a caption: shown, and edited, as that one."""
        entry = self.entries[row]
        entry.caption, entry.sidecar, entry.earlier = text, sidecar, True
        self._changed(row)

    def _move(self, entry: Entry, state: State) -> None:
        self._counts[entry.state] -= 1
        self._counts[state] += 1
        entry.state = state
        entry.paused = False  # (a paused row is put back with ``set_paused`` once it is idle)

    def _changed(self, row: int) -> None:
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def _changed_span(self, rows: list[int]) -> None:
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def _thumbnail_loaded(self, path: str, size: int) -> None:
        row = self._rows.get(Path(path))
        if row is not None and size == THUMB_SIZE:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
