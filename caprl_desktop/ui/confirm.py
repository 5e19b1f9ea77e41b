"""The questions the window asks before what cannot be undone: replacing captions, stopping a long run.

Each is a plain ``QMessageBox`` whose safe answer is the default and the Esc answer, so an Enter or an Esc
pressed by accident keeps the captions and the run. Tests answer them by clicking the box's buttons. Replacing
captions offers three answers: all, all but those a person may have worked on (the count is exact: see
``core/jobs/existing.py``), or none.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from caprl_desktop.core.jobs.existing import Replaced

ReplaceChoice = Literal["all", "all_but_by_hand", "cancel"]

CANCEL_ASKS_ABOVE = 3  # images left: stopping a run with more asks first (one Esc must not throw away a night)


class Confirm(QObject):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._window = parent

    def replace(self, replaced: Replaced, language: str) -> ReplaceChoice:
        """Whether to replace ``replaced.captioned`` captions with new ones in ``language``: all of them, all but
        those a person may have worked on (offered when there are some), or none."""
        count = replaced.captioned
        text = (self.tr("Replace 1 existing caption?") if count == 1
                else self.tr("Replace {} existing captions?").format(count))
        lines = []
        if replaced.hand_edited == 1:
            lines.append(self.tr("1 of them was edited by hand since CapRL Desktop wrote it."))
        elif replaced.hand_edited:
            lines.append(self.tr("{} of them were edited by hand since CapRL Desktop wrote them.")
                         .format(replaced.hand_edited))
        if replaced.not_from_app == 1:
            lines.append(self.tr("1 of them was not written by CapRL Desktop (by hand or by another program)."))
        elif replaced.not_from_app:
            lines.append(self.tr("{} of them were not written by CapRL Desktop (by hand or by another program).")
                         .format(replaced.not_from_app))
        lines.append(self.tr("New captions in {} are saved over them; each image's history keeps the old one "
                             "(Undo change puts it back).").format(language))
        by_hand = replaced.made_by_hand
        spare = (self.tr("Replace all but the 1 edited by hand") if by_hand == 1
                 else self.tr("Replace all but the {} edited by hand").format(by_hand)) if by_hand else ""
        answers: list[tuple[str, ReplaceChoice]] = [(self.tr("Replace all"), "all")]
        if spare:
            answers.append((spare, "all_but_by_hand"))
        return self._choose(self.tr("Replace captions?"), text, "\n\n".join(lines), answers,
                            (self.tr("Cancel"), "cancel"))

    def cancel(self, left: int, recaptions: int = 0) -> bool:
        """Whether to stop a run that has ``left`` images still to caption, ``recaptions`` of them re-captions
        (they keep the caption they have)."""
        if recaptions >= left:
            text = self.tr("{} images are still to be re-captioned. Stop re-captioning?").format(left)
        elif recaptions:
            text = self.tr("{} images are left to caption, {} of them to re-caption. Stop captioning?").format(
                left, recaptions)
        else:
            text = self.tr("{} images are not captioned yet. Stop captioning?").format(left)
        return self._ask(self.tr("Stop captioning?"), text,
                         self.tr("Captions already made are kept, and so are the old captions of images not "
                                 "re-captioned yet. Start goes on with the rest."),
                         self.tr("Stop captioning"), self.tr("Keep captioning"))

    def quit(self, queued: int, in_runs: int) -> bool:
        """Whether to quit with ``queued`` images not captioned yet, ``in_runs`` of them in a recorded run (which
        the next start offers to resume)."""
        text = (self.tr("1 image is still queued: quit anyway?") if queued == 1
                else self.tr("{} images are still queued: quit anyway?").format(queued))
        if in_runs >= queued:
            details = self.tr("You can resume next time: CapRL Desktop offers to when it starts.")
        elif in_runs:
            details = self.tr("You can resume {} of them next time; the other {} were not started yet and would "
                              "have to be added again.").format(in_runs, queued - in_runs)
        else:
            details = self.tr("They were not started yet: next time, add them again.")
        return self._ask(self.tr("Quit CapRL Desktop?"), text, details, self.tr("Quit"), self.tr("Keep captioning"))

    def _choose(self, title: str, text: str, details: str, answers: list[tuple[str, ReplaceChoice]],
                safe: tuple[str, ReplaceChoice]) -> ReplaceChoice:
        """Ask with ``answers`` (text, what it means) and the ``safe`` one, which Enter and Esc give."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self._window)
        box.setObjectName("confirmBox")
        box.setInformativeText(details)
        buttons = [(box.addButton(label, QMessageBox.ButtonRole.AcceptRole), meaning) for label, meaning in answers]
        no_button = box.addButton(safe[0], QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no_button)
        box.setEscapeButton(no_button)
        box.exec()
        clicked = box.clickedButton()
        return next((meaning for button, meaning in buttons if button is clicked), safe[1])

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
