"""File → Export captions: the format, where the file goes and which images; then what the export did.

The file starts in the images' folder (the folder all exported images share) under the format's own name;
a ``metadata.jsonl`` must sit in the folder it describes (Hugging Face ImageFolder resolves its names there),
so for it the field is that folder. Before anything is written the dialog says how many rows the file will
hold and which are left out, and why; the counts come from the core's writers (``plan_export`` before,
``write_records`` after), never from the rows handed over.

Every caption the listed images have on disk is exported, whichever session made it: the dialog first reads
them off the GUI thread with what the journal knows of each (``core/jobs/on_disk.py``: the run's record and
provenance where the caption is still the model's, "edited by hand" or "from disk" where not), and says how
many are which. A row with nothing on disk is exported from this session's record (a failure, a caption made
but not saved), or left out as not captioned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import (
    EXPORT_KINDS,
    SOURCE_DISK,
    SOURCE_EDITED,
    SOURCE_MODEL,
    CaptionRecord,
    ExportReport,
    LeftOutReason,
    plan_export,
    write_records,
)
from caprl_desktop.core.jobs.on_disk import known_captions
from caprl_desktop.ui.disk_captions import DiskReader
from caprl_desktop.ui.queue_model import QueueModel, State
from caprl_desktop.ui.settings import AppSettings

FILE_NAMES = {"csv": "captions.csv", "jsonl": "captions.jsonl", "metadata": "metadata.jsonl"}
PREVIEW_DELAY_MS = 200  # after the last key typed: a preview of a metadata file resolves every image's path


OnDisk = Mapping[Path, CaptionRecord]  # the captions the rows have on disk, with what the journal knows


def disk_reading(queue: QueueModel, caption_folder: Path | None) -> Callable[[], OnDisk]:
    """The work of reading every listed image's caption on disk (a pool thread's; what it needs of the rows is
    taken now, on the GUI thread)."""
    items = [entry.item for entry in queue.entries]
    # Captions the model made in this session: they stand for the journal's records, should it have missed one.
    session = {e.path: e.record for e in queue.entries if e.record is not None and e.state == State.DONE
               and e.record.source == SOURCE_MODEL and not e.record.error}

    def read() -> OnDisk:
        return {path: found.record for path, found in known_captions(items, caption_folder, session).items()}

    return read


def gather(queue: QueueModel, rows: Iterable[int] | None, on_disk: OnDisk | None = None,
           ) -> tuple[list[CaptionRecord], list[str]]:
    """The records to export from ``rows`` (None: all): the caption each has on disk (``on_disk``), else this
    session's record of it; and the paths of those with neither (not captioned)."""
    chosen = range(len(queue.entries)) if rows is None else list(rows)
    records: list[CaptionRecord] = []
    not_captioned: list[str] = []
    for row in chosen:
        path = queue.entry(row).path
        found = (on_disk or {}).get(path)
        made = [found] if found is not None else queue.records([row])
        records += made
        if not made:
            not_captioned.append(str(path))
    return records, not_captioned


def _failed_without_record(queue: QueueModel, paths: list[str]) -> set[str]:
    """Images refused before a caption was tried (another run held their folder): failed, not waiting."""
    failed = set()
    for path in paths:
        row = queue.row_of(Path(path))
        if row is not None and queue.entry(row).state == State.FAILED:
            failed.add(path)
    return failed


def with_uncaptioned(report: ExportReport, queue: QueueModel, paths: list[str]) -> ExportReport:
    failed = _failed_without_record(queue, paths)
    report = report.plus_left_out([p for p in paths if p in failed], LeftOutReason.FAILED)
    return report.plus_left_out([p for p in paths if p not in failed], LeftOutReason.NOT_CAPTIONED)


def export_rows(queue: QueueModel, target: Path, kind: str, rows: Iterable[int] | None, *,
                csv_columns: str = "default", caption_folder: Path | None = None,
                on_disk: OnDisk | None = None) -> ExportReport:
    """Write the export; the report counts what the writer wrote and every chosen image it did not. ``on_disk``
    None: the captions on disk are read here (``caption_folder``: where captions go when not beside images)."""
    if on_disk is None:
        on_disk = disk_reading(queue, caption_folder)()
    records, not_captioned = gather(queue, rows, on_disk)
    return with_uncaptioned(write_records(target, kind, records, csv_columns=csv_columns), queue, not_captioned)


