"""The model dialog: which CapRL quants fit this machine, download one with progress, or use files on disk.

Opened on first run when no model is installed, and later from File → Models…. It drives the same core as
``caprl-desktop models`` and shows the same numbers (``core/models/listing.py``); everything slow (hub
listing, backend probe, download, checksums) runs in ``ModelWorker`` on its own thread. Closing the dialog
does not stop a download: it goes on and the window picks the model up when it is installed.

When Hugging Face cannot be used, the download area says so as a state, in the user's language and beside
the list it could not fill: "Offline: use model files on disk", why, that as the main action, and Try again.
Files on disk are picked in ``LocalModelDialog`` (model and projector in one dialog).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QThread, QUrl, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QDesktopServices, QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
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
from caprl_desktop.core.models.files import FileProblem
from caprl_desktop.core.models.fit import FitAdvice
from caprl_desktop.core.models.hub_problem import HubProblem
from caprl_desktop.core.models.install import InstallPlan, plan_install
from caprl_desktop.core.models.listing import installed_rows, quant_rows
from caprl_desktop.core.models.offer import ModelOffer
from caprl_desktop.core.models.store import InstalledFile, ModelStore
from caprl_desktop.core.units import human_size
from caprl_desktop.ui.formatting import duration_text
from caprl_desktop.ui.language import current as interface_language
from caprl_desktop.ui.local_model_dialog import LocalModelDialog
from caprl_desktop.ui.model_problems import hub_problem_text
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
        self.hub_problem: HubProblem | None = None  # why the hub cannot be used now; None while it can
        self.local_dialog: LocalModelDialog | None = None
        # Before a model is removed: ends an engine that has its files open (the window sets it), then tells
        # the callback None, or why that cannot be done now. It may answer later: the engine ends on its thread.
        self.release_files: Callable[[set[Path], Callable[[str | None], None]], None] = lambda paths, then: then(None)
        self.setWindowTitle(self.tr("Models — CapRL Desktop"))
        self.resize(760, 640)
        self._build()
        self._start_worker()
        self.refresh_installed()

    # --- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(self.tr(
            "CapRL Desktop captions with a CapRL model, run on this computer. Pick a model and a quant: smaller "
            "ones need less memory, larger ones are a little more accurate. The vision projector comes with the "
            "first download."))
        intro.setWordWrap(True)

        installed_box = QGroupBox(self.tr("On this computer"))
        self.installed_tree = QTreeWidget()
        self.installed_tree.setObjectName("installedModels")
        self.installed_tree.setRootIsDecorated(False)
        self.installed_tree.setHeaderLabels([self.tr("Model"), self.tr("Size"), self.tr("From")])
        self.installed_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Both lists grow with the dialog, the one to download from the more (``main`` below).
        self.installed_tree.setMinimumHeight(70)
        self.installed_tree.itemSelectionChanged.connect(self._update_buttons)
        self.installed_tree.itemDoubleClicked.connect(lambda *_: self.use_selected())
        self.use_button = QPushButton(self.tr("Use this model"))
        self.use_button.clicked.connect(self.use_selected)
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.remove_button.clicked.connect(self._confirm_remove)
        self.local_button = QPushButton(self.tr("Use model files on disk…"))
        self.local_button.setObjectName("localFilesButton")
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
        self.family_choice = QComboBox()
        self.family_choice.setObjectName("familyChoice")
        for family in catalog_module.families():
            self.family_choice.addItem(family.label, family.key)
        self.family_choice.setCurrentIndex(max(0, self.family_choice.findData(self.family_key)))
        self.family_choice.currentIndexChanged.connect(self._family_chosen)
        self.family_description = QLabel()
        self.family_description.setObjectName("familyDescription")
        self.family_description.setWordWrap(True)
        self.family_description.setOpenExternalLinks(True)
        self.family_description.setTextFormat(Qt.TextFormat.RichText)
        family_row = QHBoxLayout()
        family_row.addWidget(QLabel(self.tr("Model:")))
        family_row.addWidget(self.family_choice)
        family_row.addWidget(self.family_description, 1)
        self._describe_family()
        self._build_hub_state()
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
        buttons = QHBoxLayout()
        buttons.addWidget(self.imatrix_check)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(download_box)
        layout.addLayout(family_row)
        layout.addWidget(self.hub_state)
        layout.addWidget(self.budget_label)
        layout.addWidget(self.remote_tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        main = QVBoxLayout(self)
        main.addWidget(intro)
        main.addWidget(installed_box, 1)
        main.addWidget(download_box, 3)
        main.addWidget(close)

    def _build_hub_state(self) -> None:
        """The offline state: a title, why (in the user's words, the transport's in the tooltip), two actions."""
        self.hub_state = QFrame()
        self.hub_state.setObjectName("hubState")
        self.hub_state.setFrameShape(QFrame.Shape.StyledPanel)
        self.hub_state_title = QLabel()
        self.hub_state_title.setObjectName("hubStateTitle")
        title_font = QFont(self.hub_state_title.font())
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        self.hub_state_title.setFont(title_font)
        self.hub_state_reason = QLabel()
        self.hub_state_reason.setObjectName("hubStateReason")
        self.hub_state_reason.setWordWrap(True)
        self.offline_local_button = QPushButton(self.tr("Use model files on disk…"))
        self.offline_local_button.setObjectName("offlineLocalButton")
        self.offline_local_button.setFont(title_font)
        self.offline_local_button.setMinimumHeight(self.offline_local_button.sizeHint().height() * 3 // 2)
        self.offline_local_button.clicked.connect(self.choose_local_files)
        self.retry_button = QPushButton(self.tr("Try again"))
        self.retry_button.setObjectName("retryListing")
        self.retry_button.clicked.connect(self.fetch_offer)
        row = QHBoxLayout()
        row.addWidget(self.offline_local_button)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        layout = QVBoxLayout(self.hub_state)
        layout.addWidget(self.hub_state_title)
        layout.addWidget(self.hub_state_reason)
        layout.addLayout(row)
        self.hub_state.hide()

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
        self.worker.localAdded.connect(self._local_added)
        self.worker.localFailed.connect(self._local_failed)
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
        for row in installed_rows(files, default):
            model, projector = row.model, row.projector
            name = model.label if model.quant else model.filename
            if row.default:
                name = self.tr("{} (in use)").format(name)
            source = self.tr("Hugging Face") if model.source == "hub" else str(Path(model.path).parent)
            # The model file's size, as the quant list and `models list` show it; the projector's is in the tooltip.
            item = QTreeWidgetItem([name, row.size, source])
            item.setData(0, FileRole, model)
            item.setToolTip(0, "\n".join(str(self.store.path_of(f)) for f in (model, projector) if f is not None))
            if projector is not None:
                item.setToolTip(1, self.tr("Vision projector: {} ({})").format(projector.filename,
                                                                              human_size(projector.size)))
            if row.default:
                font = QFont(item.font(0))
                font.setBold(True)
                item.setFont(0, font)
            self.installed_tree.addTopLevelItem(item)
        if self.installed_tree.topLevelItemCount() == 0:
            placeholder = QTreeWidgetItem([self.tr("No model yet: download one below, or use model files on disk.")])
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
        """Remove ``model`` once no engine has its files open (at once, or when the engine has ended)."""
        self.remove_button.setEnabled(False)  # (until it is done: one removal at a time)
        self.release_files({self.store.path_of(model)}, lambda busy: self._remove_released(model, busy))

    def _remove_released(self, model: InstalledFile, busy: str | None) -> None:
        self._update_buttons()
        if busy is not None:
            QMessageBox.information(self, self.tr("Remove model"), busy)
            return
        try:
            lines = self.store.remove(model)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("Cannot remove this model"), str(exc))
            return
        self.progress_label.setText("\n".join(lines))
        self.refresh_installed()
        self.modelsChanged.emit()

    def choose_local_files(self) -> LocalModelDialog:
        """One dialog for the model and its projector (found beside the model); it stays until they are added."""
        if self.local_dialog is None:
            self.local_dialog = LocalModelDialog(Path.home(), self)
            self.local_dialog.addRequested.connect(self.add_local_files)
        self.local_dialog.show()
        self.local_dialog.raise_()
        self.local_dialog.activateWindow()
        return self.local_dialog

    def add_local_files(self, model: Path, mmproj: Path) -> None:
        """Check and record files on disk (on the worker thread: hashing a 2 GB file takes a while)."""
        self._set_busy(True)
        self.progress_label.setText(self.tr("Checking {} and {}…").format(model.name, mmproj.name))
        self.addLocalRequested.emit(model, mmproj)

    def _local_added(self, model: InstalledFile) -> None:
        if self.local_dialog is not None:
            self.local_dialog.close()
            self.local_dialog.deleteLater()  # the next one starts empty
            self.local_dialog = None
        self._installed(model)

    def _local_failed(self, problem: FileProblem | None, role: str, message: str) -> None:
        self._set_busy(False)
        dialog = self.local_dialog
        if dialog is not None and dialog.isVisible():
            dialog.show_failure(problem, role, message)  # beside the field of the file at fault
            self.progress_label.clear()
        else:
            self.progress_label.setText(message)
        self.downloadEnded.emit("failed")

    # --- what can be downloaded ---------------------------------------------------------------

    def _family_chosen(self) -> None:
        key = self.family_choice.currentData()
        if not isinstance(key, str) or key == self.family_key:
            return
        self.family_key = key
        self._describe_family()
        self.offer = None
        self.remote_tree.clear()
        self._update_buttons()
        self.fetch_offer()

    def _describe_family(self) -> None:
        family = catalog_module.family(self.family_key)
        language = interface_language()
        text = html.escape(family.describe(language)) + ("。" if language == "ja" else ".")
        card = self.tr("Model card")
        link = f' <a href="{html.escape(family.card, quote=True)}">{html.escape(card)}</a>'
        self.family_description.setText(text + (link if family.card else ""))

    def fetch_offer(self) -> None:
        self.retry_button.setEnabled(False)
        self.budget_label.setText(self.tr("Looking at this computer and the Hugging Face hub…"))
        self.budget_label.show()
        self.offerRequested.emit(self.family_key)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.offer is None and not self.busy:
            self.fetch_offer()

    def _offer_ready(self, offer: ModelOffer) -> None:
        if offer.catalog.family.key != self.family_key:
            return  # asked for before another model was chosen
        self.offer = offer
        self.imatrix_check.setEnabled(offer.catalog.family.imatrix_repo is not None)
        budget = offer.budget
        memory = human_size(budget.available) if budget.available is not None else self.tr("unknown")
        where = self.tr("RAM") if not budget.gpu else budget.where
        text = self.tr("Judged against {}: {} available.").format(where, memory)
        if not budget.gpu:
            text += " " + self.tr("No GPU is used by this build, so the model runs on the CPU.")
        if offer.recommended:
            text += " " + self.tr("Recommended here: {}.").format(offer.recommended)
        catalog = offer.catalog
        if not catalog.from_hub:
            text += "\n" + self.tr("The list below is built in: its sizes are approximate, and downloading needs "
                                   "Hugging Face.")
            self._show_hub_state(catalog.problem or HubProblem.NO_CONNECTION, catalog.detail or catalog.note)
        else:
            self._show_hub_state(None)
            if catalog.problem is not None:  # the imatrix repo could not be listed; the static quants can
                text += "\n" + self.tr("The imatrix quants could not be listed: {}").format(
                    hub_problem_text(catalog.problem))
        self.budget_label.setText(text)
        self.budget_label.setToolTip(catalog.note)
        self._fill_remote(offer)
        self._update_buttons()

    def _offer_failed(self, problem: HubProblem | None, message: str) -> None:
        self.offer = None  # the list shown before is no longer what the hub offers
        self.budget_label.hide()
        self.remote_tree.clear()
        self._show_hub_state(problem or HubProblem.HUB_ERROR, message,
                             reason=None if problem is not None else message)
        self._update_buttons()

    def _show_hub_state(self, problem: HubProblem | None, details: str = "", *, reason: str | None = None) -> None:
        """Show (or, for None, hide) why Hugging Face cannot be used, with files on disk as the way on."""
        self.hub_problem = problem
        self.retry_button.setEnabled(True)
        if problem is None:
            self.hub_state.hide()
            self.offline_local_button.setDefault(False)
            return
        self.hub_state_title.setText(self.tr("Offline: use model files on disk") if problem.offline
                                     else self.tr("Downloads are not available now"))
        self.hub_state_reason.setText(reason if reason is not None else hub_problem_text(problem))
        self.hub_state_reason.setToolTip(details)  # the transport's own words, for whoever wants them
        self.hub_state.show()
        self.offline_local_button.setDefault(True)  # Enter takes the way that works offline

    def _fill_remote(self, offer: ModelOffer) -> None:
        previous = self.selected_advice()
        self.remote_tree.clear()
        verdicts = {"fits": self.tr("fits"), "tight": self.tr("tight"), "too big": self.tr("too big"),
                    "unknown": self.tr("unknown")}
        choose: QTreeWidgetItem | None = None
        for row in quant_rows(offer, self._installed_ids):
            advice = row.advice
            remote = advice.file
            notes = [verdicts[advice.verdict]]
            if row.recommended:
                notes.append(self.tr("recommended"))
            if row.installed:
                notes.append(self.tr("installed"))
            kind = self.tr("imatrix") if remote.imatrix else self.tr("static")
            # The same size strings as `caprl-desktop models list --remote` (core/models/listing.py).
            item = QTreeWidgetItem([remote.label, kind, row.size, row.memory, " · ".join(notes)])
            item.setData(0, FileRole, advice)
            item.setToolTip(0, f"{remote.repo}/{remote.filename}")
            colour = VERDICT_COLOURS.get(advice.verdict)
            if colour:
                item.setForeground(4, QBrush(QColor(colour)))
            for column in (2, 3):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if row.recommended:
                font = QFont(item.font(0))
                font.setBold(True)
                for column in range(5):
                    item.setFont(column, font)
            self.remote_tree.addTopLevelItem(item)
            item.setHidden(remote.imatrix and not self.imatrix_check.isChecked())
            # By label: after Try again the hub's entry for a quant replaces the built-in one.
            wanted = previous.file.label == remote.label if previous is not None else row.recommended
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

    def _failed(self, problem: HubProblem | None, message: str) -> None:
        self._set_busy(False)
        self.progress_bar.hide()
        if problem is not None:
            self.progress_label.setText(self.tr("The download stopped: {}").format(hub_problem_text(problem)) + " "
                                        + self.tr("What was downloaded is kept: the next download continues "
                                                  "from there."))
            self.progress_label.setToolTip(message)
        else:
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
        downloadable = self.offer is not None and self.offer.catalog.from_hub and self.hub_problem is None
        self.use_button.setEnabled(model is not None and not self.busy)
        self.remove_button.setEnabled(model is not None and not self.busy)
        self.local_button.setEnabled(not self.busy)
        self.offline_local_button.setEnabled(not self.busy)
        # Offline, Download is not shown greyed: the state above says why, and offers files on disk instead.
        self.download_button.setVisible(downloadable)
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
