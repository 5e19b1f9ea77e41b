"""The caption of the selected image: streams in while it is made, editable after, saved to its sidecar.

A failed image has no caption: its reason is shown above a read-only, empty editor, and nothing is saved
for it, so the reason can never end up in a sidecar (where the next run would take it for a caption).

Below it, a collapsed "Details" section shows where the caption came from (its record's ``Provenance``:
model and checksums, device, sampling, the seed used, image size, timings), read-only, for copying; for a caption
edited by hand, first that it was, when, and the model's caption the details are of.

Each save is handed on (``recorded``) to be journaled as an edit, which keeps the image's history: Undo,
Revert to the model's caption and the caption a re-caption replaced (``CaptionVersions``) put a caption back by
saving it the same way. A description in the image that an edit left out of date gets a button to write it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPalette, QTextOption
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QToolButton, QVBoxLayout, QWidget

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.existing import same_caption
from caprl_desktop.core.jobs.history import CaptionHistory
from caprl_desktop.core.jobs.journal import EditKind
from caprl_desktop.core.jobs.sidecars import plan_sidecars, write_sidecar
from caprl_desktop.ui.caption_edits import SavedCaption
from caprl_desktop.ui.caption_versions import CaptionVersions, when_text
from caprl_desktop.ui.contrast import error_colour

SAVE_DELAY_MS = 800


class CaptionPanel(QWidget):
    saved = Signal(object, str)  # image path, caption
    saveFailed = Signal(str)
    recorded = Signal(object)  # SavedCaption: what was saved where, and how (typed, put back), for the journal
    describeRequested = Signal(object)  # image path: write its caption as its description (one out of date)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.caption_folder: Path | None = None  # where sidecars go when not beside the images
        self._root: Path | None = None
        self._sidecar: Path | None = None
        self._streaming = False
        self._editable = True  # False for a failed image: its editor shows no caption and saves nothing
        self._provenance: Provenance | None = None
        self._shown_text: str | None = None  # the caption as shown, or as last saved: what an edit changes
        self._history: CaptionHistory | None = None  # of the caption on display, once read
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("captionEditor")
        # Tab moves on (to Copy) instead of typing a tab: one typed by accident was saved into the sidecar.
        self.editor.setTabChangesFocus(True)
        self.error = QLabel()
        self.error.setObjectName("captionError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        colour = error_colour(self.palette().color(QPalette.ColorRole.Window))
        self.error.setStyleSheet(f"QLabel {{ color: {colour.name()}; }}")
        self.error.hide()
        self.counter = QLabel()
        self.description = QLabel()  # "Description written into the image", when asked for
        self.description.setObjectName("captionDescription")
        self.description.setWordWrap(True)
        self.description.hide()
        self.describe_button = QPushButton(self.tr("Write it into the image"))
        self.describe_button.setObjectName("captionDescribe")
        self.describe_button.clicked.connect(lambda: self.describeRequested.emit(self.path))
        self.describe_button.hide()
        self.versions = CaptionVersions()
        self.versions.putBack.connect(self._put_back)
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy the caption (Ctrl+Shift+C)"))
        self.copy_button.clicked.connect(self.copy)
        self.status = QLabel()
        self.status.setObjectName("saveStatus")
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        self.editor.textChanged.connect(self._text_changed)
        self.details_button = QToolButton()
        self.details_button.setObjectName("captionDetailsToggle")
        self.details_button.setText(self.tr("Details"))
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.toggled.connect(self._toggle_details)
        self.details = QPlainTextEdit()
        self.details.setObjectName("captionDetails")
        self.details.setReadOnly(True)
        # A checksum is broken only where it has a space (none): moved whole to a line of its own, never split
        # with its last character alone on the next one.
        self.details.setWordWrapMode(QTextOption.WrapMode.WordWrap)
        self.details.setMaximumHeight(self.fontMetrics().lineSpacing() * 9)
        self.details.hide()

        bottom = QHBoxLayout()
        bottom.addWidget(self.counter)
        bottom.addStretch(1)
        bottom.addWidget(self.status)
        bottom.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.error)
        layout.addWidget(self.editor, 1)
        described = QHBoxLayout()
        described.addWidget(self.description, 1)
        described.addWidget(self.describe_button)
        layout.addLayout(described)
        layout.addLayout(bottom)
        layout.addWidget(self.versions)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details)
        self.show_entry(None, "", streaming=False)

    @property
    def save_pending(self) -> bool:
        """An edit waits for its delay to be saved."""
        return self._save_timer.isActive()

    def flush(self) -> None:
        """Save an edit still waiting for its delay (closing the window, switching images)."""
        if self._save_timer.isActive():
            self.save()

    def show_entry(self, path: Path | None, text: str, *, streaming: bool, sidecar: Path | None = None,
                   tokens: int | None = None, root: Path | None = None, error: str = "", editable: bool = True,
                   hint: str = "", provenance: Provenance | None = None, description: str = "") -> None:
        """Show ``path``'s caption; a pending edit of the previous image is saved first.

        ``sidecar``: where its caption is, when known; else it is worked out on saving (which reads the
        folder, so not on every selection).  ``root``: the folder the image was added with.  ``error``: why
        it failed, shown above the caption.  ``editable`` False: nothing to edit or save (a failed image).
        ``hint``: what the empty editor says instead of the usual placeholder.  ``provenance``: where the
        caption came from, for the Details section.  ``description``: whether it is in the image's own
        metadata too (a line under the caption; empty: not asked for, or not known this session).
        """
        self.flush()
        same = path is not None and path == self.path and same_caption(text, self.editor.toPlainText())
        self.path = path
        self._root = root
        self._sidecar = sidecar
        self._streaming = streaming
        self._editable = editable
        self.title.setText(path.name if path is not None else self.tr("No image selected"))
        self.error.setText(error)
        self.error.setVisible(bool(error))
        self.editor.setPlaceholderText(hint or self.tr("The caption of the selected image appears here."))
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self._shown_text = text if text else None  # (an empty editor's first save is a caption written by hand)
        self.editor.setReadOnly(streaming or path is None or not editable)
        self.status.clear()
        self._update_counter(tokens)
        self._provenance = provenance
        if not same:  # (shown again as it was: the history read for it still holds)
            self._history = None
        self.versions.show_history(self._history)
        self._show_details()
        self.description.setText(description)
        self.description.setVisible(bool(description))
        self.describe_button.hide()

    def show_history(self, path: Path, history: CaptionHistory) -> None:
        """The history of ``path``'s caption (read off the GUI thread): shown if it is the image on display and
        its caption is still the one the history was read with."""
        if path != self.path or self._streaming or not self._editable or history.current is None:
            return
        if not same_caption(history.current, self.editor.toPlainText()):
            return  # typed on since: the history of what is saved next comes
        self._history = history
        self.versions.show_history(history)
        self._show_details()

    def offer_description(self, offered: bool) -> None:
        """Show the button that writes the caption as the image's description (its description is out of date)."""
        self.describe_button.setVisible(offered and self.path is not None)

    def _show_details(self) -> None:
        history = self._history
        lines = ""
        if history is not None and history.edited_by_hand:
            when = when_text(history.edited_at)
            lines = (self.tr("Edited by hand: {}").format(when) if when else self.tr("Edited by hand")) + "\n"
            lines += self.tr("The model's caption (the details below are of it): {}").format(
                history.model_caption) + "\n"
        # A caption from another session has no record here: its run's, from the journal, says the same.
        provenance = self._provenance or (history.model_provenance if history is not None else None)
        self.details.setPlainText(lines + self.details_text(provenance))

    def details_text(self, p: Provenance | None) -> str:
        """The provenance as "Label: value" lines; a field without a value (a server's caption has no checksums,
        a failed image no seed or size) has no line, rather than an empty one."""
        if p is None:
            return self.tr("No details: the caption was not made by this app's run, or is not made yet.")
        model = p.model_file
        quant = " ".join(part for part in (p.model_family, p.model_quant) if part)
        if model and quant:
            model += f" ({quant})"
        image = ""
        if p.image_width and p.image_height:
            image = self.tr("{}×{} px").format(p.image_width, p.image_height)
            if p.image_tokens:
                image += self.tr(", {} image tokens (up to {})").format(p.image_tokens, p.image_max_tokens)
        times = [text.format(ms) for text, ms in ((self.tr("encode {} ms"), p.image_encode_ms),
                                                  (self.tr("prompt {} ms"), p.prompt_ms),
                                                  (self.tr("decode {} ms"), p.decode_ms)) if ms is not None]
        lines = [
            (self.tr("Model"), model or quant),
            (self.tr("Server"), " · ".join(part for part in (p.engine, p.engine_model) if part)),
            (self.tr("Model sha256"), p.model_sha256),
            (self.tr("Projector"), p.projector_file),
            (self.tr("Projector sha256"), p.projector_sha256),
            (self.tr("Device"), p.device),
            (self.tr("Seed"), "" if p.seed is None else str(p.seed)),
            (self.tr("Sampling"), self.tr("temperature {}, top-p {}, repeat penalty {}, up to {} tokens").format(
                p.temperature, p.top_p, p.repeat_penalty, p.max_tokens)),
            (self.tr("Image"), image),
            (self.tr("Finished"), self.finish_text(p.finish_reason, p.max_tokens)),
            (self.tr("Times"), ", ".join(times)),
            (self.tr("Preset"), p.preset),
            (self.tr("System prompt"), p.system_prompt),
            (self.tr("App version"), p.app_version),
        ]
        return "\n".join(f"{label}: {value}" for label, value in lines if value)

    def finish_text(self, reason: str | None, max_tokens: int) -> str:
        """How the caption ended, in words: "cut off at 48 tokens" rather than llama.cpp's "length"."""
        if reason == "length":
            return self.tr("cut off at {} tokens (the most a caption may have)").format(max_tokens)
        if reason == "context":
            return self.tr("cut off: the model's context was full")
        if reason == "stop":
            return self.tr("complete (the model ended it)")
        if reason == "cancelled":
            return self.tr("stopped part way")
        return reason or ""

    def _toggle_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def append(self, path: Path, piece: str, tokens: int) -> None:
        """A streamed piece: shown only if ``path`` is the image on display."""
        if path != self.path:
            return
        self.editor.blockSignals(True)
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(piece)
        self.editor.blockSignals(False)
        self.editor.ensureCursorVisible()
        self._update_counter(tokens)

    def show_token_count(self, path: Path, text: str, tokens: int) -> None:
        """The tokens of a saved edit, counted by the model: shown if that text is still the one on display."""
        if path == self.path and text == self.editor.toPlainText():
            self._update_counter(tokens)

    def _update_counter(self, tokens: int | None) -> None:
        chars = len(self.editor.toPlainText())
        text = self.tr("1 character") if chars == 1 else self.tr("{} characters").format(chars)
        if tokens:
            text += " · " + (self.tr("1 token") if tokens == 1 else self.tr("{} tokens").format(tokens))
        self.counter.setText(text)

    def _text_changed(self) -> None:
        if self.path is None or self._streaming or not self._editable:
            return
        self._update_counter(None)
        self.status.setText(self.tr("Edited"))
        self._save_timer.start()

    def save(self) -> None:
        """Save the caption on display (typed; also Ctrl+S, and a pending edit before the image changes)."""
        self._save("edit")

    def _save(self, kind: EditKind) -> None:
        """``kind``: how the caption came (typed, or put back from its history), as the journal records it."""
        self._save_timer.stop()
        if self.path is None or self._streaming or not self._editable:
            return
        item = ImageItem(self.path, item_root := self._root or self.path.parent)
        sidecar = self._sidecar or plan_sidecars([item], self.caption_folder).paths[self.path]
        text = self.editor.toPlainText()
        try:
            write_sidecar(sidecar, text)
        except CaprlError as exc:
            self.status.setText(self.tr("Not saved"))
            self.saveFailed.emit(str(exc))
            return
        self._sidecar = sidecar
        self.status.setText(self.tr("Saved to {}").format(sidecar.name))
        changed = kind != "edit" or self._shown_text is None or not same_caption(text, self._shown_text)
        self._shown_text = text
        self.saved.emit(self.path, text)
        if changed:  # (Ctrl+S on a caption as it was is no edit of it)
            self.recorded.emit(SavedCaption(self.path, item_root, sidecar, text, kind))

    def _put_back(self, text: str, kind: str) -> None:
        """Undo or Revert: ``text`` shown and saved at once, recorded as what it is."""
        if self.path is None or self._streaming or not self._editable:
            return
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self._update_counter(None)
        self._save("revert" if kind == "revert" else "undo")

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.editor.toPlainText())
        self.status.setText(self.tr("Copied"))