def images_folder(paths: Iterable[Path]) -> Path | None:
    """The deepest folder holding all of them, or None (none, or on different drives)."""
    folders = {str(p.parent) for p in paths}
    if not folders:
        return None
    try:
        return Path(os.path.commonpath(sorted(folders)))
    except ValueError:
        return None



def left_out_text(report: ExportReport) -> str:
    """"left out: 1 not in that folder, 2 not captioned", or "" when nothing was."""
    texts = {
        LeftOutReason.OUTSIDE_FOLDER: QCoreApplication.translate("ExportDialog", "{} not in that folder"),
        LeftOutReason.NOT_CAPTIONED: QCoreApplication.translate("ExportDialog", "{} not captioned"),
        LeftOutReason.FAILED: QCoreApplication.translate("ExportDialog", "{} failed"),
    }
    counts = report.left_out_by_reason()
    parts = [texts[reason].format(counts[reason]) for reason in texts if reason in counts]
    return QCoreApplication.translate("ExportDialog", "left out: {}").format(", ".join(parts)) if parts else ""


def sources_text(report: ExportReport) -> str:
    """"(12 by the model, 3 edited by hand, 15 found on disk)"; "" when every caption is the model's as made."""
    counts = report.by_source()
    if not counts.get(SOURCE_EDITED) and not counts.get(SOURCE_DISK):
        return ""
    texts = {SOURCE_MODEL: QCoreApplication.translate("ExportDialog", "{} by the model"),
             SOURCE_EDITED: QCoreApplication.translate("ExportDialog", "{} edited by hand"),
             SOURCE_DISK: QCoreApplication.translate("ExportDialog", "{} found on disk")}
    parts = [texts[source].format(n) for source, n in counts.items() if source in texts]
    return QCoreApplication.translate("ExportDialog", "({})").format(
        QCoreApplication.translate("ExportDialog", ", ").join(parts))


def _join(first: str, report: ExportReport) -> str:
    sources = sources_text(report)
    parts = [f"{first} {sources}" if sources else first]
    if report.with_errors:
        parts.append(QCoreApplication.translate("ExportDialog", "{} of them failed (the file gives the reason)")
                     .format(report.with_errors))
    left = left_out_text(report)
    if left:
        parts.append(left)
    return " · ".join(parts)


def report_text(report: ExportReport) -> str:
    """What an export did, for the status bar: the rows in the file and those left out, with the reason."""
    if report.target is None:
        return _join(QCoreApplication.translate("ExportDialog", "Nothing exported"), report)
    exported = QCoreApplication.translate("ExportDialog", "Exported {} captions to {}")
    return _join(exported.format(report.written, report.target), report)


def preview_text(report: ExportReport) -> str:
    if not report.written:
        return _join(QCoreApplication.translate("ExportDialog", "Nothing to export"), report)
    return _join(QCoreApplication.translate("ExportDialog", "{} captions to export").format(report.written), report)


