"""What the image list's rows are called: a name listed twice shows the folder it is in (Qt only, no engine)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel


def names(model: QueueModel) -> list[str]:
    return [str(model.index(row).data(Qt.ItemDataRole.DisplayRole)).split("\n")[0] for row in range(model.rowCount())]


def test_repeated_names_show_their_folder_and_only_while_they_repeat(qtbot: QtBot, tmp_path: Path) -> None:
    model = QueueModel(ImageLoader())
    imgs, imgs2 = tmp_path / "imgs", tmp_path / "imgs2"
    model.add([ImageItem(imgs / "p0.jpg", imgs), ImageItem(imgs / "sub" / "p1.jpg", imgs),
               ImageItem(imgs / "only.jpg", imgs)])
    assert names(model) == ["p0.jpg", "sub/p1.jpg", "only.jpg"]  # unique: the path under the folder dropped

    changed: list[int] = []
    model.dataChanged.connect(lambda first, last: changed.extend(range(first.row(), last.row() + 1)))
    model.add([ImageItem(imgs2 / "p0.jpg", imgs2), ImageItem(imgs2 / "sub" / "p1.jpg", imgs2)])
    assert names(model) == ["imgs/p0.jpg", "imgs/sub/p1.jpg", "only.jpg", "imgs2/p0.jpg", "imgs2/sub/p1.jpg"]
    assert {0, 1} <= set(changed)  # the rows listed before were told to show their new text

    # A folder of the same name from elsewhere: only the whole path tells them apart.
    elsewhere = tmp_path / "b" / "imgs"
    model.add([ImageItem(elsewhere / "p0.jpg", elsewhere)])
    assert names(model)[0] == str(imgs / "p0.jpg") and names(model)[5] == str(elsewhere / "p0.jpg")
    assert names(model)[3] == "imgs2/p0.jpg"

    changed.clear()
    model.remove_rows([3, 4, 5])  # the copies gone: the names stand alone again
    assert names(model) == ["p0.jpg", "sub/p1.jpg", "only.jpg"]
    assert set(changed) == {0, 1, 2}
