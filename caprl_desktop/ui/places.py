"""Places the Folders panel can jump to: Home, Pictures, Desktop, the whole computer and the drives plugged in.

Drives are the mounted volumes a person would call a drive: on Windows every ready drive letter; elsewhere the
volumes mounted where desktops put USB sticks, SD cards and second disks (``/media``, ``/run/media``, ``/mnt``,
``/Volumes``). Pseudo file systems (tmpfs, proc, squashfs of snaps, overlays) and the system's own mounts
(``/boot``, ``/snap``, ``/var``...) are not places to look for pictures.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from PySide6.QtCore import QCoreApplication, QDir, QSize, QStorageInfo, Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QWidget

USER_MOUNTS = ("/media/", "/run/media/", "/mnt/", "/Volumes/")
PSEUDO_FILE_SYSTEMS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
    "fuse.gvfsd-fuse", "fuse.portal", "fusectl", "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "pstore",
    "ramfs", "rpc_pipefs", "securityfs", "squashfs", "sysfs", "tmpfs", "tracefs",
})


@dataclass(frozen=True)
class Place:
    name: str
    path: Path
    icon: QStyle.StandardPixmap


def is_user_volume(root: str, file_system: str, *, ready: bool, valid: bool, windows: bool) -> bool:
    """Whether a mounted volume is a drive worth listing (not the system's own, not a pseudo file system)."""
    if not (ready and valid) or file_system.lower() in PSEUDO_FILE_SYSTEMS:
        return False
    if windows:
        return True  # C:, D:, a card reader, a mapped share: each a drive letter
    return root.startswith(USER_MOUNTS)



def pictures_folder() -> Path:
    """Where pictures live (XDG's, Windows' and macOS's own folder), or the home folder where there is none."""
    pictures = Path(platformdirs.user_pictures_dir())
    return pictures if pictures.is_dir() else Path.home()


def _volume_name(volume: QStorageInfo) -> str:
    root = QDir.toNativeSeparators(volume.rootPath())
    name = volume.name()
    return f"{name} ({root})" if name and sys.platform == "win32" else name or Path(root).name or root


def drives() -> list[Place]:
    windows = sys.platform == "win32"
    found = []
    for volume in QStorageInfo.mountedVolumes():
        root = volume.rootPath()
        file_system = bytes(volume.fileSystemType().data()).decode(errors="replace")
        if is_user_volume(root if root.endswith("/") else root + "/", file_system, ready=volume.isReady(),
                          valid=volume.isValid(), windows=windows):
            found.append(Place(_volume_name(volume), Path(root), QStyle.StandardPixmap.SP_DriveHDIcon))
    return sorted(found, key=lambda place: str(place.path))


def places() -> list[Place]:
    """Home, Pictures, Desktop (those that exist and are not home itself), the computer, then the drives."""
    home = Path.home()
    found = [Place(QCoreApplication.translate("Places", "Home"), home, QStyle.StandardPixmap.SP_DirHomeIcon)]
    for name, folder in ((QCoreApplication.translate("Places", "Pictures"), pictures_folder()),
                         (QCoreApplication.translate("Places", "Desktop"), Path(platformdirs.user_desktop_dir()))):
        if folder.is_dir() and folder != home:
            found.append(Place(name, folder, QStyle.StandardPixmap.SP_DirIcon))
    if sys.platform != "win32":  # there the drive letters are the whole computer
        found.append(Place(QCoreApplication.translate("Places", "Computer"), Path(QDir.rootPath()),
                           QStyle.StandardPixmap.SP_ComputerIcon))
    return found + drives()


class PlacesList(QListWidget):
    """One row per place; choosing one jumps the folder tree there."""

    placeChosen = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("places")
        self.setIconSize(QSize(16, 16))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemClicked.connect(self._chosen)
        self.itemActivated.connect(self._chosen)  # Enter on a row
        self.refresh()

    def refresh(self) -> bool:
        """List the places again (a drive plugged in or out); returns whether they changed."""
        found = places()
        if [(p.name, str(p.path)) for p in found] == [(self.item(i).text(), self.item(i).data(
                Qt.ItemDataRole.UserRole)) for i in range(self.count())]:
            return False
        self.clear()
        for place in found:
            item = QListWidgetItem(self.style().standardIcon(place.icon), place.name)
            item.setData(Qt.ItemDataRole.UserRole, str(place.path))
            item.setToolTip(QDir.toNativeSeparators(str(place.path)))
            self.addItem(item)
        # As tall as its rows: the tree below gets the rest of the panel.
        rows = sum(self.sizeHintForRow(i) for i in range(self.count()))
        self.setFixedHeight(rows + 2 * self.frameWidth() + 2)
        return True

    def names(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]

    def item_for(self, path: Path) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) == str(path):
                return self.item(i)
        return None

    def _chosen(self, item: QListWidgetItem) -> None:
        self.placeChosen.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
