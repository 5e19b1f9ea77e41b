"""The main window: drop images or folders, watch captions stream in, edit, export.

Everything slow happens elsewhere: folder scans and thumbnails on pool threads, captioning in the engine
process driven from ``CaptionWorker``'s thread. Job events arrive as signals carrying the core's plain
data, and each event names its image, so a caption always lands on the image it was made for.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import CaptionRecord, write_records
from caprl_desktop.core.images.loading import IMAGE_EXTENSIONS
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import (
    EngineRestarted,
    ItemFinished,
    ItemSkipped,
    ItemStarted,
    ItemText,
    JobFinished,
    JobPlanned,
)
from caprl_desktop.core.jobs.journal import JobSummary, Journal
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.prompts import LANGUAGES, PRESETS, Language, PromptSpec, build_prompt
from caprl_desktop.ui.caption_panel import CaptionPanel
from caprl_desktop.ui.caption_worker import CaptionWorker, RunRequest
from caprl_desktop.ui.folder_panel import FolderPanel
from caprl_desktop.ui.formatting import duration_text
from caprl_desktop.ui.model_dialog import ModelDialog
from caprl_desktop.ui.queue_model import THUMB_SIZE, ImageLoader, QueueModel, State, StateRole
from caprl_desktop.ui.scanner import Scanner, ScanResult
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.settings_dialog import SettingsDialog

PREVIEW_SIZE = 720
LIST_SLICE = 2000  # images added to the list per turn of the event loop (about 10 ms)
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def _message_bar(name: str, action: str, slot: Callable[[], None], dismiss: str) -> tuple[QFrame, QLabel, QPushButton]:
    """A hidden bar above the list: a message, one action, and a button that hides it."""
    bar = QFrame()
    bar.setObjectName(name)
    bar.setFrameShape(QFrame.Shape.StyledPanel)
    label = QLabel()
    label.setWordWrap(True)
    button = QPushButton(action)
    button.clicked.connect(slot)
    hide = QPushButton(dismiss)
    hide.clicked.connect(bar.hide)
    layout = QHBoxLayout(bar)
    layout.addWidget(label, 1)
    layout.addWidget(button)
    layout.addWidget(hide)
    bar.hide()
    return bar, label, button


class MainWindow(QMainWindow):
    runRequested = Signal(object)  # RunRequest
    loadRequested = Signal(object)  # EngineConfig
    shutdownRequested = Signal()
    unloadRequested = Signal()
    jobEventHandled = Signal(object)  # re-emitted on the GUI thread once the window has shown the event

    def __init__(self, settings: AppSettings | None = None, store: ModelStore | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.store = store or ModelStore()
        self.setWindowTitle("CapRL Desktop")
        self.setAcceptDrops(True)
        self.engine_info: EngineInfo | None = None
        self._job_running = False
        self._stopped = False  # paused or cancelled by the user: do not start the next job by itself
        self._job_total = 0
        self._job_done = 0
        self._job_started_at = 0.0
        self._started_at: dict[Path, float] = {}  # first token of each caption in flight (several side by side)
        self._shown_row: int | None = None
        self.model_dialog: ModelDialog | None = None
        self._to_list: collections.deque[tuple[list[ImageItem], bool]] = collections.deque()
        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self._unload_idle)

        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._image_loaded)
        self.queue = QueueModel(self.loader, self)
        self.scanner = Scanner(self)
        self.scanner.found.connect(self._scanned)
        self.scanner.busyChanged.connect(self._scanning)

        self._build_widgets()
        self._build_actions()
        self._build_worker()
        self._restore()
        self._update_empty_state()
        self._update_buttons()
        self._prepare_engine()
        self._offer_resume()

    # --- construction -------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.queue)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(self.tr("Filter by name or state"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.sort_combo = QComboBox()
        self.sort_combo.addItems([self.tr("Order added"), self.tr("Name"), self.tr("State")])
        self.sort_combo.currentIndexChanged.connect(self._sort)

        self.list_view = QListView()
        self.list_view.setObjectName("imageList")
        self.list_view.setModel(self.proxy)
        self.list_view.setIconSize(QPixmap(THUMB_SIZE, THUMB_SIZE).size())
        self.list_view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(lambda pos: self.list_menu().exec(
            self.list_view.viewport().mapToGlobal(pos)))
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)

        empty = QWidget()
        empty.setObjectName("emptyState")
        self.empty_label = QLabel(self.tr("Drop images or folders here"))
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.empty_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.empty_label.setFont(font)
        hint = QLabel(self.tr("JPEG, PNG, WebP, BMP, TIFF, GIF · captions are saved beside each image as .txt"))
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        open_files = QPushButton(self.tr("Open images…"))
        open_files.clicked.connect(self.open_files)
        open_folder = QPushButton(self.tr("Open folder…"))
        open_folder.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_files)
        buttons.addWidget(open_folder)
        buttons.addStretch(1)
        empty_layout = QVBoxLayout(empty)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(hint)
        empty_layout.addLayout(buttons)
        empty_layout.addStretch(1)

        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(empty)
        self.list_stack.addWidget(self.list_view)

        self.resume_bar, self.resume_label, self.resume_button = _message_bar(
            "resumeBar", self.tr("Resume"), self.resume_interrupted, self.tr("Not now"))
        self._resumable: list[JobSummary] = []
        # Shown when captions cannot be saved (read-only folder, full disk): the queue is held, not failed.
        self.save_bar, self.save_label, self.save_elsewhere_button = _message_bar(
            "saveBar", self.tr("Save in another folder…"), self.choose_caption_folder, self.tr("Dismiss"))

        left = QWidget()
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.sort_combo)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.resume_bar)
        left_layout.addWidget(self.save_bar)
        left_layout.addLayout(top)
        left_layout.addWidget(self.list_stack, 1)

        self.preview = QLabel()
        self.preview.setObjectName("preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(200, 150)
        self.panel = CaptionPanel()
        self.panel.saved.connect(self._caption_saved)
        self.panel.saveFailed.connect(lambda message: self.statusBar().showMessage(message, 10000))

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(self.preview)
        # Caption language, preset and prompt sit above the caption they shape (filled in _build_actions).
        caption_side = QWidget()
        self.caption_choices = QHBoxLayout()
        self.caption_choices.setContentsMargins(4, 0, 4, 0)  # in line with the panel below
        caption_layout = QVBoxLayout(caption_side)
        caption_layout.setContentsMargins(0, 0, 0, 0)
        caption_layout.addLayout(self.caption_choices)
        caption_layout.addWidget(self.panel, 1)
        self.right_splitter.addWidget(caption_side)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)

        self.folders = FolderPanel(Path.home())
        self.folders.captionFolder.connect(lambda folder, overwrite: self.add_paths([folder], overwrite=overwrite))
        dock = QDockWidget(self.tr("Folders"), self)
        dock.setObjectName("foldersDock")
        dock.setWidget(self.folders)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [240], Qt.Orientation.Horizontal)
        self.folders_dock = dock

        self.model_label = QLabel()
        self.backend_label = QLabel()
        self.speed_label = QLabel()
        self.progress_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.get_model_button = QPushButton(self.tr("Download a model…"))
        self.get_model_button.setObjectName("getModelButton")
        self.get_model_button.clicked.connect(self.show_models)
        self.get_model_button.hide()
        bar = self.statusBar()
        bar.addWidget(self.model_label)
        bar.addWidget(self.get_model_button)
        bar.addWidget(self.backend_label, 1)
        bar.addPermanentWidget(self.speed_label)
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress_bar)

    def _build_actions(self) -> None:
        def action(text: str, slot: object, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                   ) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.open_files_action = action(self.tr("Open images…"), self.open_files, QKeySequence.StandardKey.Open)
        self.open_folder_action = action(self.tr("Open folder…"), self.open_folder, "Ctrl+Shift+O")
        self.paste_action = action(self.tr("Paste image"), self.paste_image, "Ctrl+Shift+V")
        self.export_action = action(self.tr("Export captions…"), self.export_dialog, "Ctrl+E")
        self.models_action = action(self.tr("Models…"), self.show_models, "Ctrl+M")
        self.settings_action = action(self.tr("Settings…"), self.show_settings, "Ctrl+,")
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = action(self.tr("Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.start_action = action(self.tr("Start"), self.start, "F5")
        self.pause_action = action(self.tr("Pause"), self.pause, "F6")
        self.cancel_action = action(self.tr("Cancel"), self.cancel, "Esc")
        self.caption_selected_action = action(self.tr("Caption selected"), lambda: self.caption_selected(False),
                                              "Ctrl+Return")
        self.recaption_action = action(self.tr("Re-caption selected"), lambda: self.caption_selected(True),
                                       "Ctrl+Shift+Return")
        self.copy_action = action(self.tr("Copy caption"), self.panel.copy, "Ctrl+Shift+C")
        self.save_action = action(self.tr("Save caption"), self.panel.save, QKeySequence.StandardKey.Save)
        self.remove_action = action(self.tr("Remove from list"), self.remove_selected, QKeySequence.StandardKey.Delete)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.list_view.addAction(self.remove_action)
        self.next_action = action(self.tr("Next image"), lambda: self.step(1), "Ctrl+Down")
        self.previous_action = action(self.tr("Previous image"), lambda: self.step(-1), "Ctrl+Up")
        self.reveal_action = action(self.tr("Show in file manager"), self.reveal_selected)

        menu = self.menuBar()
        file_menu = menu.addMenu(self.tr("&File"))
        for act in (self.open_files_action, self.open_folder_action, self.paste_action, self.export_action):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.models_action)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu(self.tr("&Edit"))
        for act in (self.copy_action, self.save_action, self.remove_action):
            edit_menu.addAction(act)
        caption_menu = menu.addMenu(self.tr("&Caption"))
        for act in (self.start_action, self.pause_action, self.cancel_action, self.caption_selected_action,
                    self.recaption_action):
            caption_menu.addAction(act)
        view_menu = menu.addMenu(self.tr("&View"))
        view_menu.addAction(self.next_action)
        view_menu.addAction(self.previous_action)
        view_menu.addAction(self.folders_dock.toggleViewAction())

        toolbar = QToolBar(self.tr("Caption"))
        toolbar.setObjectName("captionToolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        toolbar.addAction(self.open_files_action)
        toolbar.addAction(self.open_folder_action)
        toolbar.addSeparator()
        toolbar.addSeparator()
        toolbar.addAction(self.start_action)
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.cancel_action)
        toolbar.addSeparator()
        toolbar.addAction(self.export_action)
        row = self.caption_choices
        row.addWidget(QLabel(self.tr("Caption language")))
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("languageCombo")
        for code in LANGUAGES:
            self.language_combo.addItem(LANGUAGE_NAMES[code], code)
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(self.settings.language)))
        self.language_combo.currentIndexChanged.connect(self._prompt_changed)
        row.addWidget(self.language_combo)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        names = {"detailed": self.tr("Detailed description"), "short": self.tr("One sentence"),
                 "text": self.tr("Transcribe text")}
        for preset in PRESETS:
            self.preset_combo.addItem(names[preset], preset)
        self.preset_combo.addItem(self.tr("Custom prompt"), "custom")
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(self.settings.preset or "custom")))
        self.preset_combo.currentIndexChanged.connect(self._prompt_changed)
        row.addWidget(self.preset_combo)
        self.prompt_edit = QLineEdit(self.settings.custom_prompt)
        self.prompt_edit.setObjectName("customPrompt")
        self.prompt_edit.setPlaceholderText(self.tr("Your prompt"))
        self.prompt_edit.setMinimumWidth(220)
        self.prompt_edit.editingFinished.connect(self._prompt_changed)
        row.addWidget(self.prompt_edit, 1)
        self._prompt_changed()

    def _build_worker(self) -> None:
        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("caprl-caption-worker")
        self.worker = CaptionWorker(paths.log_dir())
        self.worker.moveToThread(self.worker_thread)
        self.runRequested.connect(self.worker.run)
        self.loadRequested.connect(self.worker.load)
        self.shutdownRequested.connect(self.worker.shutdown)
        self.unloadRequested.connect(self.worker.unload)
        self.worker.engineStarting.connect(self._engine_starting)
        self.worker.engineReady.connect(self._engine_ready)
        self.worker.engineFailed.connect(self._engine_failed)
        self.worker.jobEvent.connect(self._job_event)
        self.worker.jobEnded.connect(self._job_ended)
        self.worker.jobRefused.connect(self._job_refused)
        self.worker.jobStarted.connect(self._job_started)
        self.worker_thread.start()

    def _restore(self) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self.settings.bytes_value("window/state")
        if state is not None:
            self.restoreState(state)
        for key, splitter in (("window/splitter", self.splitter), ("window/right_splitter", self.right_splitter)):
            saved = self.settings.bytes_value(key)
            if saved is not None:
                splitter.restoreState(saved)

    # --- choices ------------------------------------------------------------------------------

    @property
    def language(self) -> Language:
        value: Language = self.language_combo.currentData()
        return value

    def prompt(self) -> PromptSpec:
        preset = self.preset_combo.currentData()
        custom = self.prompt_edit.text().strip()
        if preset == "custom":
            return build_prompt(self.language, "detailed", custom_prompt=custom or None)
        return build_prompt(self.language, preset)

    def _prompt_changed(self) -> None:
        custom = self.preset_combo.currentData() == "custom"
        self.prompt_edit.setVisible(custom)
        self.settings.language = self.language
        preset = self.preset_combo.currentData()
        self.settings.preset = None if preset == "custom" else preset
        self.settings.custom_prompt = self.prompt_edit.text()

    def model_pair(self) -> tuple[Path, Path] | None:
        try:
            pair = self.store.default_pair()
        except CaprlError as exc:
            self.statusBar().showMessage(str(exc), 15000)
            return None
        return None if pair is None else (pair.model_path, pair.mmproj_path)

    def engine_config(self) -> EngineConfig | None:
        pair = self.model_pair()
        return None if pair is None else self.settings.choices.engine_config(*pair)

    # --- adding images ------------------------------------------------------------------------

    def add_paths(self, paths_: list[Path], *, overwrite: bool = False) -> None:
        """Queue images and folders; folders are scanned on a pool thread."""
        if paths_:
            self._stopped = False
            self.scanner.scan(paths_, overwrite=overwrite)

    def receive_paths(self, received: list[Path]) -> None:
        """Paths from another launch (a file-manager entry while the window runs): queue them, come forward."""
        self.add_paths(received)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def _scanned(self, result: ScanResult) -> None:
        if result.missing:
            self.statusBar().showMessage(self.tr("Not found: {}").format(
                ", ".join(str(m) for m in result.missing)), 10000)
        if not result.items:
            self.statusBar().showMessage(self.tr("No images found there."), 10000)
            return
        self._to_list.append((result.items, result.overwrite))
        if len(self._to_list) == 1:
            self._list_some()

    def _list_some(self) -> None:
        """List found images a slice at a time, so that 50,000 of them never hold up the event loop."""
        items, overwrite = self._to_list[0]
        chunk, rest = items[:LIST_SLICE], items[LIST_SLICE:]
        if rest:
            self._to_list[0] = (rest, overwrite)
        else:
            self._to_list.popleft()
        added = self.queue.add(chunk, overwrite=overwrite)
        self._update_empty_state()
        if added and self.list_view.currentIndex().row() < 0:
            self.list_view.setCurrentIndex(self.proxy.index(0, 0))
        self._maybe_start()
        if self._to_list:
            QTimer.singleShot(0, self._list_some)

    def _scanning(self, busy: bool) -> None:
        if busy:
            self.statusBar().showMessage(self.tr("Looking for images…"))
        else:
            self.statusBar().clearMessage()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        dropped = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not dropped:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(dropped)

    def open_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Open images"), self.settings.last_folder,
                                                self.tr("Images ({})").format(patterns))
        if files:
            self.settings.last_folder = str(Path(files[0]).parent)
            self.add_paths([Path(f) for f in files])

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open folder"), self.settings.last_folder)
        if folder:
            self.settings.last_folder = folder
            self.add_paths([Path(folder)])

    def paste_image(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasUrls():
            self.add_paths([Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()])
            return
        image: QImage = clipboard.image()
        if image.isNull():
            self.statusBar().showMessage(self.tr("The clipboard holds no image."), 5000)
            return
        folder = paths.data_dir() / "pasted"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"pasted-{stamp}.png"
        if not image.save(str(target), b"PNG"):
            self.statusBar().showMessage(self.tr("The pasted image could not be saved in {}").format(folder), 10000)
            return
        self.add_paths([target])

    # --- the queue ----------------------------------------------------------------------------

    def _maybe_start(self) -> None:
        if self._job_running or self._stopped:
            return
        rows = self.queue.in_state(State.QUEUED)
        if not rows:
            return
        pair = self.model_pair()
        if pair is None:
            self.show_models()
            return
        first = self.queue.entry(rows[0])
        overwrite, job_id = first.overwrite, first.job_id
        batch = [r for r in rows
                 if self.queue.entry(r).overwrite == overwrite and self.queue.entry(r).job_id == job_id]
        for row in batch:
            self.queue.update(row, state=State.WAITING)
        self._job_running = True
        self.idle_timer.stop()
        self._job_total = len(batch)
        self._job_done = 0
        self._job_started_at = time.monotonic()
        self._update_progress()
        self._update_buttons()
        # A recorded run goes on as it was started (its language, prompt, detail), unless captions now go to
        # a folder chosen since; the rest take the current choices.
        self.runRequested.emit(RunRequest([self.queue.entry(r).item for r in batch], self.settings.choices, *pair,
                                          overwrite=overwrite, job_id=job_id))

    def start(self) -> None:
        self._stopped = False
        self.save_bar.hide()
        for row in self.queue.in_state(State.IDLE, State.FAILED):
            entry = self.queue.entry(row)
            if entry.state == State.IDLE or entry.unsaved:
                self.queue.update(row, state=State.QUEUED)
        self._maybe_start()
        self._update_buttons()

    def pause(self) -> None:
        self._stopped = True
        self.worker.pause()
        self._update_buttons()

    def cancel(self) -> None:
        """Stop the caption in flight (within a token) and the rest of the queue."""
        self._stopped = True
        self.worker.cancel()
        for row in self.queue.in_state(State.QUEUED):
            self.queue.update(row, state=State.IDLE)
        self._update_buttons()

    def caption_selected(self, overwrite: bool) -> None:
        items = [self.queue.entry(r).item for r in self.selected_rows()]
        if overwrite:
            self.queue.add(items, overwrite=True)
        else:
            for row in self.selected_rows():
                if self.queue.entry(row).state in (State.IDLE, State.FAILED):
                    self.queue.update(row, state=State.QUEUED, error="")
        self._stopped = False
        self._maybe_start()

    def selected_rows(self) -> list[int]:
        rows = [self.proxy.mapToSource(i).row() for i in self.list_view.selectionModel().selectedIndexes()]
        return sorted(set(rows))

    def remove_selected(self) -> None:
        rows = [r for r in self.selected_rows()
                if self.queue.entry(r).state not in (State.CAPTIONING, State.WAITING)]
        self.panel.show_entry(None, "", streaming=False)
        self._shown_row = None
        self.queue.remove_rows(rows)
        self._update_empty_state()

    def reveal_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.queue.entry(rows[0]).path.parent)))

    def step(self, delta: int) -> None:
        current = self.list_view.currentIndex()
        row = (current.row() if current.isValid() else -1) + delta
        if 0 <= row < self.proxy.rowCount():
            self.list_view.setCurrentIndex(self.proxy.index(row, 0))

    def list_menu(self) -> QMenu:
        menu = QMenu(self)
        for act in (self.caption_selected_action, self.recaption_action, self.copy_action, self.reveal_action,
                    self.remove_action):
            menu.addAction(act)
        return menu

    # --- engine events ------------------------------------------------------------------------

    def _prepare_engine(self) -> None:
        """Load the model in the background while the user picks images."""
        config = self.engine_config()
        self.get_model_button.setVisible(config is None)
        if config is None:
            self.model_label.setText(self.tr("No model installed"))
            self.backend_label.clear()
            return
        self.loadRequested.emit(config)

    def show_models(self) -> None:
        """The model dialog (made once; a download in it goes on while it is closed)."""
        if self.model_dialog is None:
            self.model_dialog = ModelDialog(self.store, self)
            self.model_dialog.modelsChanged.connect(self._models_changed)
        self.model_dialog.show()
        self.model_dialog.raise_()
        self.model_dialog.activateWindow()

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.settings_changed()

    def settings_changed(self) -> None:
        """Settings apply to the next job; a loaded model is reloaded now if its set-up changed."""
        if not self._job_running and self.engine_info is not None:
            self._prepare_engine()  # the worker reloads only when the engine config differs
        self._restart_idle_timer()

    def _restart_idle_timer(self) -> None:
        minutes = self.settings.idle_unload_minutes
        if minutes and not self._job_running:
            self.idle_timer.start(minutes * 60_000)
        else:
            self.idle_timer.stop()

    def _unload_idle(self) -> None:
        if self._job_running or self.engine_info is None:
            return
        self.engine_info = None
        self.unloadRequested.emit()
        self.model_label.setText(self.tr("Model unloaded while idle; it loads again for the next image"))

    def _models_changed(self) -> None:
        config = self.engine_config()
        if config is None:
            self.engine_info = None
            self.unloadRequested.emit()
        if not self._job_running:  # a running job keeps its model; the next one loads the new default
            self._prepare_engine()
        self._maybe_start()

    def _engine_starting(self) -> None:
        self.model_label.setText(self.tr("Loading the model…"))

    def _engine_ready(self, info: EngineInfo) -> None:
        self.engine_info = info
        self._restart_idle_timer()
        label = f"{info.model.model_path.name} · {info.model.mmproj_path.name}"
        if info.parallel > 1:
            label += " · " + self.tr("{} captions at a time").format(info.parallel)
        self.model_label.setText(label)
        self.model_label.setToolTip(f"{info.model.model_path}\n{info.model.mmproj_path}")
        if not info.backend.gpu_offload:
            self.backend_label.setText(self.tr("CPU only: this build has no GPU support (hover for how to add it)"))
        else:
            self.backend_label.setText(info.backend_line)
        self.backend_label.setToolTip(info.backend_line)

    def _engine_failed(self, message: str) -> None:
        self._stopped = True  # retrying at once would fail the same way; Start tries again
        self.model_label.setText(self.tr("The model could not be loaded"))
        self.backend_label.setText(message)
        self.statusBar().showMessage(message, 20000)

    def _job_event(self, event: object) -> None:
        if isinstance(event, ItemStarted):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                self._started_at.pop(event.item.path, None)  # (again, after a crash: counted afresh)
                self.queue.update(row, state=State.CAPTIONING, caption="", tokens=0, error="")
                if row == self._shown_row:
                    self._show_row(row)
        elif isinstance(event, ItemText):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                entry = self.queue.entry(row)
                self.queue.update(row, caption=entry.caption + event.text, tokens=entry.tokens + 1)
                self.panel.append(entry.path, event.text, entry.tokens)
                self._started_at.setdefault(entry.path, time.monotonic())
                self._show_speed()
        elif isinstance(event, ItemFinished):
            self._finished(event)
        elif isinstance(event, ItemSkipped):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                self.queue.update(row, state=State.DONE, caption=event.record.caption, record=event.record,
                                  sidecar=event.sidecar, job_id=None)
                self._job_done += 1
                if row == self._shown_row:
                    self._show_row(row)
        elif isinstance(event, EngineRestarted):
            self.statusBar().showMessage(self.tr("The engine crashed and was restarted: {}").format(event.reason),
                                         15000)
        elif isinstance(event, JobPlanned):
            for clash in event.clashes:
                self.statusBar().showMessage(clash.describe(), 10000)
        self._update_progress()
        self.jobEventHandled.emit(event)

    def _show_speed(self) -> None:
        """Tokens per second of all captions in flight together (each counted from its own first token)."""
        now = time.monotonic()
        speed = 0.0
        for path, started in self._started_at.items():
            row = self.queue.row_of(path)
            if row is not None and now - started > 0.5:
                speed += self.queue.entry(row).tokens / (now - started)
        if speed > 0:
            self.speed_label.setText(self.tr("{:.1f} tokens/s").format(speed))

    def _job_started(self, job_id: int, paths: list[Path]) -> None:
        """Until captioned, these images belong to run ``job_id``: starting them again resumes it."""
        for path in paths:
            row = self.queue.row_of(path)
            if row is not None:
                self.queue.update(row, job_id=job_id)

    def _finished(self, event: ItemFinished) -> None:
        self._started_at.pop(event.item.path, None)
        row = self.queue.row_of(event.item.path)
        if row is None:
            return
        self._job_done += 1
        if event.record.error:
            self.queue.update(row, state=State.FAILED, error=event.record.error, caption=event.record.caption,
                              record=event.record, unsaved=event.unsaved,
                              job_id=self.queue.entry(row).job_id if event.unsaved else None)
        else:
            self.queue.update(row, state=State.DONE, caption=event.record.caption, stats=event.stats,
                              sidecar=event.sidecar, overwrite=False, record=event.record, unsaved=False,
                              job_id=None)
            if event.stats is not None and not self._started_at:
                self.speed_label.setText(self.tr("{:.1f} tokens/s").format(event.stats.tokens_per_second))
        if row == self._shown_row:
            self._show_row(row)

    def _offer_resume(self) -> None:
        """Images a killed window or command left uncaptioned: offer to queue them again."""
        try:
            with Journal() as journal:
                self._resumable = [j for j in journal.jobs() if j.resumable]
        except CaprlError:
            self._resumable = []
        if not self._resumable:
            self.resume_bar.hide()
            return
        left = sum(j.left for j in self._resumable)
        roots = sorted({str(r) for j in self._resumable for r in j.roots})
        self.resume_label.setText(self.tr("{} images were left uncaptioned when CapRL Desktop (or a command) "
                                          "stopped last time, in {}.").format(left, ", ".join(roots)))
        self.resume_label.setToolTip(self.tr("Resume captions them with the choices that run was started with "
                                             "(language, prompt, detail); what was captioned before is kept and "
                                             "not redone."))
        self.resume_bar.show()

    def resume_interrupted(self) -> None:
        try:
            with Journal() as journal:
                for job in self._resumable:
                    items = journal.pending(job.id)
                    made = journal.made(job.id)
                    self.queue.add(items, overwrite=job.options.overwrite)
                    for item in items:
                        row = self.queue.row_of(item.path)
                        if row is not None and self.queue.entry(row).state == State.QUEUED:
                            self.queue.update(row, job_id=job.id, unsaved=item.path in made,
                                              caption=made.get(item.path, ""))
        except CaprlError as exc:
            self.statusBar().showMessage(str(exc), 15000)
        self._resumable = []
        self.resume_bar.hide()
        self._update_empty_state()
        if self.list_view.currentIndex().row() < 0 and self.queue.entries:
            self.list_view.setCurrentIndex(self.proxy.index(0, 0))
        self._stopped = False
        self._maybe_start()

    def _job_refused(self, items: list[ImageItem], reason: str) -> None:
        for item in items:
            row = self.queue.row_of(item.path)
            if row is not None:
                self.queue.update(row, state=State.FAILED, error=reason)
        self.statusBar().showMessage(reason, 20000)

    def _job_ended(self, finished: JobFinished | None) -> None:
        self._job_running = False
        self._started_at.clear()
        if finished is not None and finished.cannot_save is not None:
            self._cannot_save(finished.cannot_save)
        back = State.IDLE if self._stopped and not self.queue.in_state(State.QUEUED) else State.QUEUED
        for row in self.queue.in_state(State.WAITING, State.CAPTIONING):
            self.queue.update(row, state=back, caption="", tokens=0)
            if row == self._shown_row:
                self._show_row(row)
        self._update_progress()
        self._update_buttons()
        self._maybe_start()
        self._restart_idle_timer()

    def _cannot_save(self, problem: WriteError) -> None:
        """Hold the queue (it would fail image after image) and offer another folder for the captions."""
        self._stopped = True
        for row in self.queue.in_state(State.QUEUED):
            self.queue.update(row, state=State.IDLE)
        if problem.problem == "full":
            text = self.tr("Captions cannot be saved: {}. Free some space and press Start, or save them in "
                           "another folder. Captions already made are kept and will be saved.")
        else:
            text = self.tr("Captions cannot be saved beside the images: {}. Save them in another folder? "
                           "Captions already made are kept and will be saved there.")
        self.save_label.setText(text.format(problem))
        self.save_bar.show()

    def choose_caption_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Save captions in"),
                                                  self.settings.caption_folder or str(Path.home()))
        if not chosen:
            return
        self.settings.caption_folder = chosen
        self.settings.sync()
        self.statusBar().showMessage(self.tr("Captions are saved in {} (Settings changes this).").format(chosen),
                                     15000)
        self.start()

    # --- display ------------------------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        row = self.proxy.mapToSource(current).row() if current.isValid() else None
        self._shown_row = row
        if row is None:
            self.panel.show_entry(None, "", streaming=False)
            self.preview.clear()
            return
        self._show_row(row)

    def _show_row(self, row: int) -> None:
        entry = self.queue.entry(row)
        text = entry.caption or (entry.error if entry.state == State.FAILED else "")
        self.panel.caption_folder = self._caption_folder()
        self.panel.show_entry(entry.path, text, streaming=entry.state == State.CAPTIONING,
                              sidecar=entry.sidecar, tokens=entry.tokens or None, root=entry.item.root)
        self._show_preview(entry.path)

    def _caption_folder(self) -> Path | None:
        return Path(self.settings.caption_folder) if self.settings.caption_folder else None

    def _show_preview(self, path: Path) -> None:
        pixmap = self.loader.get(path, PREVIEW_SIZE)
        if pixmap is None:
            self.preview.setText(self.tr("Loading…"))
            return
        if pixmap.isNull():
            self.preview.setText(self.tr("This image cannot be shown."))
            return
        self.preview.setPixmap(pixmap.scaled(self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.SmoothTransformation))

    def _image_loaded(self, path: str, size: int) -> None:
        if size == PREVIEW_SIZE and self._shown_row is not None and \
                str(self.queue.entry(self._shown_row).path) == path:
            self._show_preview(Path(path))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._shown_row is not None and self._shown_row < len(self.queue.entries):
            self._show_preview(self.queue.entry(self._shown_row).path)

    def _caption_saved(self, path: Path, text: str) -> None:
        row = self.queue.row_of(path)
        if row is not None:
            self.queue.update(row, caption=text)

    def _sort(self, choice: int) -> None:
        if choice == 0:
            self.proxy.sort(-1)
            return
        self.proxy.setSortRole(Qt.ItemDataRole.DisplayRole if choice == 1 else StateRole)
        self.proxy.sort(0)

    def _update_empty_state(self) -> None:
        self.list_stack.setCurrentIndex(1 if self.queue.entries else 0)

    def _update_progress(self) -> None:
        if not self._job_running and not self._job_done:
            self.progress_label.clear()
            self.progress_bar.hide()
            return
        total = max(self._job_total, 1)
        done = min(self._job_done, total)
        text = self.tr("{} / {} images").format(done, total)
        elapsed = time.monotonic() - self._job_started_at
        if self._job_running and 0 < done < total:
            remaining = elapsed / done * (total - done)
            text += self.tr(" · about {} left").format(duration_text(remaining))
        self.progress_label.setText(text)
        self.progress_bar.setVisible(self._job_running)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)

    def _update_buttons(self) -> None:
        self.start_action.setEnabled(not self._job_running or self._stopped)
        self.pause_action.setEnabled(self._job_running and not self._stopped)
        self.cancel_action.setEnabled(self._job_running)

    # --- export -------------------------------------------------------------------------------

    def records(self, rows: list[int] | None = None) -> list[CaptionRecord]:
        """The job's records of finished images, with the caption as it stands now (edits included)."""
        chosen = rows if rows else range(len(self.queue.entries))
        entries = (self.queue.entry(row) for row in chosen)
        return [dataclasses.replace(e.record, caption=e.caption) for e in entries
                if e.record is not None and e.state in (State.DONE, State.FAILED)]

    def export(self, target: Path, kind: str, *, selection_only: bool = False) -> int:
        records = self.records(self.selected_rows() if selection_only else None)
        write_records(target, kind, records)
        return len(records)

    def export_dialog(self) -> None:
        filters = {
            self.tr("CSV for Excel (*.csv)"): "csv",
            self.tr("JSON Lines (*.jsonl)"): "jsonl",
            self.tr("Hugging Face metadata.jsonl (metadata.jsonl)"): "metadata",
        }
        start = self.settings.last_folder or str(Path.home())
        name, chosen = QFileDialog.getSaveFileName(self, self.tr("Export captions"), str(Path(start) / "captions.csv"),
                                                   ";;".join(filters))
        if not name:
            return
        selection_only = len(self.selected_rows()) > 1
        try:
            count = self.export(Path(name), filters.get(chosen, "csv"), selection_only=selection_only)
        except CaprlError as exc:
            QMessageBox.warning(self, self.tr("Export failed"), str(exc))
            return
        self.statusBar().showMessage(self.tr("Exported {} captions to {}").format(count, name), 10000)

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.panel.flush()
        self.settings.set_bytes("window/geometry", self.saveGeometry())
        self.settings.set_bytes("window/state", self.saveState())
        self.settings.set_bytes("window/splitter", self.splitter.saveState())
        self.settings.set_bytes("window/right_splitter", self.right_splitter.saveState())
        self.settings.sync()
        if self.model_dialog is not None:
            self.model_dialog.shutdown()
        self.worker.cancel()
        self.shutdownRequested.emit()
        self.worker_thread.wait(15000)
        self.scanner.wait()
        self.loader.wait()
        super().closeEvent(event)
