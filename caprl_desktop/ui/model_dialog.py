"""The model dialog: which CapRL quants fit this machine, download one with progress, or use a GGUF on disk.

Opened on first run when no model is installed, and later from File → Models…. It drives the same core as
``caprl-desktop models``; everything slow (hub listing, backend probe, download, checksums) runs in
``ModelWorker`` on its own thread. Closing the dialog does not stop a download: it goes on and the window
picks the model up when it is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QThread, QUrl, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QDesktopServices, QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models import catalog as catalog_module
from caprl_desktop.core.models.downloads import DownloadProgress
from caprl_desktop.core.models.fit import FitAdvice
from caprl_desktop.core.models.install import InstallPlan, plan_install
from caprl_desktop.core.models.offer import ModelOffer
from caprl_desktop.core.models.store import InstalledFile, ModelStore
from caprl_desktop.core.units import human_size
from caprl_desktop.ui.formatting import duration_text
from caprl_desktop.ui.model_worker import ModelWorker

T = TypeVar("T")
FileRole = Qt.ItemDataRole.UserRole
VERDICT_COLOURS = {"fits": "#2e7d32", "tight": "#b26a00", "too big": "#c62828"}


class ModelDialog(QDialog):
    offerRequested = Signal(str)
    downloadRequested = Signal(object, object)  # InstallPlan, Catalog
    addLocalRequested = Signal(object, object)  # model path, projector path
    modelsChanged = Signal()  # a model was installed, removed or made the default
    downloadEnded = Signal(str)  # "installed", "cancelled" or "failed", after the dialog has shown it

    def __init__(self, store: ModelStore, parent: QWidget | None = None,
                 family_key: str = catalog_module.DEFAULT_FAMILY) -> None:
        super().__init__(parent)
        self.store = store
        self.family_key = family_key
        self.offer: ModelOffer | None = None
        self.busy = False
        self._plan: InstallPlan | None = None
        self._installed_ids: set[str] = set()
        self.setWindowTitle(self.tr("Models — CapRL Desktop"))
        self.resize(760, 640)
        self._build()
        self._start_worker()
        self.refresh_installed()

    # --- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(self.tr(
            "CapRL Desktop captions with CapRL-3B, run on this computer. Pick a quant: smaller ones need less "
            "memory, larger ones are a little more accurate. The vision projector comes with the first download."))
        intro.setWordWrap(True)

        installed_box = QGroupBox(self.tr("On this computer"))
        self.installed_tree = QTreeWidget()
        self.installed_tree.setObjectName("installedModels")
        self.installed_tree.setRootIsDecorated(False)
        self.installed_tree.setHeaderLabels([self.tr("Model"), self.tr("Size"), self.tr("From")])
        self.installed_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.installed_tree.setMaximumHeight(130)
        self.installed_tree.itemSelectionChanged.connect(self._update_buttons)
        self.installed_tree.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.use_button = QPushButton(self.tr("Use this model"))
        self.use_button.clicked.connect(self.use_selected)
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.remove_button.clicked.connect(self._confirm_remove)
        self.local_button = QPushButton(self.tr("Use a GGUF already on disk…"))
        self.local_button.clicked.connect(self.choose_local_files)
        folder_button = QPushButton(self.tr("Open models folder"))
        folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.root))))
        row = QHBoxLayout()
        for button in (self.use_button, self.remove_button, self.local_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(folder_button)
        layout = QVBoxLayout(installed_box)
        layout.addWidget(self.installed_tree)
        layout.addLayout(row)

        download_box = QGroupBox(self.tr("Download from Hugging Face"))
        self.budget_label = QLabel(self.tr("Looking at this computer and the Hugging Face hub…"))
        self.budget_label.setObjectName("budgetLabel")
        self.budget_label.setWordWrap(True)
        self.remote_tree = QTreeWidget()
        self.remote_tree.setObjectName("remoteModels")
        self.remote_tree.setRootIsDecorated(False)
        self.remote_tree.setHeaderLabels([self.tr("Quant"), self.tr("Kind"), self.tr("Download"),
                                          self.tr("Memory needed"), self.tr("On this computer")])
        self.remote_tree.header().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.remote_tree.itemSelectionChanged.connect(self._update_buttons)
        self.remote_tree.itemDoubleClicked.connect(lambda *_: self.download_selected())
        self.imatrix_check = QCheckBox(self.tr("Also show imatrix (i1) quants: often better at 3 bits and below"))
        self.imatrix_check.setObjectName("showImatrix")
        self.imatrix_check.toggled.connect(self._show_imatrix)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("downloadProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.hide()
        self.progress_label = QLabel()
        self.progress_label.setObjectName("downloadStatus")
        self.progress_label.setWordWrap(True)
        self.download_button = QPushButton(self.tr("Download"))
        self.download_button.setObjectName("downloadButton")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton(self.tr("Cancel download"))
        self.cancel_button.clicked.connect(self.cancel_download)
        self.retry_button = QPushButton(self.tr("Look again"))
        self.retry_button.clicked.connect(self.fetch_offer)
        buttons = QHBoxLayout()
        buttons.addWidget(self.imatrix_check)
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(download_box)
        layout.addWidget(self.budget_label)
        layout.addWidget(self.remote_tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        main = QVBoxLayout(self)
        main.addWidget(intro)
        main.addWidget(installed_box)
        main.addWidget(download_box, 1)
        main.addWidget(close)

    def _start_worker(self) -> None:
        self.thread_ = QThread(self)
        self.thread_.setObjectName("caprl-model-worker")
        self.worker = ModelWorker(self.store)
        self.worker.moveToThread(self.thread_)
        self.offerRequested.connect(self.worker.fetch_offer)
        self.downloadRequested.connect(self.worker.download)
        self.addLocalRequested.connect(self.worker.add_local)
        self.worker.offerReady.connect(self._offer_ready)
        self.worker.offerFailed.connect(self._offer_failed)
        self.worker.progress.connect(self._progress)
        self.worker.installed.connect(self._installed)
        self.worker.failed.connect(self._failed)
        self.worker.cancelled.connect(self._cancelled)
        self.thread_.start()

    # --- what is installed --------------------------------------------------------------------

    def refresh_installed(self) -> None:
        self.installed_tree.clear()
        try:
            files = self.store.files()
            default = self.store.default_id()
        except CaprlError as exc:
            self.progress_label.setText(str(exc))
            files, default = [], None
        self._installed_ids = {f.id for f in files}
        projectors = {f.id: f for f in files if f.role == "mmproj"}
        for model in (f for f in files if f.role == "model"):
            projector = projectors.get(model.mmproj or "")
            name = model.label if model.quant else model.filename
            if model.id == default:
                name = self.tr("{} (in use)").format(name)
            size = model.size + (projector.size if projector else 0)
            source = self.tr("Hugging Face") if model.source == "hub" else str(Path(model.path).parent)
            item = QTreeWidgetItem([name, human_size(size), source])
            item.setData(0, FileRole, model)
            item.setToolTip(0, "\n".join(str(self.store.path_of(f)) for f in (model, projector) if f is not None))
            if model.id == default:
                font = QFont(item.font(0))
                font.setBold(True)
                item.setFont(0, font)
            self.installed_tree.addTopLevelItem(item)
        if self.installed_tree.topLevelItemCount() == 0:
            placeholder = QTreeWidgetItem([self.tr("No model yet: download one below, or use a GGUF on disk.")])
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.installed_tree.addTopLevelItem(placeholder)
            placeholder.setFirstColumnSpanned(True)
        if self.offer is not None:
            self._fill_remote(self.offer)
        self._update_buttons()

    def selected_installed(self) -> InstalledFile | None:
        return _selected(self.installed_tree, InstalledFile)

    def use_selected(self) -> None:
        model = self.selected_installed()
        if model is None:
            return
        try:
            self.store.pair_for(model)
            self.store.set_default(model)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("Cannot use this model"), str(exc))
            return
        self.refresh_installed()
        self.modelsChanged.emit()

    def _confirm_remove(self) -> None:
        model = self.selected_installed()
        if model is None:
            return
        question = (self.tr("Delete {} from this computer? It can be downloaded again later.")
                    if model.source == "hub" else
                    self.tr("Forget {}? The file stays where it is."))
        answer = QMessageBox.question(self, self.tr("Remove model"), question.format(model.filename))
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_model(model)

    def remove_model(self, model: InstalledFile) -> None:
        try:
            lines = self.store.remove(model)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("Cannot remove this model"), str(exc))
            return
        self.progress_label.setText("\n".join(lines))
        self.refresh_installed()
        self.modelsChanged.emit()

    def choose_local_files(self) -> None:
        model, _ = QFileDialog.getOpenFileName(self, self.tr("The CapRL text model (GGUF)"), str(Path.home()),
                                               self.tr("GGUF models (*.gguf)"))
        if not model:
            return
        mmproj = guess_projector(Path(model))
        if mmproj is None:
            chosen, _ = QFileDialog.getOpenFileName(self, self.tr("Its vision projector (mmproj GGUF)"),
                                                    str(Path(model).parent), self.tr("GGUF models (*.gguf)"))
            if not chosen:
                return
            mmproj = Path(chosen)
        self.add_local_files(Path(model), mmproj)

    def add_local_files(self, model: Path, mmproj: Path) -> None:
        """Check and record files on disk (on the worker thread: hashing a 2 GB file takes a while)."""
        self._set_busy(True)
        self.progress_label.setText(self.tr("Checking {} and {}…").format(model.name, mmproj.name))
        self.addLocalRequested.emit(model, mmproj)

    # --- what can be downloaded ---------------------------------------------------------------

    def fetch_offer(self) -> None:
        self.retry_button.hide()
        self.budget_label.setText(self.tr("Looking at this computer and the Hugging Face hub…"))
        self.offerRequested.emit(self.family_key)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.offer is None and not self.busy:
            self.fetch_offer()

    def _offer_ready(self, offer: ModelOffer) -> None:
        self.offer = offer
        budget = offer.budget
        memory = human_size(budget.available) if budget.available is not None else self.tr("unknown")
        where = self.tr("RAM") if not budget.gpu else budget.where
        text = self.tr("Judged against {}: {} available.").format(where, memory)
        if not budget.gpu:
            text += " " + self.tr("No GPU is used by this build, so the model runs on the CPU.")
        if offer.recommended:
            text += " " + self.tr("Recommended here: {}.").format(offer.recommended)
        if offer.catalog.note:
            text += "\n" + offer.catalog.note
        self.budget_label.setText(text)
        self.retry_button.setVisible(not offer.catalog.from_hub)
        self._fill_remote(offer)
        self._update_buttons()

    def _offer_failed(self, message: str) -> None:
        self.budget_label.setText(message)
        self.retry_button.show()

    def _fill_remote(self, offer: ModelOffer) -> None:
        previous = self.selected_advice()
        self.remote_tree.clear()
        installed = self._installed_ids
        verdicts = {"fits": self.tr("fits"), "tight": self.tr("tight"), "too big": self.tr("too big"),
                    "unknown": self.tr("unknown")}
        choose: QTreeWidgetItem | None = None
        for advice in sorted(offer.advice, key=lambda a: (a.file.imatrix, a.file.size)):
            remote = advice.file
            notes = [verdicts[advice.verdict]]
            if remote.label == offer.recommended:
                notes.append(self.tr("recommended"))
            if f"{remote.repo}/{remote.filename}" in installed:
                notes.append(self.tr("installed"))
            kind = self.tr("imatrix") if remote.imatrix else self.tr("static")
            item = QTreeWidgetItem([remote.label, kind, human_size(remote.size), human_size(advice.needed),
                                    " · ".join(notes)])
            item.setData(0, FileRole, advice)
            item.setToolTip(0, f"{remote.repo}/{remote.filename}")
            colour = VERDICT_COLOURS.get(advice.verdict)
            if colour:
                item.setForeground(4, QBrush(QColor(colour)))
            for column in (2, 3):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if remote.label == offer.recommended:
                font = QFont(item.font(0))
                font.setBold(True)
                for column in range(5):
                    item.setFont(column, font)
            self.remote_tree.addTopLevelItem(item)
            item.setHidden(remote.imatrix and not self.imatrix_check.isChecked())
            wanted = previous.file == remote if previous is not None else remote.label == offer.recommended
            if wanted:
                choose = item
        for column in range(4):
            self.remote_tree.resizeColumnToContents(column)
        if choose is not None:
            self.remote_tree.setCurrentItem(choose)

    def _show_imatrix(self, shown: bool) -> None:
        for i in range(self.remote_tree.topLevelItemCount()):
            item = self.remote_tree.topLevelItem(i)
            advice = item.data(0, FileRole) if item is not None else None
            if item is not None and isinstance(advice, FitAdvice) and advice.file.imatrix:
                item.setHidden(not shown)

    def selected_advice(self) -> FitAdvice | None:
        return _selected(self.remote_tree, FitAdvice)

    def download_selected(self) -> None:
        advice = self.selected_advice()
        if advice is None or self.offer is None or self.busy:
            return
        remote = advice.file
        try:
            plan = plan_install(self.offer.catalog, self.store, remote.quant, imatrix=remote.imatrix)
        except CaprlError as exc:
            self.progress_label.setText(str(exc))
            return
        if not plan.downloads:
            self.progress_label.setText(self.tr("{} is already installed.").format(remote.filename))
        else:
            self.progress_label.setText(self.tr("Downloading {}").format(plan.describe()))
        self._plan = plan
        self._set_busy(True)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.downloadRequested.emit(plan, self.offer.catalog)

    def cancel_download(self) -> None:
        self.worker.cancel()
        self.progress_label.setText(self.tr("Cancelling…"))

    def _progress(self, event: DownloadProgress) -> None:
        """One bar for the whole install (projector and model), the line for the file at hand."""
        files = self._plan.downloads if self._plan is not None else ()
        names = [f.filename for f in files]
        index = names.index(event.filename) if event.filename in names else 0
        total = sum(f.size for f in files) or event.total
        before = sum(f.size for f in files[:index])
        if event.phase == "verifying":
            text = self.tr("Checking {}: {} of {}").format(event.filename, human_size(event.done),
                                                          human_size(event.total))
        else:
            self.progress_bar.setValue(int((before + event.done) / max(total, 1) * 1000))
            text = self.tr("{}: {} of {}").format(event.filename, human_size(event.done), human_size(event.total))
            if len(files) > 1:
                text = self.tr("File {} of {}").format(index + 1, len(files)) + " · " + text
            if event.bytes_per_second:
                text += " · " + self.tr("{}/s").format(human_size(event.bytes_per_second))
                remaining = total - before - event.done
                text += " · " + self.tr("{} left").format(duration_text(remaining / event.bytes_per_second))
        self.progress_label.setText(text)

    def _installed(self, model: InstalledFile) -> None:
        self._set_busy(False)
        self.progress_bar.hide()
        self.progress_label.setText(self.tr("{} is installed and in use.").format(model.filename))
        self.refresh_installed()
        self.modelsChanged.emit()
        self.downloadEnded.emit("installed")

    def _failed(self, message: str) -> None:
        self._set_busy(False)
        self.progress_bar.hide()
        self.progress_label.setText(message)
        self.downloadEnded.emit("failed")

    def _cancelled(self, message: str) -> None:
        self._set_busy(False)
        self.progress_label.setText(self.tr("Download cancelled. What was downloaded is kept: the next download "
                                            "continues from there."))
        self.downloadEnded.emit("cancelled")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        model = self.selected_installed()
        downloadable = self.offer is not None and self.offer.catalog.from_hub
        self.use_button.setEnabled(model is not None and not self.busy)
        self.remove_button.setEnabled(model is not None and not self.busy)
        self.local_button.setEnabled(not self.busy)
        self.download_button.setEnabled(downloadable and self.selected_advice() is not None and not self.busy)
        self.cancel_button.setVisible(self.busy)

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        # A download goes on while the dialog is closed; shutdown() (when the window closes) stops it.
        self.hide()
        event.ignore()

    def shutdown(self) -> None:
        self.worker.cancel()
        self.thread_.quit()
        self.thread_.wait(30000)


def _selected(tree: QTreeWidget, kind: type[T]) -> T | None:
    items = tree.selectedItems()
    data = items[0].data(0, FileRole) if items else None
    return data if isinstance(data, kind) else None


def guess_projector(model: Path) -> Path | None:
    """The vision projector beside ``model`` when there is exactly one (as LM Studio and our store keep them)."""
    try:
        candidates = [p for p in model.parent.glob("*.gguf") if "mmproj" in p.name.lower() and p != model]
    except OSError:
        return None
    return candidates[0] if len(candidates) == 1 else None