class ExportDialog(QDialog):
    exported = Signal(object)  # ExportReport, once the file is written
    refreshed = Signal()  # the preview says what Export would write now (it follows typing after a pause)

    def __init__(self, queue: QueueModel, selected_rows: list[int], settings: AppSettings,
                 parent: QWidget | None = None, *, reader: DiskReader | None = None) -> None:
        """``reader``: where the captions on disk are read (a pool thread; the window's); without one they are
        read here and now."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export captions"))
        self.setObjectName("exportDialog")
        self.queue, self.selected_rows, self.settings = queue, list(selected_rows), settings
        self.report: ExportReport | None = None
        self.on_disk: OnDisk | None = None  # None until read
        folder = settings.caption_folder
        self._reading = disk_reading(queue, Path(folder) if folder else None)

        self.formats = QButtonGroup(self)
        format_box = QVBoxLayout()
        format_box.setSpacing(2)
        labels = {
            "csv": self.tr("CSV for Excel (captions.csv)"),
            "jsonl": self.tr("JSON Lines (captions.jsonl)"),
            "metadata": self.tr("Hugging Face dataset (metadata.jsonl)"),
        }
        for number, kind in enumerate(EXPORT_KINDS):
            button = QRadioButton(labels[kind])
            button.setObjectName(f"format_{kind}")
            self.formats.addButton(button, number)
            format_box.addWidget(button)
        self.format_hint = QLabel()
        self.format_hint.setWordWrap(True)
        self.format_hint.setEnabled(False)  # greyed: an explanation, not a choice
        format_box.addWidget(self.format_hint)

        self.location_label = QLabel()
        self.location = QLineEdit()
        self.location.setObjectName("exportLocation")
        self.location.setMinimumWidth(420)
        self.browse_button = QPushButton(self.tr("Browse…"))
        location_row = QHBoxLayout()
        location_row.addWidget(self.location, 1)
        location_row.addWidget(self.browse_button)

        count = len(self.selected_rows)
        self.only_selected = QCheckBox(self.tr("Only the selected image") if count == 1
                                       else self.tr("Only the {} selected images").format(count) if count
                                       else self.tr("Only the selected images"))
        self.only_selected.setEnabled(bool(count))
        # CSV only: JSON Lines always holds the provenance, metadata.jsonl never.
        self.full_columns = QCheckBox(self.tr("Also where each caption came from (model checksums, device, "
                                              "sampling, seed, timings)"))
        self.full_columns.setObjectName("exportFullColumns")

        self.preview = QLabel()
        self.preview.setObjectName("exportPreview")
        self.preview.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton(self.tr("Export"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)

        form = QFormLayout()
        form.addRow(self.tr("Format:"), format_box)
        form.addRow(self.location_label, location_row)
        form.addRow(self.tr("Images:"), self.only_selected)
        form.addRow(self.tr("Columns:"), self.full_columns)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh)
        self._default = ""
        self.formats.idToggled.connect(self._format_toggled)
        self.only_selected.toggled.connect(lambda _on: self._rows_changed())
        self.location.textEdited.connect(lambda _text: self._preview_timer.start())
        self.browse_button.clicked.connect(self.browse)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        if reader is None:
            self.on_disk = self._reading()
        else:
            reader.run(self._reading, self._read)
        self.formats.button(0).setChecked(True)

    # --- the choices --------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return EXPORT_KINDS[max(0, self.formats.checkedId())]

    def set_kind(self, kind: str) -> None:
        self.formats.button(EXPORT_KINDS.index(kind)).setChecked(True)

    @property
    def rows(self) -> list[int] | None:
        """The rows to export; None for all."""
        return self.selected_rows if self.only_selected.isChecked() else None

    def start_folder(self) -> Path:
        """Where the file starts: the images' folder; a CSV or JSON Lines file where the last one went."""
        last = self.settings.last_export_folder
        if self.kind != "metadata" and last and Path(last).is_dir():
            return Path(last)
        records, _ = gather(self.queue, self.rows, self.on_disk)
        chosen = range(len(self.queue.entries)) if self.rows is None else self.rows
        paths = [Path(r.path) for r in records] or [self.queue.entry(r).path for r in chosen]
        return images_folder(paths) or Path(last or Path.home())

    def default_text(self) -> str:
        folder = self.start_folder()
        return str(folder if self.kind == "metadata" else folder / FILE_NAMES[self.kind])

    @property
    def target(self) -> Path | None:
        """The file to write, from the field; None while it is empty."""
        text = self.location.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.start_folder() / path
        if self.kind == "metadata":
            return path if path.name == FILE_NAMES["metadata"] else path / FILE_NAMES["metadata"]
        return path / FILE_NAMES[self.kind] if path.is_dir() else path

    def _format_toggled(self, _number: int, on: bool) -> None:
        if on:  # (the button turned off says nothing new)
            self._format_changed()

    def _format_changed(self) -> None:
        kind = self.kind
        self.location_label.setText(self.tr("Folder:") if kind == "metadata" else self.tr("Save as:"))
        self.full_columns.setEnabled(kind == "csv")
        self.format_hint.setText({
            "csv": self.tr("Every column (file name, caption, language, prompt, model, timings, error, path); "
                           "Excel shows Japanese correctly."),
            "jsonl": self.tr("The same columns as JSON, one image per line."),
            "metadata": self.tr("file_name and text, as Hugging Face ImageFolder reads them. The file sits in "
                                "the folder it describes: images outside it are left out, and so are failed "
                                "ones."),
        }[kind])
        text = self.location.text().strip()
        if not text or text == self._default:
            self._set_default()
        else:  # typed or browsed: keep that folder, with this format's file name
            typed = Path(text).expanduser()
            folder = typed if typed.is_dir() or not typed.suffix else typed.parent
            self.location.setText(str(folder if kind == "metadata" else folder / FILE_NAMES[kind]))
        self.refresh()

    def _rows_changed(self) -> None:
        if self.location.text().strip() == self._default:
            self._set_default()  # the images' folder of the selection may be another
        self.refresh()

    def _set_default(self) -> None:
        self._default = self.default_text()
        self.location.setText(self._default)

    def browse(self) -> None:
        current = self.target
        if self.kind == "metadata":
            chosen = QFileDialog.getExistingDirectory(self, self.tr("Folder of the images"),
                                                      str(current.parent if current else self.start_folder()))
        else:
            pattern = {"csv": self.tr("CSV (*.csv)"), "jsonl": self.tr("JSON Lines (*.jsonl)")}[self.kind]
            chosen, _ = QFileDialog.getSaveFileName(self, self.tr("Export captions"),
                                                    str(current or self.start_folder()), pattern)
        if chosen:
            self.location.setText(chosen)
            self.refresh()

    # --- preview and export -------------------------------------------------------------------

    def _read(self, on_disk: OnDisk) -> None:
        if not shiboken6.isValid(self):
            return  # closed and gone meanwhile
        self.on_disk = on_disk
        self._rows_changed()  # (the images' folder may be another with the captions found)

    def planned(self) -> ExportReport | None:
        target = self.target
        if target is None or self.on_disk is None:
            return None
        records, not_captioned = gather(self.queue, self.rows, self.on_disk)
        return with_uncaptioned(plan_export(target, self.kind, records), self.queue, not_captioned)

    def refresh(self) -> None:
        """Say what Export would write; it is enabled only when that is something."""
        self._preview_timer.stop()
        target = self.target
        plan = self.planned()
        if self.on_disk is None:
            text, ok = self.tr("Reading the captions on disk…"), False
        elif target is None or plan is None:
            text, ok = self.tr("Choose where the file goes."), False
        elif not target.parent.is_dir():
            text, ok = self.tr("The folder {} does not exist.").format(target.parent), False
        else:
            text, ok = preview_text(plan), plan.written > 0
            if ok and target.exists():
                text += " · " + self.tr("replaces the {} there").format(target.name)
        self.preview.setText(text)
        self.export_button.setEnabled(ok)
        self.refreshed.emit()

    def export(self) -> None:
        """Write the file; on success close and hand on the report, else say why and stay open."""
        if self.on_disk is None:  # (asked before the reading ended: read now)
            self.on_disk = self._reading()
        self.refresh()
        target = self.target
        if target is None or not self.export_button.isEnabled():
            return
        try:
            columns = "full" if self.kind == "csv" and self.full_columns.isChecked() else "default"
            self.report = export_rows(self.queue, target, self.kind, self.rows, csv_columns=columns,
                                      on_disk=self.on_disk)
        except CaprlError as exc:
            self.preview.setText(self.tr("Export failed: {}").format(exc))
            return
        if self.kind != "metadata":  # a metadata file's folder is the images' own, not a place to remember
            self.settings.last_export_folder = str(target.parent)
        self.accept()
        self.exported.emit(self.report)
