"""One small dialog for model files already on disk: the text model and its vision projector, side by side.

Picking the model fills in the projector found beside it (``core/models/projector_search.py``, the same
search as the command line's ``--model FILE``). Each field is checked as soon as it changes, by the core's
file checks, and what is wrong is said under that field in the user's language; Add stays disabled until
both files are sound and belong together. Adding itself (hashing two large files) runs on the model
worker's thread; the model dialog hands the outcome back here with ``show_failure`` or closes the dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.models.files import FileProblem, ModelFileProblem, check_picked
from caprl_desktop.core.models.projector_search import find_projector
from caprl_desktop.ui.model_problems import file_problem_text

ERROR_STYLE = "color: #c62828;"
CHECK_DELAY_MS = 250  # typing a path: check once the typing pauses, not on every key


class LocalModelDialog(QDialog):
    addRequested = Signal(object, object)  # model path, projector path

    def __init__(self, start_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_folder = start_folder
        self._found: Path | None = None  # the projector this dialog filled in itself
        self._model_changed = False  # typed since the last look for its projector
        self.busy = False
        self.setWindowTitle(self.tr("Use model files on disk"))
        self.setMinimumWidth(620)
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self._settle)
        self._build()
        self.check()

    def _build(self) -> None:
        intro = QLabel(self.tr("Pick the CapRL text model (a GGUF file). Its vision projector (mmproj) is "
                               "found when it is in the same folder. Nothing is copied: the files stay where "
                               "they are."))
        intro.setWordWrap(True)
        self.model_edit = QLineEdit()
        self.model_edit.setObjectName("localModelPath")
        self.model_browse = QPushButton(self.tr("Browse…"))
        self.model_browse.setObjectName("browseModel")
        self.model_note = _note("localModelNote")
        self.projector_edit = QLineEdit()
        self.projector_edit.setObjectName("localProjectorPath")
        self.projector_browse = QPushButton(self.tr("Browse…"))
        self.projector_browse.setObjectName("browseProjector")
        self.projector_note = _note("localProjectorNote")
        grid = QGridLayout()
        grid.addWidget(QLabel(self.tr("Model:")), 0, 0)
        grid.addWidget(self.model_edit, 0, 1)
        grid.addWidget(self.model_browse, 0, 2)
        grid.addWidget(self.model_note, 1, 1, 1, 2)
        grid.addWidget(QLabel(self.tr("Projector:")), 2, 0)
        grid.addWidget(self.projector_edit, 2, 1)
        grid.addWidget(self.projector_browse, 2, 2)
        grid.addWidget(self.projector_note, 3, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        self.status_label = QLabel()
        self.status_label.setObjectName("localStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # hashing two files: no useful fraction to show
        self.busy_bar.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton(self.tr("Add"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setObjectName("addLocalModel")
        self.add_button.setDefault(True)
        self.buttons.accepted.connect(self._add)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.status_label)
        layout.addWidget(self.busy_bar)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.model_browse.clicked.connect(self.browse_model)
        self.projector_browse.clicked.connect(self.browse_projector)
        self.model_edit.textEdited.connect(lambda _: self._model_typed())
        self.projector_edit.textEdited.connect(lambda _: self._projector_typed())

    # --- choosing -----------------------------------------------------------------------------

    def browse_model(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, self.tr("The CapRL text model (GGUF)"),
                                                str(self._folder()), self.tr("GGUF models (*.gguf)"))
        if chosen:
            self.set_model(Path(chosen))

    def browse_projector(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, self.tr("Its vision projector (mmproj GGUF)"),
                                                str(self._folder()), self.tr("GGUF models (*.gguf)"))
        if chosen:
            self._found = None
            self.projector_edit.setText(chosen)
            self.check()

    def set_model(self, path: Path) -> None:
        """Take ``path`` as the model and, unless the user chose a projector, the one found beside it."""
        self.model_edit.setText(str(path))
        self._find_projector()
        self.check()

    def _model_typed(self) -> None:
        self._model_changed = True
        self._check_timer.start()

    def _projector_typed(self) -> None:
        self._found = None
        self._check_timer.start()

    def _settle(self) -> None:
        if self._model_changed:
            self._find_projector()
        self.check()

    def _find_projector(self) -> None:
        """Fill in the projector found beside the model, unless the user chose one (a choice is kept)."""
        self._model_changed = False
        chosen_by_user = bool(self.projector_edit.text().strip()) and self._found is None
        model = self._path(self.model_edit)
        if chosen_by_user or model is None:
            return
        self._found = find_projector(model)
        self.projector_edit.setText(str(self._found) if self._found is not None else "")

    def _folder(self) -> Path:
        for edit in (self.model_edit, self.projector_edit):
            path = self._path(edit)
            if path is not None and path.parent.is_dir():
                return path.parent
        return self.start_folder

    @staticmethod
    def _path(edit: QLineEdit) -> Path | None:
        text = edit.text().strip()
        return Path(text).expanduser() if text else None

    # --- checking -----------------------------------------------------------------------------

    def check(self) -> bool:
        """Check both fields now, say what is wrong under each, and enable Add when both are sound."""
        self._check_timer.stop()
        model, projector = self._path(self.model_edit), self._path(self.projector_edit)
        picked = check_picked(model, projector)
        self._show(self.model_note, picked.model_problem)
        if model is not None and projector is None:
            found_none = self.tr("No vision projector was found beside the model: choose it with Browse….")
            self._show(self.projector_note, None, found_none if picked.model_problem is None else "")
        else:
            found = self.tr("Found beside the model.") if projector is not None and projector == self._found else ""
            self._show(self.projector_note, picked.projector_problem, found)
        self.add_button.setEnabled(picked.ok and not self.busy)
        return picked.ok

    def _show(self, label: QLabel, problem: ModelFileProblem | None, note: str = "") -> None:
        if problem is not None:
            self._show_error(label, file_problem_text(problem.problem), str(problem))
            return
        label.setText(note)
        label.setToolTip("")
        label.setStyleSheet("")
        label.setVisible(bool(note))

    @staticmethod
    def _show_error(label: QLabel, sentence: str, details: str) -> None:
        label.setText(sentence)
        label.setToolTip(details)  # the core's English sentence: it names the file and the numbers
        label.setStyleSheet(ERROR_STYLE)
        label.show()

    # --- adding -------------------------------------------------------------------------------

    def _add(self) -> None:
        if self.busy or not self.check():
            return
        model, projector = self._path(self.model_edit), self._path(self.projector_edit)
        assert model is not None and projector is not None  # check() said both are sound
        self._set_busy(True)
        self.status_label.setStyleSheet("")
        self.status_label.setText(self.tr("Checking {} and {}…").format(model.name, projector.name))
        self.status_label.show()
        self.addRequested.emit(model, projector)

    def show_failure(self, problem: FileProblem | None, role: str, message: str) -> None:
        """Adding failed on the worker: say it beside the field of the file at fault, or below both."""
        self._set_busy(False)
        self.status_label.hide()
        if problem is not None and role in ("model", "vision projector"):
            self._show_error(self.model_note if role == "model" else self.projector_note,
                             file_problem_text(problem), message)
            self.add_button.setEnabled(False)
            return
        # Not the fault of one file (the folder went away while hashing, say): the core's sentence, below both.
        self._show_error(self.status_label, self.tr("The files could not be added: {}").format(message), message)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_bar.setVisible(busy)
        for widget in (self.model_edit, self.projector_edit, self.model_browse, self.projector_browse):
            widget.setEnabled(not busy)
        self.add_button.setEnabled(not busy)


def _note(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.hide()
    return label
