"""What became of a caption's description in the image's own metadata, in one line for the caption panel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.descriptions import DescriptionOutcome
from caprl_desktop.core.metadata.fields import Description


def describe_outcome(outcome: DescriptionOutcome | None) -> str:
    """"" when no description was asked for."""
    if outcome is None:
        return ""
    if outcome.problem:
        return QCoreApplication.translate("Description", "Description not written: {}").format(outcome.problem)
    if outcome.kept_existing:
        return QCoreApplication.translate("Description", "The description already in the image was kept")
    if outcome.written is None:
        return ""
    if outcome.written == outcome.image:
        return QCoreApplication.translate("Description", "Description written into the image")
    text = QCoreApplication.translate("Description", "Description written to {}").format(outcome.written.name)
    return text + (f" ({outcome.note})" if outcome.note else "")


def describe_file(path: Path) -> str:
    """Whether ``path`` holds a description, and whose (run on a pool thread: it reads the file)."""
    from caprl_desktop.core.metadata import read_description  # (Exiv2: here, not at the window's start)

    try:
        found: Description | None = read_description(path)
    except (CaprlError, OSError):
        return QCoreApplication.translate("Description", "Its description cannot be read")
    if found is None or not found.text:
        return QCoreApplication.translate("Description", "No description in the image")
    if found.app_written:
        return QCoreApplication.translate("Description", "Description in the image, written by CapRL Desktop")
    return QCoreApplication.translate("Description", "Description in the image, written by someone else")
