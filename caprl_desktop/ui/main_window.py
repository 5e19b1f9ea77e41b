"""The main window: drop images or folders, watch captions stream in, edit, export.

The window is layout, actions, dialogs and wiring. The queue itself (what is listed, what runs, progress,
the worker that drives the engine process) is ``QueueController``, which reports through signals; the
window shows what they say. Folder scans and thumbnails run on pool threads, captioning in the engine
process, so nothing slow happens on the GUI thread.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from caprl_desktop.core.app_log import CrashReport
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.export.writers import ExportReport
from caprl_desktop.core.images.formats import IMAGE_EXTENSIONS
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.caption_choices import CaptionChoices
from caprl_desktop.ui.caption_panel import CaptionPanel
from caprl_desktop.ui.clipboard import PasteError, pasted_paths
from caprl_desktop.ui.confirm import CANCEL_ASKS_ABOVE, Confirm
from caprl_desktop.ui.disk_captions import ReplaceQuestion
from caprl_desktop.ui.engines import EngineFactory
from caprl_desktop.ui.folders_pane import FoldersPane
from caprl_desktop.ui.help_menu import HelpMenu
from caprl_desktop.ui.image_list import ImageList
from caprl_desktop.ui.message_bar import MessageBar
from caprl_desktop.ui.places import pictures_folder
from caprl_desktop.ui.preview import Preview
from caprl_desktop.ui.queue_bars import QueueBars
from caprl_desktop.ui.queue_controller import UNFINISHED, Progress, QueueController
from caprl_desktop.ui.queue_model import State
from caprl_desktop.ui.reveal import reveal
from caprl_desktop.ui.settings import AppSettings
from caprl_desktop.ui.status_line import StatusLine

if TYPE_CHECKING:
    from caprl_desktop.ui.export_dialog import ExportDialog
    from caprl_desktop.ui.model_dialog import ModelDialog


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, store: ModelStore | None = None, *,
                 engines: EngineFactory | None = None) -> None:
        """``engines``: what makes the engines (tests pass stand-ins; the app: llama.cpp and servers)."""
        super().__init__()
        self.settings = settings or AppSettings()
        self.setWindowTitle("CapRL Desktop")
        self.setAcceptDrops(True)
        self.controller = QueueController(self.settings, store or ModelStore(), self, engines=engines)
        self.queue = self.controller.queue  # what the list shows
        self.model_dialog: ModelDialog | None = None  # made when first shown: the hub's client loads with it
        self.export_box: ExportDialog | None = None  # the last export dialog opened
        self._shown_row: int | None = None
        self._crash: CrashReport | None = None  # the previous window's native crash, offered as a report
        self._quit_agreed = False  # Quit asked about the images still queued, and the user agreed
        self.confirm = Confirm(self)  # asks before captions are replaced or a long run is stopped
        self._build_widgets()
        self._build_actions()
        self._connect()
        self._restore()
        self._update_buttons()
        self.controller.engine.prepare()
        self.controller.offer_resume()

    # --- construction -------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.images = ImageList(self.queue)
        self.list_view, self.proxy = self.images.list_view, self.images.proxy  # what tests and actions use
        self.list_view.customContextMenuRequested.connect(lambda pos: self.list_menu().exec(
            self.list_view.viewport().mapToGlobal(pos)))
        self.preview = Preview(self.controller.loader)
        self.panel = CaptionPanel()
        # Caption language, preset and prompt sit above the caption they shape.
        self.caption_choices = CaptionChoices(self.settings)
        self.bars = QueueBars(self.controller, self.caption_choices)
        # Shown at start when the window's previous process ended in a native crash (``offer_crash_report``).
        self.crash_bar = MessageBar("crashBar", self.tr("Copy report"), self.tr("Dismiss"))
        self.resume_bar, self.save_bar, self.skipped_bar = self.bars.resume_bar, self.bars.save_bar, \
            self.bars.skipped_bar
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.crash_bar)
        left_layout.addWidget(self.bars)
        left_layout.addWidget(self.images, 1)
        caption_side = QWidget()
        caption_layout = QVBoxLayout(caption_side)
        caption_layout.setContentsMargins(0, 0, 0, 0)
        caption_layout.addWidget(self.caption_choices)
        caption_layout.addWidget(self.panel, 1)
        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(self.preview)
        self.right_splitter.addWidget(caption_side)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)
        # Tab from the list reaches what shapes the caption, then the caption and Copy (Qt passes over the
        # custom prompt while it is hidden).
        choices = self.caption_choices
        for before, after in itertools.pairwise((self.list_view, choices.language_combo, choices.preset_combo,
                                                 choices.prompt_edit, self.panel.editor, self.panel.copy_button)):
            QWidget.setTabOrder(before, after)

        self.folders_pane = FoldersPane()  # Places, then the tree, opened at the Pictures folder
        self.folders = self.folders_pane.tree
        self.folders_dock = QDockWidget(self.tr("Folders"), self)
        self.folders_dock.setObjectName("foldersDock")
        self.folders_dock.setWidget(self.folders_pane)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.folders_dock)
        self.resizeDocks([self.folders_dock], [240], Qt.Orientation.Horizontal)
        self.status_line = StatusLine(self.statusBar())

    def _build_actions(self) -> None:
        def action(text: str, slot: object, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                   ) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        queue = self.controller
        self.open_files_action = action(self.tr("Open images…"), self.open_files, QKeySequence.StandardKey.Open)
        self.open_folder_action = action(self.tr("Open folder…"), self.open_folder, "Ctrl+Shift+O")
        self.paste_action = action(self.tr("Paste image"), self.paste_image, "Ctrl+Shift+V")
        self.export_action = action(self.tr("Export captions…"), self.export_dialog, "Ctrl+E")
        # Not Ctrl+M: on macOS that is Cmd+M, which minimizes every window.
        self.models_action = action(self.tr("Models…"), self.show_models, "Ctrl+Shift+M")
        self.settings_action = action(self.tr("Settings…"), self.show_settings, "Ctrl+,")
        self.quit_action = action(self.tr("Quit"), self.quit, QKeySequence.StandardKey.Quit)
        self.start_action = action(self.tr("Start"), queue.start, "F5")
        self.pause_action = action(self.tr("Pause"), queue.pause, "F6")
        self.cancel_action = action(self.tr("Cancel"), self.cancel_run, "Esc")
        self.caption_selected_action = action(
            self.tr("Caption selected"), lambda: queue.caption_rows(self.selected_rows()), "Ctrl+Return")
        self.recaption_action = action(self.tr("Re-caption selected"), self.recaption_selected, "Ctrl+Shift+Return")
        self.describe_action = action(self.tr("Write descriptions into the images"), self.describe_selected)
        self.describe_action.setToolTip(self.tr("Write the captions on disk of the selected images (or of all "
                                                "listed) into the images as their descriptions"))
        self.copy_action = action(self.tr("Copy caption"), self.panel.copy, "Ctrl+Shift+C")
        self.save_action = action(self.tr("Save caption"), self.panel.save, QKeySequence.StandardKey.Save)
        self.remove_action = action(self.tr("Remove from list"), self.remove_selected, QKeySequence.StandardKey.Delete)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.list_view.addAction(self.remove_action)
        self.next_action = action(self.tr("Next image"), lambda: self.images.step(1), "Ctrl+Down")
        self.previous_action = action(self.tr("Previous image"), lambda: self.images.step(-1), "Ctrl+Up")
        self.reveal_action = action(self.tr("Show in file manager"), self.reveal_selected)
        # The macOS application menu takes these by their role; the rest stay where they are (Qt's guess by text
        # would move "Settings…"-like entries, and misses 「終了」).
        for each in self.actions():
            each.setMenuRole(QAction.MenuRole.NoRole)
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        menus = (
            (self.tr("&File"), (self.open_files_action, self.open_folder_action, self.paste_action,
                                self.export_action, None, self.models_action, self.settings_action, None,
                                self.quit_action)),
            (self.tr("&Edit"), (self.copy_action, self.save_action, self.remove_action)),
            (self.tr("&Caption"), (self.start_action, self.pause_action, self.cancel_action,
                                   self.caption_selected_action, self.recaption_action, self.describe_action)),
            (self.tr("&View"), (self.next_action, self.previous_action, self.folders_dock.toggleViewAction())),
        )
        for title, acts in menus:
            menu = self.menuBar().addMenu(title)
            for act in acts:
                if act is None:
                    menu.addSeparator()
                else:
                    menu.addAction(act)
        self.help = HelpMenu(self, lambda: self.controller.engine_info or self.controller.remote_info)
        self.crash_bar.button.clicked.connect(self._copy_crash_report)
        toolbar = QToolBar(self.tr("Caption"))
        toolbar.setObjectName("captionToolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        for act in (self.open_files_action, self.open_folder_action, None, self.start_action, self.pause_action,
                    self.cancel_action, None, self.export_action):
            if act is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(act)

    def _connect(self) -> None:
        queue, status = self.controller, self.status_line
        status.failedClicked.connect(self.images.show_only_failed)
        queue.tokensCounted.connect(self.panel.show_token_count)
        queue.progressChanged.connect(self._show_title)
        self.images.empty_state.openFiles.connect(self.open_files)
        self.images.empty_state.openFolder.connect(self.open_folder)
        self.images.currentRowChanged.connect(self._current_changed)
        self.bars.saveElsewhere.connect(self.choose_caption_folder)
        self.panel.saved.connect(self._caption_saved)
        self.panel.recorded.connect(self.controller.edits.saved)
        self.panel.describeRequested.connect(self._describe_out_of_date)
        self.controller.edits.historyFound.connect(self.panel.show_history)
        self.folders.describeFolder.connect(lambda folder: self.controller.edits.describe(folder=folder))
        self.panel.saveFailed.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self.folders.captionFolder.connect(self.caption_folder)
        status.get_model_button.clicked.connect(self.show_models)

        queue.stateChanged.connect(self._update_buttons)
        queue.progressChanged.connect(status.show_progress)
        queue.speedChanged.connect(status.show_speed)
        queue.entryChanged.connect(self._entry_changed)
        queue.captionStreamed.connect(self.panel.append)
        queue.rowsListed.connect(self.images.select_first)
        queue.dropListed.connect(self._show_added)
        queue.scanningChanged.connect(self._scanning)
        engine = queue.engine
        engine.engineStarting.connect(status.show_loading)
        engine.engineReady.connect(self._engine_ready)
        engine.engineFailed.connect(self._engine_failed)
        engine.engineUnloaded.connect(status.show_unloaded)
        engine.serversMeasured.connect(status.show_servers)
        engine.modelAvailable.connect(status.show_model_available)
        queue.modelMissing.connect(self.show_models)
        queue.message.connect(self.statusBar().showMessage)
        queue.replaceAsked.connect(self._confirm_replace)

    def _restore(self) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            # 1280×800, or less where the screen's usable area is smaller (1080p at 150 % is 1280×~690).
            screen = self.screen().availableGeometry()
            self.resize(min(1280, screen.width() * 9 // 10), min(800, screen.height() * 9 // 10))
        state = self.settings.bytes_value("window/state")
        if state is not None:
            self.restoreState(state)
        for key, splitter in (("window/splitter", self.splitter), ("window/right_splitter", self.right_splitter)):
            saved = self.settings.bytes_value(key)
            if saved is not None:
                splitter.restoreState(saved)

    def _engine_ready(self, info: EngineInfo | RemoteInfo) -> None:
        if isinstance(info, RemoteInfo):
            self.status_line.show_remote(info, self.controller.model_name)
        else:
            self.status_line.show_engine(info, self.controller.model_name)
        self._show_title()

    def _show_title(self, progress: Progress | None = None) -> None:
        """"imgs — 45 / 120 — CapRL-Qwen3VL-2B Q4_K_M — CapRL Desktop" while a go runs (the taskbar and window
        switcher say how far, and with which model; a run of two folders names both, of more the first two and how
        many others); "CapRL Desktop — CapRL-3B Q4_K_M" otherwise, once loaded."""
        progress = progress if progress is not None else self.controller.progress
        folders = self.controller.current_folders
        model = self.controller.model_name
        if progress.running and folders:
            names = ", ".join(folder.name or str(folder) for folder in folders[:2]) + \
                (f" +{len(folders) - 2}" if len(folders) > 2 else "")
            with_model = f"{model} — " if model else ""
            self.setWindowTitle(f"{names} — {progress.done} / {progress.total} — {with_model}CapRL Desktop")
        else:
            self.setWindowTitle(f"CapRL Desktop — {model}" if model else "CapRL Desktop")

    # --- what the queue says ------------------------------------------------------------------

    def _update_buttons(self) -> None:
        running, stopped = self.controller.running, self.controller.stopped
        self.start_action.setEnabled(not running or stopped)
        self.pause_action.setEnabled(running and not stopped)
        self.cancel_action.setEnabled(running)
        self.status_line.show_paused(self.controller.paused)

    def _entry_changed(self, row: int) -> None:
        if row == self._shown_row:
            self._show_row(row)

    def _scanning(self, busy: bool) -> None:
        looking = self.tr("Looking for images…")
        if busy:
            self.statusBar().showMessage(looking)
        elif self.statusBar().currentMessage() == looking:  # not what the scan said it found
            self.statusBar().clearMessage()

    def _show_added(self, row: int) -> None:
        """Scroll the list to the first image a drop added (it may be far below the rows in view)."""
        index = self.proxy.mapFromSource(self.queue.index(row))
        if index.isValid():
            self.list_view.scrollTo(index, self.list_view.ScrollHint.PositionAtTop)

    def _engine_failed(self, message: str) -> None:
        self.status_line.show_failed(message)
        self.statusBar().showMessage(message, 20000)

    def _confirm_replace(self, question: ReplaceQuestion) -> None:
        choice = self.confirm.replace(question.replaced, self.bars.language_name())
        if choice != "cancel":
            self.controller.replace(question, keep_by_hand=choice == "all_but_by_hand")

    def cancel_run(self) -> None:
        """Cancel (Esc): with more than a few images left, only after asking (re-captions have a caption
        already, and are told apart)."""
        rows = self.queue.in_state(*UNFINISHED)
        if len(rows) > CANCEL_ASKS_ABOVE and not self.confirm.cancel(
                len(rows), recaptions=sum(self.queue.entry(r).overwrite for r in rows)):
            return
        self.controller.cancel()

    # --- adding images ------------------------------------------------------------------------

    def add_paths(self, paths: list[Path], *, overwrite: bool = False, start: bool | None = None) -> None:
        """``start`` None: caption them at once only if the setting says so (else they wait for Start)."""
        self.controller.add_paths(paths, overwrite=overwrite, start=start)

    def caption_folder(self, folder: Path, overwrite: bool) -> None:
        """The Folders panel's "Caption folder": captioned at once; replacing captions is asked first."""
        if overwrite:
            self.controller.ask_replace(paths=[folder])
        else:
            self.add_paths([folder], start=True)

    def receive_paths(self, received: list[Path]) -> None:
        """Paths from another launch (a file-manager entry while the window runs): captioned at once (the user
        asked for captions there), and the window comes forward."""
        self.add_paths(received, start=True)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

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

    def start_folder(self) -> str:
        """Where Open images and Open folder start: where the last ones were opened, else the Pictures folder
        (not the folder the app was started from, which is its own in a packaged app)."""
        last = self.settings.last_folder
        return last if last and Path(last).is_dir() else str(pictures_folder())

    def open_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Open images"), self.start_folder(),
                                                self.tr("Images ({})").format(patterns))
        if files:
            self.settings.last_folder = str(Path(files[0]).parent)
            self.add_paths([Path(f) for f in files])

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open folder"), self.start_folder())
        if folder:
            self.settings.last_folder = folder
            self.add_paths([Path(folder)])

    def paste_image(self) -> None:
        try:
            self.add_paths(pasted_paths())
        except PasteError as exc:
            self.statusBar().showMessage(str(exc), 10000)

    # --- the list -----------------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        return self.images.selected_rows()

    def recaption_selected(self) -> None:
        """Re-caption the selection; replacing captions is asked first (``_confirm_replace``)."""
        rows = self.selected_rows()
        if rows:
            self.controller.ask_replace(items=[self.queue.entry(r).item for r in rows])

    def describe_selected(self) -> None:
        """Write the captions on disk of the selection (or of every listed image) into the images."""
        rows = self.selected_rows() or list(range(len(self.queue.entries)))
        if rows:
            self.controller.edits.describe(items=[self.queue.entry(r).item for r in rows])

    def _describe_out_of_date(self, path: Path) -> None:
        """The panel's "Write it into the image": where the out-of-date description is."""
        row = self.queue.row_of(path)
        if row is not None:
            self.controller.edits.describe(items=[self.queue.entry(row).item],
                                           mode=self.controller.edits.out_of_date(path))

    def remove_selected(self) -> None:
        self.panel.show_entry(None, "", streaming=False)
        self._shown_row = None
        self.controller.remove_rows(self.selected_rows())

    def reveal_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            reveal(self.queue.entry(rows[0]).path)  # the file selected in its folder

    def list_menu(self) -> QMenu:
        menu = QMenu(self)
        for act in (self.caption_selected_action, self.recaption_action, self.describe_action, self.copy_action,
                    self.reveal_action,
                    self.remove_action):
            menu.addAction(act)
        return menu

    # --- dialogs ------------------------------------------------------------------------------

    def show_models(self) -> None:
        """The model dialog (made once; a download in it goes on while it is closed)."""
        if self.model_dialog is None:
            from caprl_desktop.ui.model_dialog import ModelDialog

            self.model_dialog = ModelDialog(self.controller.store, self)
            self.model_dialog.release_files = self.controller.engine.release
            self.model_dialog.modelsChanged.connect(self.controller.engine.models_changed)
        self.model_dialog.show()
        self.model_dialog.raise_()
        self.model_dialog.activateWindow()

    def offer_crash_report(self, crash: CrashReport) -> None:
        """Say that the previous window ended in a native crash, with its report one click away."""
        self._crash = crash
        self.crash_bar.show_message(
            self.tr("CapRL Desktop closed unexpectedly last time. Copy a report (what this computer runs and how "
                    "it ended) to paste into a problem report?"),
            self.tr("What the crash left is in {}").format(crash.path))

    def _copy_crash_report(self) -> None:
        self.crash_bar.hide()
        self.help.report_problem(crash=self._crash.text if self._crash is not None else "")

    def show_settings(self) -> None:
        info = self.controller.engine_info
        from caprl_desktop.ui.settings_dialog import SettingsDialog  # (dialogs load when first opened: a quick start)

        dialog = SettingsDialog(self.settings, self, gpu=info.backend.gpu_offload if info is not None else None)
        accepted = dialog.exec() == SettingsDialog.DialogCode.Accepted
        if dialog.engine_page.edited:  # (saved at once, even when the dialog is cancelled)
            self.controller.engine.servers_edited()
        if accepted or dialog.engine_page.edited:
            self.controller.engine.settings_changed()

    def choose_caption_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Save captions in"),
                                                  self.settings.caption_folder or str(Path.home()))
        if not chosen:
            return
        self.statusBar().showMessage(self.tr("Captions are saved in {} (Settings changes this).").format(chosen),
                                     15000)
        self.controller.save_elsewhere(chosen)

    # --- the selected image -------------------------------------------------------------------

    def _current_changed(self, row: int | None) -> None:
        self._shown_row = row
        if row is None:
            self.panel.show_entry(None, "", streaming=False)
            self.preview.show_image(None)
            return
        self._show_row(row)

    def _show_row(self, row: int) -> None:
        entry = self.queue.entry(row)
        looks = self.controller.looks
        if entry.state == State.IDLE:
            looks.look_now(row)  # a caption already on disk: an edit must start from it (read off this thread)
        if not entry.description and entry.state in (State.IDLE, State.DONE) and self.settings.metadata != "off":
            looks.look_for_description(row)  # whether the image itself holds one (read off this thread)
        # A failed image shows its reason apart from the caption and cannot be edited, so the reason never
        # reaches a sidecar; one whose caption was made but not saved shows that caption.
        failed = entry.state == State.FAILED and not entry.unsaved
        hint = ""
        if failed:
            hint = self.tr("No caption was made for this image.")
        elif entry.state == State.IDLE and not entry.caption:
            hint = self.tr("Not captioned yet. Start (F5) captions the images listed; or write a caption here.")
        folder = self.settings.caption_folder
        self.panel.caption_folder = Path(folder) if folder else None
        self.panel.show_entry(entry.path, "" if failed else entry.caption, streaming=entry.state == State.CAPTIONING,
                              sidecar=entry.sidecar, tokens=entry.tokens or None, root=entry.item.root,
                              error=self.queue.error_text(entry) if entry.state == State.FAILED else "",
                              editable=not failed and not looks.reading(entry.path),  # (shown again once read)
                              hint=hint, provenance=entry.record.provenance if entry.record is not None else None,
                              description=entry.description)
        self.panel.offer_description(self.controller.edits.out_of_date(entry.path) is not None)
        if entry.caption and entry.state in (State.DONE, State.IDLE) and not failed:
            self.controller.edits.look(entry.item, entry.caption, entry.sidecar)  # Undo, Revert (off this thread)
        self.preview.show_image(entry.path)

    def _caption_saved(self, path: Path, text: str) -> None:
        row = self.queue.row_of(path)
        if row is not None:
            self.queue.set_caption(row, text)
        self.controller.count_tokens(path, text)  # the counter then shows the edited caption's tokens

    # --- export -------------------------------------------------------------------------------

    def export(self, target: Path, kind: str, *, selection_only: bool = False) -> ExportReport:
        """Export all rows (or the selected ones): what was written and what was left out, with the reason."""
        from caprl_desktop.ui.export_dialog import export_rows

        folder = self.settings.caption_folder
        return export_rows(self.queue, target, kind, self.selected_rows() if selection_only else None,
                           caption_folder=Path(folder) if folder else None)

    def export_dialog(self) -> None:
        """The export dialog (window-modal); the status bar then says what the export wrote."""
        from caprl_desktop.ui.export_dialog import ExportDialog, report_text

        if self.export_box is not None:
            self.export_box.deleteLater()  # made afresh each time: the rows and the selection are today's
        self.export_box = ExportDialog(self.queue, self.selected_rows(), self.settings, self,
                                       reader=self.controller.looks.disk)
        self.export_box.exported.connect(
            lambda report: self.statusBar().showMessage(report_text(report), 30000))
        self.export_box.open()

    # --- closing ------------------------------------------------------------------------------

    def quit(self) -> None:
        """File → Quit: with images still queued, only after asking (a run left resumes next time)."""
        if self.may_quit():
            self._quit_agreed = True
            self.close()

    def may_quit(self) -> bool:
        """Whether to close now: asks when images are still queued (or left by a pause)."""
        queued, in_runs = self.controller.still_queued()
        return not queued or self.confirm.quit(queued, in_runs)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Asked when the user closes the window (its close button, the window manager); Quit has asked already,
        # and a close from code (the app's end, tests) is not asked about.
        if event.spontaneous() and not self._quit_agreed and not self.may_quit():
            event.ignore()
            return
        self.panel.flush()
        for key, value in (("window/geometry", self.saveGeometry()), ("window/state", self.saveState()),
                           ("window/splitter", self.splitter.saveState()),
                           ("window/right_splitter", self.right_splitter.saveState())):
            self.settings.set_bytes(key, value)
        self.settings.sync()
        if self.model_dialog is not None:
            self.model_dialog.shutdown()
        self.controller.shutdown()
        from caprl_desktop.ui import engine_page  # (already loaded if Settings was opened: it waits on its checks)

        engine_page.wait_for_checks()
        super().closeEvent(event)

