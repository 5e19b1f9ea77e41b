"""A tree of the folders under one place (Pictures at first); right-click a folder to caption it.

The tree shows one folder's subfolders at a time, not the whole file system from ``/``: the Places list above
it (``places.py``) and Up move it elsewhere, so the folders a person wants are near the top.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDir, QPoint, Signal
from PySide6.QtWidgets import QFileSystemModel, QHeaderView, QMenu, QTreeView, QWidget


class FolderPanel(QTreeView):
    captionFolder = Signal(object, bool)  # Path, overwrite
    rootChanged = Signal(object)  # Path: the folder whose subfolders the tree shows
    describeFolder = Signal(object)  # Path: write its captions on disk into its images as their descriptions

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fs_model = QFileSystemModel(self)
        self.fs_model.setFilter(QDir.Filter.AllDirs | QDir.Filter.NoDotAndDotDot)
        self.setModel(self.fs_model)
        for column in range(1, self.fs_model.columnCount()):
            self.hideColumn(column)
        self.setHeaderHidden(True)
        # A long name scrolls sideways in a narrow panel instead of ending in "…" after two letters.
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(False)
        self.setContextMenuPolicy(self.contextMenuPolicy().CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.root = root
        self.go_to(root)

    def go_to(self, folder: Path) -> None:
        """Show ``folder``'s subfolders (a place chosen, or Up)."""
        self.root = folder
        # Only what is shown is read and watched; the model loads it off the GUI thread.
        self.setRootIndex(self.fs_model.setRootPath(str(folder)))
        self.rootChanged.emit(folder)

    def folder_menu(self, folder: Path) -> QMenu:
        menu = QMenu(self)
        menu.addAction(self.tr("Caption folder"), lambda: self.captionFolder.emit(folder, False))
        menu.addAction(self.tr("Write descriptions into the images"), lambda: self.describeFolder.emit(folder))
        # Apart from the safe entry, so a slip of the mouse does not land on it (and the window asks first).
        menu.addSeparator()
        menu.addAction(self.tr("Caption folder (overwrite existing)"), lambda: self.captionFolder.emit(folder, True))
        return menu

    def _menu(self, position: QPoint) -> None:
        index = self.indexAt(position)
        if not index.isValid():
            return
        self.folder_menu(Path(self.fs_model.filePath(index))).exec(self.viewport().mapToGlobal(position))
