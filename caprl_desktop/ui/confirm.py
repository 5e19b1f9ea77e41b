"""The questions the window asks before what cannot be undone: replacing captions, stopping a long run.

Each is a plain ``QMessageBox`` whose safe answer is the default and the Esc answer, so an Enter or an Esc
pressed by accident keeps the captions and the run. Tests answer them by clicking the box's buttons.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from caprl_desktop.core.jobs.existing import Replaced

CANCEL_ASKS_ABOVE = 3  # images left: stopping a run with more asks first (one Esc must not throw away a night)


class Confirm(QObject):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._window = parent

    def replace(self, replaced: Replaced, language: str) -> bool:
        """Whether to replace ``replaced.captioned`` captions with new ones in ``language``."""
        count = replaced.captioned
        text = (self.tr("Replace 1 existing caption?") if count == 1
                else self.tr("Replace {} existing captions?").format(count))
        lines = []
        if replaced.hand_edited:
            lines.append(self.tr("{} of them were edited by hand since CapRL Desktop wrote them.")
                         .format(replaced.hand_edited))
        if replaced.not_from_app:
            lines.append(self.tr("{} of them were not written by CapRL Desktop (by hand or by another program).")
                         .format(replaced.not_from_app))
        lines.append(self.tr("New captions in {} are saved over them; the old ones cannot be brought back.")
                     .format(language))
        return self._ask(self.tr("Replace captions?"), text, "\n\n".join(lines), self.tr("Replace captions"),
                         self.tr("Keep them"))

    def cancel(self, left: int) -> bool:
        """Whether to stop a run that has ``left`` images still to caption."""
        return self._ask(self.tr("Stop captioning?"),
                         self.tr("{} images are not captioned yet. Stop captioning?").format(left),
                         self.tr("Captions already made are kept. Start goes on with the rest."),
                         self.tr("Stop captioning"), self.tr("Keep captioning"))

    def _ask(self, title: str, text: str, details: str, yes: str, no: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self._window)
        box.setObjectName("confirmBox")
        box.setInformativeText(details)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_button)
        box.setEscapeButton(no_button)
        box.exec()
        return box.clickedButton() is yes_button
