"""The file system as a tree of folders; right-click a folder to caption it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDir, QPoint, Signal
from PySide6.QtWidgets import QFileSystemModel, QMenu, QTreeView, QWidget


class FolderPanel(QTreeView):
    captionFolder = Signal(object, bool)  # Path, overwrite

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fs_model = QFileSystemModel(self)
        self.fs_model.setFilter(QDir.Filter.AllDirs | QDir.Filter.NoDotAndDotDot)
        self.fs_model.setRootPath(QDir.rootPath())
        self.setModel(self.fs_model)
        # The whole file system, opened at the user's home: folders elsewhere (other disks) stay reachable.
        home = self.fs_model.index(str(root))
        self.expand(home)
        self.scrollTo(home)
        for column in range(1, self.fs_model.columnCount()):
            self.hideColumn(column)
        self.setHeaderHidden(True)
        self.setContextMenuPolicy(self.contextMenuPolicy().CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)

    def folder_menu(self, folder: Path) -> QMenu:
        menu = QMenu(self)
        menu.addAction(self.tr("Caption folder"), lambda: self.captionFolder.emit(folder, False))
        menu.addAction(self.tr("Caption folder (overwrite existing)"), lambda: self.captionFolder.emit(folder, True))
        return menu

    def _menu(self, position: QPoint) -> None:
        index = self.indexAt(position)
        if not index.isValid():
            return
        self.folder_menu(Path(self.fs_model.filePath(index))).exec(self.viewport().mapToGlobal(position))
