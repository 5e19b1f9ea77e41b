"""The bars above the image list: a run to resume, captions that cannot be saved, images skipped for the caption
they had, a damaged job journal set aside. Each says what happened and offers the one action that helps; the queue
controller says when."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.jobs.journal import JobSummary
from caprl_desktop.ui.caption_choices import LANGUAGE_NAMES, CaptionChoices
from caprl_desktop.ui.message_bar import MessageBar
from caprl_desktop.ui.queue_controller import QueueController


class QueueBars(QWidget):
    saveElsewhere = Signal()  # "Save in another folder…": the window asks which

    def __init__(self, controller: QueueController, choices: CaptionChoices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._choices = choices
        self.resume_bar = MessageBar("resumeBar", self.tr("Resume"), self.tr("Not now"))
        # Shown when captions cannot be saved (read-only folder, full disk): the queue is held, not failed.
        self.save_bar = MessageBar("saveBar", self.tr("Save in another folder…"), self.tr("Dismiss"))
        # Shown when a go skipped images for the caption they had: one click re-captions them.
        self.skipped_bar = MessageBar("skippedBar", "", self.tr("Dismiss"))
        # Shown when a damaged job journal was set aside: where it is, and what that means (the core's words).
        self.journal_bar = MessageBar("journalBar", "", self.tr("Dismiss"))
        self.journal_bar.button.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for bar in (self.journal_bar, self.resume_bar, self.save_bar, self.skipped_bar):
            layout.addWidget(bar)
        self.resume_bar.button.clicked.connect(controller.resume_interrupted)
        self.save_bar.button.clicked.connect(self.saveElsewhere)
        self.skipped_bar.button.clicked.connect(self._recaption_skipped)
        choices.language_combo.currentIndexChanged.connect(self._name_recaption_button)
        self._name_recaption_button()
        controller.resumeOffered.connect(self._offer_resume)
        controller.cannotSave.connect(self._cannot_save)
        controller.skippedChanged.connect(self._skipped)
        controller.journalSetAside.connect(self.journal_bar.show_message)

    def language_name(self) -> str:
        """The caption language chosen now, as its own speakers write it (日本語, English)."""
        return LANGUAGE_NAMES[self._choices.language]

    def _offer_resume(self, jobs: list[JobSummary]) -> None:
        if not jobs:
            self.resume_bar.hide()
            return
        left = sum(j.left for j in jobs)
        roots = sorted({str(r) for j in jobs for r in j.roots})
        self.resume_bar.show_message(
            (self.tr("1 image was left uncaptioned when CapRL Desktop (or a command) stopped last time, in {}.")
             .format(", ".join(roots)) if left == 1 else
             self.tr("{} images were left uncaptioned when CapRL Desktop (or a command) stopped last time, "
                     "in {}.").format(left, ", ".join(roots))),
            self.tr("Resume captions them with the choices that run was started with (language, prompt, "
                    "detail); what was captioned before is kept and not redone."))

    def _cannot_save(self, problem: WriteError | None) -> None:
        if problem is None:
            self.save_bar.hide()
        elif problem.problem == "full":
            self.save_bar.show_message(self.tr(
                "Captions cannot be saved: {}. Free some space and press Start, or save them in another folder. "
                "Captions already made are kept and will be saved.").format(problem))
        else:
            self.save_bar.show_message(self.tr(
                "Captions cannot be saved beside the images: {}. Save them in another folder? Captions already "
                "made are kept and will be saved there.").format(problem))

    def _skipped(self, count: int) -> None:
        if not count:
            self.skipped_bar.hide()
            return
        self.skipped_bar.show_message(
            self.tr("{} already captioned, skipped.").format(count),
            self.tr("These images had a caption before and kept it. Re-caption makes new ones with the language "
                    "and prompt chosen now (you are asked before captions are replaced)."))

    def _name_recaption_button(self) -> None:
        self.skipped_bar.button.setText(self.tr("Re-caption in {}").format(self.language_name()))

    def _recaption_skipped(self) -> None:
        self.skipped_bar.hide()
        self._controller.recaption_skipped()
