"""The Folders dock's contents: Places (Home, Pictures, Desktop, the drives), Up with the folder shown, the tree.

It opens at the user's Pictures folder (home where there is none), and is never narrower than ``MIN_WIDTH``,
whatever a saved window layout says: a panel 60 px wide shows folder names as "tm…".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDir, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStyle, QToolButton, QVBoxLayout, QWidget

from caprl_desktop.ui.folder_panel import FolderPanel
from caprl_desktop.ui.places import PlacesList, pictures_folder

MIN_WIDTH = 180
PLACES_REFRESH_MS = 5000  # drives plugged in or out show up while the panel is open


class FoldersPane(QWidget):
    def __init__(self, start: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foldersPane")
        self.setMinimumWidth(MIN_WIDTH)
        self.places = PlacesList()
        places_title = QLabel(self.tr("Places"))
        font = places_title.font()
        font.setBold(True)
        places_title.setFont(font)

        self.up_button = QToolButton()
        self.up_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogToParent))
        self.up_button.setToolTip(self.tr("Up one folder"))
        self.up_button.setAutoRaise(True)
        self.location = QLabel()
        self.location.setObjectName("folderShown")
        # The label never widens the panel: a long path is elided to fit.
        self.location.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        location_row = QHBoxLayout()
        location_row.setContentsMargins(0, 0, 0, 0)
        location_row.addWidget(self.up_button)
        location_row.addWidget(self.location, 1)

        self.tree = FolderPanel(start or pictures_folder())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(places_title)
        layout.addWidget(self.places)
        layout.addLayout(location_row)
        layout.addWidget(self.tree, 1)

        self.places.placeChosen.connect(self.tree.go_to)
        self.up_button.clicked.connect(self.go_up)
        self.tree.rootChanged.connect(self._shown)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(PLACES_REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh_places)
        self._shown(self.tree.root)

    def go_up(self) -> None:
        parent = self.tree.root.parent
        if parent != self.tree.root:
            self.tree.go_to(parent)

    def _shown(self, folder: Path) -> None:
        self.up_button.setEnabled(folder.parent != folder)
        self.location.setToolTip(QDir.toNativeSeparators(str(folder)))
        self._show_location()
        item = self.places.item_for(folder)
        if item is not None:
            self.places.setCurrentItem(item)
        else:
            self.places.clearSelection()

    def _show_location(self) -> None:
        folder = self.tree.root
        text = folder.name or QDir.toNativeSeparators(str(folder))
        metrics = QFontMetrics(self.location.font())
        self.location.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, max(self.location.width(), 40)))

    def _refresh_places(self) -> None:
        if self.places.refresh():
            self._shown(self.tree.root)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_location()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_places()
        self._refresh_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._refresh_timer.stop()
        super().hideEvent(event)
