"""What adding images did, in one status line that stays: "Added 11 from imgs · 3 already captioned".

One ``DropReport`` follows one scan's images through the slice-by-slice listing: how many rows were new, how many
were listed already, and the first new row (the list scrolls there). The sentence names the folders the images
were found under, so a drop that found nothing says where it looked, and the folders that could not be read
(no permission, a path too long for the system), so that no image is left out without a word.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from caprl_desktop.core.jobs.discovery import ImageItem, UnreadFolder


@dataclass
class DropReport:
    given: list[Path]  # what was dropped (or opened, or pasted)
    missing: list[Path]
    items: list[ImageItem]  # the images found
    first_row: int | None = None  # the first new row
    new_items: list[ImageItem] = field(default_factory=list)  # the images of the new rows
    unread: list[UnreadFolder] = field(default_factory=list)  # folders not read, or not wholly

    def listed(self, first_row: int, new: list[ImageItem]) -> None:
        """A slice was listed: rows from ``first_row`` on hold the ``new`` images (the others were listed)."""
        if new and self.first_row is None:
            self.first_row = first_row
        self.new_items.extend(new)

    @property
    def added(self) -> int:
        return len(self.new_items)

    @property
    def already_listed(self) -> int:
        return len(self.items) - self.added



def names(paths: Iterable[Path]) -> str:
    """"imgs", "imgs, other", "imgs, other and 3 more": the folders (or files) by name."""
    unique = list(dict.fromkeys(p.name or str(p) for p in paths))
    if len(unique) <= 3:
        return ", ".join(unique)
    return QCoreApplication.translate("DropReport", "{} and {} more").format(", ".join(unique[:2]), len(unique) - 2)


def source(report: DropReport) -> str:
    """Where the images came from: the folders they were found under (a file's own folder)."""
    roots = list(dict.fromkeys(item.root for item in report.items))
    return names(roots or report.given)


def report_text(report: DropReport, captioned: int | None = None) -> str:
    """The sentence for the status bar; ``captioned``: how many new images have a caption on disk already."""
    parts = []
    if not report.items:
        looked = [path for path in report.given if path not in report.missing]
        if looked:
            parts.append(QCoreApplication.translate("DropReport", "No images found in {}").format(names(looked)))
    elif report.added:
        parts.append(QCoreApplication.translate("DropReport", "Added {} from {}").format(report.added, source(report)))
        if captioned:
            parts.append(QCoreApplication.translate("DropReport", "{} already captioned").format(captioned))
        if report.already_listed:
            parts.append(QCoreApplication.translate("DropReport", "{} listed already").format(report.already_listed))
    else:
        parts.append(QCoreApplication.translate(
            "DropReport", "Nothing added from {}: its {} images are listed already").format(source(report),
                                                                                         len(report.items)))
    if report.missing:
        missing = names(report.missing)
        parts.append(QCoreApplication.translate("DropReport", "not found: {}").format(missing) if parts
                     else QCoreApplication.translate("DropReport", "Not found: {}").format(missing))
    if report.unread:
        unread = names(folder.path for folder in report.unread)
        if len(report.unread) == 1:  # the reason too: there is room for one
            unread += f" ({report.unread[0].reason})"
        parts.append(QCoreApplication.translate("DropReport", "could not read {}").format(unread) if parts
                     else QCoreApplication.translate("DropReport", "Could not read {}").format(unread))
    return " · ".join(parts)
