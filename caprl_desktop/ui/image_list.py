"""The list of images with its filter and sort; while it is empty, what to do instead.

The filter finds a text in a row's name, its state or its caption (case aside), so "harbour" finds the images
described with it; the status bar's "N failed" lists only the failed ones, whatever their captions say.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QListView, QStackedWidget, QVBoxLayout, QWidget

from caprl_desktop.ui.empty_state import EmptyState
from caprl_desktop.ui.queue_model import THUMB_SIZE, QueueModel, StateRole


class ImageFilter(QSortFilterProxyModel):
    """Rows whose name, state or (unless ``captions`` is off) caption holds the text, case aside."""

    def __init__(self, queue: QueueModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self._text = ""
        self._captions = True
        self.setSourceModel(queue)

    def set_filter(self, text: str, *, captions: bool = True) -> None:
        self.beginFilterChange()
        self._text, self._captions = text.casefold(), captions
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._text:
            return True
        shown = self._queue.data(self._queue.index(source_row), Qt.ItemDataRole.DisplayRole)
        if self._text in str(shown).casefold():
            return True
        return self._captions and self._text in self._queue.entry(source_row).caption.casefold()


class ImageList(QWidget):
    currentRowChanged = Signal(object)  # the queue's row (not the sorted view's), or None

    def __init__(self, queue: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.proxy = ImageFilter(queue, self)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(self.tr("Name, state, caption"))  # (short: it fits at 1000 px)
        self.filter_edit.setToolTip(self.tr("Lists only the images whose name, state or caption holds this text"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_filter)
        self.sort_combo = QComboBox()
        self.sort_combo.addItems([self.tr("Order added"), self.tr("Name"), self.tr("State")])
        self.sort_combo.currentIndexChanged.connect(self._sort)

        self.list_view = QListView()
        self.list_view.setObjectName("imageList")
        self.list_view.setModel(self.proxy)
        self.list_view.setIconSize(QPixmap(THUMB_SIZE, THUMB_SIZE).size())
        self.list_view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.empty_state = EmptyState()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(self.list_view)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.sort_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        queue.rowsInserted.connect(self.update_empty_state)
        queue.rowsRemoved.connect(self.update_empty_state)
        self.update_empty_state()

    def show_only_failed(self) -> None:
        """List just the images that failed (the summary's "1 failed"): the filter holds the word their rows
        begin with, so the filter's clear button lists all again."""
        word = QCoreApplication.translate("QueueModel", "Failed")
        self.filter_edit.blockSignals(True)  # (typed by hand, the same word finds captions too)
        self.filter_edit.setText(word)
        self.filter_edit.blockSignals(False)
        self.proxy.set_filter(word, captions=False)

    def selected_rows(self) -> list[int]:
        rows: list[int] = [self.proxy.mapToSource(i).row() for i in self.list_view.selectionModel().selectedIndexes()]
        return sorted(set(rows))

    def select_first(self) -> None:
        """Show the first image when none is shown yet (the first drop)."""
        if self.list_view.currentIndex().row() < 0 and self.proxy.rowCount():
            self.list_view.setCurrentIndex(self.proxy.index(0, 0))

    def step(self, delta: int) -> None:
        current = self.list_view.currentIndex()
        row = (current.row() if current.isValid() else -1) + delta
        if 0 <= row < self.proxy.rowCount():
            self.list_view.setCurrentIndex(self.proxy.index(row, 0))

    def update_empty_state(self) -> None:
        self.stack.setCurrentIndex(1 if self.queue.entries else 0)

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.currentRowChanged.emit(self.proxy.mapToSource(current).row() if current.isValid() else None)

    def _sort(self, choice: int) -> None:
        if choice == 0:
            self.proxy.sort(-1)
            return
        self.proxy.setSortRole(Qt.ItemDataRole.DisplayRole if choice == 1 else StateRole)
        self.proxy.sort(0)
