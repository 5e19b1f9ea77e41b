"""What became of a caption's description in the image's own metadata, in one line for the caption panel."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from caprl_desktop.core.jobs.descriptions import DescriptionOutcome


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
