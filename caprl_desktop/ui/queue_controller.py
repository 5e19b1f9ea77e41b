"""The window's queue without its widgets: what is listed, what runs next, how far it has got.

``QueueController`` owns the image list (``QueueModel``), the ``CaptionWorker`` on its own thread, the scan
and slice-by-slice listing of dropped paths, the choice of the next run, Start/Pause/Cancel, the offer to
resume runs left unfinished, holding the queue when captions cannot be saved, and unloading an idle model.
It tells the window what happened through signals and never touches a widget, so the window is layout and
wiring, and tests drive the queue through this public API.

Progress belongs to a *go*: from the moment captioning starts until nothing is left to start. Its count and
time left cover every image queued in that go, whatever list slices or job batches lie underneath, and
images added while it runs extend it. A drop is listed whole before a job starts, so one drop is one run.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from caprl_desktop.core import paths
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.events import (
    EngineRestarted,
    ItemFinished,
    ItemSkipped,
    ItemStarted,
    ItemText,
    JobFinished,
    JobPlanned,
)
from caprl_desktop.core.jobs.existing import ExistingCaption, existing_captions
from caprl_desktop.core.jobs.journal import JobSummary, Journal
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.ui.caption_worker import CaptionWorker, EngineChoice, LocalModel, RunRequest, ServerChoice
from caprl_desktop.ui.description_text import describe_file, describe_outcome
from caprl_desktop.ui.disk_captions import DiskReader, ReplaceQuestion, weigh_replacement
from caprl_desktop.ui.drop_report import DropReport, report_text
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel, State
from caprl_desktop.ui.scanner import Scanner, ScanResult
from caprl_desktop.ui.settings import AppSettings

LIST_SLICE = 2000  # images added to the list per turn of the event loop (about 10 ms)
UNFINISHED = (State.QUEUED, State.WAITING, State.CAPTIONING)
ADDED_MESSAGE_MS = 60_000  # what a drop added stays this long (the status bar's model line is under it)
SERVER_STATS_MS = 1000  # how often the status bar's figures for each server are brought up to date


@dataclass(frozen=True)
class Progress:
    """How far the current (or last) go has got."""

    done: int  # finished in this go, failed and skipped ones included
    total: int  # everything queued in this go
    seconds_left: float | None  # None until there is something to go by, and once it is over
    running: bool  # the go is under way
    failed: int = 0
    skipped: int = 0  # had a caption already: no time spent on them

    @property
    def captioned(self) -> int:
        return self.done - self.failed - self.skipped


def seconds_left(done: int, skipped: int, total: int, elapsed: float) -> float | None:
    """Time left at the pace of the captions made so far; None until one is made or once all are done.

    Skipped images (captioned before) took no time: counted in the pace, a folder mostly captioned before
    would say "about 0 s left" with captions still being made."""
    made = done - skipped
    if made <= 0 or done >= total:
        return None
    return max(1.0, elapsed / made * (total - done))


class QueueController(QObject):
    # To the worker's thread (queued connections).
    runRequested = Signal(object)  # RunRequest
    loadRequested = Signal(object)  # EngineConfig, or ServerChoice
    unloadRequested = Signal()
    closeServersRequested = Signal()  # let the servers go: the next run asks them again
    unloadNowRequested = Signal()  # the same, waiting until the engine process has ended
    shutdownRequested = Signal()
    countTokensRequested = Signal(object, str)  # image path, caption text
    tokensCounted = Signal(object, str, int)  # image path, the text counted, its tokens

    stateChanged = Signal()  # running, stopped
    progressChanged = Signal(object)  # Progress
    speedChanged = Signal(float)  # tokens per second of the captions in flight together
    eventHandled = Signal(object)  # a job event, once the list shows it (on the GUI thread)
    jobEnded = Signal()  # a job ended and the queue has moved on (the next one may be running)
    entryChanged = Signal(int)  # a row's state or caption changed as a whole (not a streamed piece)
    captionStreamed = Signal(object, str, int)  # image path, the piece, tokens so far
    rowsListed = Signal(int)  # rows added to the list
    scanningChanged = Signal(bool)
    engineStarting = Signal()
    engineReady = Signal(object)  # EngineInfo, or RemoteInfo when captions are made by servers
    serversMeasured = Signal(object)  # list[ServerStats]: how each server in use is doing, while a run goes on
    engineFailed = Signal(str)
    engineUnloaded = Signal()  # idle for the set time
    modelAvailable = Signal(bool)  # whether a model is installed, checked when the engine is prepared
    modelMissing = Signal()  # images wait for a model: time to offer one
    cannotSave = Signal(object)  # WriteError while the queue is held for it, None once Start lets it go
    resumeOffered = Signal(object)  # list[JobSummary] that can be resumed; [] withdraws the offer
    journalSetAside = Signal(str)  # the journal was damaged and set aside on opening: the core's sentence, where
    message = Signal(str, int)  # for the status bar, and for how many ms (0: until the next)
    dropListed = Signal(int)  # the first row a drop added, once all of it is listed (the list shows it)
    replaceAsked = Signal(object)  # ReplaceQuestion: re-captioning would replace captions; ``replace`` if yes
    skippedChanged = Signal(int)  # images this go skipped for their caption on disk (0: none, or a new go)

    def __init__(self, settings: AppSettings, store: ModelStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.loader = ImageLoader(self)
        self.queue = QueueModel(self.loader, self)
        self._engine_info: EngineInfo | None = None
        self._remote_info: RemoteInfo | None = None  # (one of the two, when an engine is ready)
        self.model_name = ""  # how the engine is named in the window: "CapRL-Qwen3VL-2B Q4_K_M", "gpu-box, laptop"
        self._running = False
        self._stopped = False  # paused or cancelled by the user: do not start the next job by itself
        self._save_problem: WriteError | None = None
        self._requests: list[RunRequest] = []  # sent to the worker and not ended yet, oldest first
        self._current_job: int | None = None
        self._cannot_save_jobs: set[int] = set()  # runs that stopped because their captions could not be saved
        self._moved: dict[int, str] = {}  # such a run's captions go to this folder when it goes on
        self._resumable: list[JobSummary] = []
        self._started_at: dict[Path, float] = {}  # first token of each caption in flight (several side by side)
        self._to_list: collections.deque[tuple[list[ImageItem], bool, bool]] = collections.deque()  # +overwrite, start
        self._asked: collections.deque[list[Path]] = collections.deque()  # paths of each scan, in order
        self._drops: collections.deque[DropReport] = collections.deque()  # one per ``_to_list`` entry
        self._skipped: list[Path] = []  # images this go skipped: they had a caption (to re-caption in one click)
        self._scans = False  # dropped paths being scanned
        self._go_active = False
        self._go_started = 0.0
        self._go_done = 0
        self._go_total = 0
        self._go_failed = 0
        self._go_skipped = 0

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self._unload_idle)
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(SERVER_STATS_MS)
        self._stats_timer.timeout.connect(self._measure_servers)
        self.scanner = Scanner(self)
        self.scanner.found.connect(self._scanned)
        self.scanner.busyChanged.connect(self._scanning)
        self.disk = DiskReader(self)  # reads captions already on disk
        # Skips come by the thousand at the start of a job: the count is told once they are in.
        self._skip_timer = QTimer(self)
        self._skip_timer.setSingleShot(True)
        self._skip_timer.setInterval(0)
        self._skip_timer.timeout.connect(lambda: self.skippedChanged.emit(len(self._skipped)))

        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("caprl-caption-worker")
        self.worker = CaptionWorker(paths.log_dir())
        self.worker.moveToThread(self.worker_thread)
        self.runRequested.connect(self.worker.run)
        self.loadRequested.connect(self.worker.load)
        self.shutdownRequested.connect(self.worker.shutdown)
        self.unloadRequested.connect(self.worker.unload)
        self.closeServersRequested.connect(self.worker.close_servers)
        self.unloadNowRequested.connect(self.worker.unload, Qt.ConnectionType.BlockingQueuedConnection)
        self.worker.engineStarting.connect(self.engineStarting)
        self.worker.engineReady.connect(self._engine_ready)
        self.worker.engineFailed.connect(self._engine_failed)
        self.worker.jobEvent.connect(self._job_event)
        self.worker.jobEnded.connect(self._job_ended)
        self.worker.jobRefused.connect(self._job_refused)
        self.worker.jobFailed.connect(self._job_failed)
        self.worker.journalSetAside.connect(self.journalSetAside)
        self.countTokensRequested.connect(self.worker.count_tokens)
        self.worker.tokensCounted.connect(self.tokensCounted)
        self.worker.jobStarted.connect(self._job_started)
        self.worker_thread.start()

    # --- state --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A job is with the worker."""
        return self._running

    @property
    def stopped(self) -> bool:
        """Paused, cancelled or held: the queue does not start the next job by itself."""
        return self._stopped

    @property
    def listing(self) -> bool:
        """Dropped images are still being added to the list (no job starts until they all are)."""
        return bool(self._to_list)

    @property
    def engine_info(self) -> EngineInfo | None:
        """What the local engine loaded (None while servers make the captions)."""
        return self._engine_info

    @property
    def remote_info(self) -> RemoteInfo | None:
        """The servers in use and what they serve (None while captions are made on this computer)."""
        return self._remote_info

    @property
    def uses_servers(self) -> bool:
        """The user chose caption servers (Settings → Engine) instead of this computer."""
        return bool(self.settings.engine_servers)

    @property
    def engine_pid(self) -> int | None:
        return self.worker.engine_pid

    @property
    def resumable(self) -> list[JobSummary]:
        """The runs on offer to resume (images a killed window or command left uncaptioned)."""
        return list(self._resumable)

    @property
    def current_folder(self) -> Path | None:
        """The folder of the run in flight (the one its first image was found under), if any."""
        return self._requests[0].items[0].root if self._requests and self._requests[0].items else None

    @property
    def skipped(self) -> list[Path]:
        """The images this go skipped because they had a caption already."""
        return list(self._skipped)

    @property
    def save_problem(self) -> WriteError | None:
        """Why the queue is held: captions could not be saved."""
        return self._save_problem

    @property
    def progress(self) -> Progress:
        done, total = self._go_done, self._go_total
        left: float | None = None
        if self._go_active:
            left = seconds_left(done, self._go_skipped, total, time.monotonic() - self._go_started)
        return Progress(done, total, left, self._go_active, self._go_failed, self._go_skipped)

    # --- the model ----------------------------------------------------------------------------

    def model_pair(self) -> tuple[Path, Path] | None:
        try:
            pair = self.store.default_pair()
        except CaprlError as exc:
            self.message.emit(str(exc), 15000)
            return None
        return None if pair is None else (pair.model_path, pair.mmproj_path)

    def engine_config(self) -> EngineConfig | None:
        """The local engine's set-up (None without a model; servers chosen or not)."""
        pair = self.model_pair()
        return None if pair is None else self.settings.choices.engine_config(*pair)

    def engine_choice(self) -> EngineChoice | None:
        """What makes the next run's captions: the chosen servers, else the default model (None: no model)."""
        if self.uses_servers:
            return ServerChoice(self.settings.engine_servers)
        pair = self.model_pair()
        return None if pair is None else LocalModel(*pair)

    def prepare_engine(self) -> None:
        """Load the model (or ask the chosen servers) in the background while the user picks images."""
        if self.uses_servers:
            self.modelAvailable.emit(True)  # no model needed here
            self.loadRequested.emit(self.engine_choice())
            return
        config = self.engine_config()
        self.modelAvailable.emit(config is not None)
        if config is not None:
            self.loadRequested.emit(config)

    def settings_changed(self) -> None:
        """Settings apply to the next job; a loaded model is reloaded now if its set-up changed, and a change
        between this computer and servers takes effect at once (after the run in flight)."""
        if self._running:
            return  # ``_job_ended`` catches up
        switched = self.uses_servers != (self._remote_info is not None)
        self._let_servers_go_if_unused()
        if self._engine_info is not None or self._remote_info is not None or switched:
            self.prepare_engine()  # the worker reloads only when the engine config differs
        self._restart_idle_timer()

    def servers_edited(self) -> None:
        """Saved servers were added or removed (a key or certificates may have changed with them): the engine
        on servers is started again from the saved list before its next caption."""
        self._forget_servers()
        if not self._running and self.uses_servers:
            self.prepare_engine()

    def _let_servers_go_if_unused(self) -> bool:
        """This computer was chosen: the servers still in use go (True)."""
        if self.uses_servers or self._remote_info is None:
            return False
        self._forget_servers()
        self.model_name = ""
        return True

    def _forget_servers(self) -> None:
        self.closeServersRequested.emit()  # (queued behind a run in flight, which keeps what it started with)
        self._remote_info = None
    def models_changed(self) -> None:
        if self.engine_config() is None and self._engine_info is not None:
            self._engine_info = None
            self.unloadRequested.emit()
        if not self._running:  # a running job keeps its model; the next one loads the new default
            self.prepare_engine()
        self._maybe_start()

    # --- adding images ------------------------------------------------------------------------

    def add_paths(self, paths_: list[Path], *, overwrite: bool = False, start: bool | None = None) -> None:
        """List images and folders (folders are scanned on a pool thread) and, with ``start``, caption them.

        ``start`` None follows the setting "Start captioning as soon as images are added" (off: they wait for
        Start, so the caption language and preset can be chosen first); a go under way takes them in.
        Paths are made absolute here, once: rows are found by path, and a path as typed on the command line
        (``caprl-desktop photos``) would not match the same image named by a drop or by the journal."""
        if paths_:
            if start is None:
                start = self.settings.start_when_added or (self._running and not self._stopped)
            if start:
                self._set_stopped(False)
            asked = [Path(p).absolute() for p in paths_]
            self._asked.append(asked)  # scans end in the order asked: ``_scanned`` takes them in that order
            self.scanner.scan(asked, overwrite=overwrite, start=start)

    def _scanned(self, result: ScanResult) -> None:
        self._found(result, self._asked.popleft() if self._asked else [])

    def _say_denied(self, denied: list[Path]) -> None:
        names = ", ".join(str(p) for p in denied[:3]) + (" …" if len(denied) > 3 else "")
        hint = self.tr(" On macOS, allow CapRL Desktop under System Settings → Privacy & Security → Files and "
                       "Folders (or Full Disk Access).") if sys.platform == "darwin" else ""
        self.message.emit(self.tr("Could not look inside {}: permission denied.").format(names) + hint,
                          ADDED_MESSAGE_MS)

    def _found(self, result: ScanResult, given: list[Path]) -> None:
        """List images found under ``given`` (by a scan, or by a re-caption's question)."""
        report = DropReport(given, result.missing, result.items, unread=list(result.unread))
        if result.denied:
            self._say_denied(list(result.denied))
        if not result.items:
            # After the denied ones' own message only if other folders could not be read either: named too.
            if not result.denied or len(result.unread) > len(result.denied):
                self.message.emit(report_text(report), ADDED_MESSAGE_MS)
            return
        self._drops.append(report)
        self._to_list.append((result.items, result.overwrite, result.start))
        if len(self._to_list) == 1:
            self._list_some()

    def _scanning(self, busy: bool) -> None:
        self._scans = busy
        self.scanningChanged.emit(busy)
        if not busy:
            self._end_go_if_idle()  # (nothing found there: the go it would have joined is over)
            self._update_progress()

    def _list_some(self) -> None:
        """List found images a slice at a time, so that 50,000 of them never hold up the event loop."""
        items, overwrite, start = self._to_list[0]
        drop = self._drops[0]
        chunk, rest = items[:LIST_SLICE], items[LIST_SLICE:]
        if rest:
            self._to_list[0] = (rest, overwrite, start)
        else:
            self._to_list.popleft()
            self._drops.popleft()
        first = len(self.queue.entries)
        added = self.queue.add(chunk, overwrite=overwrite, state=State.QUEUED if start else State.IDLE)
        if not start:  # they wait for Start: those with a caption say so, and Start will skip them
            self._look_for_earlier(range(first, first + added), announce=True)
        drop.listed(first, [entry.item for entry in self.queue.entries[first:first + added]])
        self.rowsListed.emit(added)
        if not rest:
            self._drop_listed(drop)
        if self._to_list:
            self._update_progress()  # a go under way counts them now; the rest of the drop follows
            QTimer.singleShot(0, self._list_some)
            return
        self._maybe_start()
        self._end_go_if_idle()
        self._update_progress()

    def _drop_listed(self, drop: DropReport) -> None:
        """Say what a drop added, and show where; how many have a caption already follows from a pool thread."""
        if drop.first_row is not None:
            self.dropListed.emit(drop.first_row)
        self.message.emit(report_text(drop), ADDED_MESSAGE_MS)
        if drop.new_items:
            new, folder = drop.new_items, self._caption_folder()

            def counted(captioned: int) -> None:
                if captioned:
                    self.message.emit(report_text(drop, captioned), ADDED_MESSAGE_MS)

            self.disk.run(lambda: len(existing_captions(new, folder)), counted)

    # --- scheduling ---------------------------------------------------------------------------

    def _maybe_start(self) -> None:
        # Not while a drop is being listed: a job of its first slice would make one drop several runs.
        if self._running or self._stopped or self._to_list:
            return
        rows = self.queue.in_state(State.QUEUED)
        if not rows:
            return
        choice = self.engine_choice()
        if choice is None:
            self.modelMissing.emit()
            return
        first = self.queue.entry(rows[0])
        overwrite, job_id = first.overwrite, first.job_id
        batch = [r for r in rows if self.queue.entry(r).overwrite == overwrite and self.queue.entry(r).job_id == job_id]
        self.queue.set_state(batch, State.WAITING)
        self._running = True
        self.idle_timer.stop()
        if not self._go_active:
            self._go_active, self._go_started, self._go_done, self._go_total = True, time.monotonic(), 0, 0
            self._skipped.clear()
            self._skip_timer.start()
            self._go_failed = self._go_skipped = 0
        self._update_progress()
        self.stateChanged.emit()
        # A recorded run goes on as it was started (its language, prompt, detail), unless captions now go to
        # a folder chosen since; the rest take the current choices.
        request = RunRequest([self.queue.entry(r).item for r in batch], self.settings.choices, choice,
                             overwrite=overwrite, job_id=job_id,
                             caption_folder=self._moved.get(job_id) if job_id is not None else None)
        self._requests.append(request)
        self.runRequested.emit(request)
        if isinstance(choice, ServerChoice):
            self._stats_timer.start()

    def _end_go_if_idle(self) -> None:
        # Images still being found or listed join the go under way (one count, one time left).
        if self._go_active and not self._running and not self._to_list and not self._scans:
            self._go_active = False

    def start(self) -> None:
        """Queue what is not captioned (and captions made but not saved) and go on."""
        self._stopped = False
        if self._save_problem is not None:
            self._save_problem = None
            self.cannotSave.emit(None)
        for row in self.queue.in_state(State.IDLE, State.FAILED):
            entry = self.queue.entry(row)
            if entry.state == State.IDLE or entry.unsaved:
                self.queue.requeue(row)
        self._maybe_start()
        self._update_progress()
        self.stateChanged.emit()

    def pause(self) -> None:
        """Start no more captions; those in flight finish."""
        self._set_stopped(True)
        for request in self._requests:
            request.control.pause.set()

    def cancel(self) -> None:
        """Stop the captions in flight (within a token) and the rest of the queue."""
        self._set_stopped(True)
        for request in self._requests:  # also one still waiting its turn on the worker's thread
            request.control.stop.set()
        self.worker.cancel_captions()
        queued = self.queue.in_state(State.QUEUED)
        self.queue.set_state(queued, State.IDLE)
        self._look_for_earlier(queued)

    def caption_rows(self, rows: list[int], *, overwrite: bool = False) -> None:
        """Caption these rows: those not captioned (or failed), or with ``overwrite`` all of them again."""
        if overwrite:
            self.queue.add([self.queue.entry(r).item for r in rows], overwrite=True)
        else:
            for row in rows:
                if self.queue.entry(row).state in (State.IDLE, State.FAILED):
                    self.queue.requeue(row)
        self._set_stopped(False)
        self._maybe_start()
        self._update_progress()

    def remove_rows(self, rows: list[int]) -> list[int]:
        """Take rows off the list, except those a job holds; returns the rows removed."""
        removable = [r for r in rows if self.queue.entry(r).state not in (State.CAPTIONING, State.WAITING)]
        self.queue.remove_rows(removable)
        if self._go_active:
            self._go_total = self._go_done + self.queue.count(*UNFINISHED)  # they are no longer part of it
        self._update_progress()
        return removable

    def _set_stopped(self, stopped: bool) -> None:
        self._stopped = stopped
        self.stateChanged.emit()

    # --- captions already on disk -------------------------------------------------------------

    def _caption_folder(self) -> Path | None:
        return Path(self.settings.caption_folder) if self.settings.caption_folder else None

    def ask_replace(self, items: list[ImageItem] | None = None, paths: list[Path] | None = None) -> None:
        """Re-caption ``items`` (or the images under ``paths``), replacing their captions. When some have one,
        ``replaceAsked`` says how many (and how many were edited by hand) and ``replace`` goes on if the user
        agrees; when none has, they are re-captioned at once. Their sidecars are read off the GUI thread."""
        folder = self._caption_folder()
        wanted = [Path(p).absolute() for p in paths or []]

        def work() -> ReplaceQuestion:
            found = items if items is not None else find_images(wanted)[0]
            return weigh_replacement(found, folder, wanted)

        self.disk.run(work, self._weighed)

    def _weighed(self, question: ReplaceQuestion) -> None:
        if not question.items:
            self.message.emit(self.tr("No images found there."), 10000)
        elif question.replaced.captioned:
            self.replaceAsked.emit(question)
        else:
            self.replace(question)

    def replace(self, question: ReplaceQuestion) -> None:
        """Re-caption the images asked about, replacing their captions (the user agreed)."""
        self._set_stopped(False)
        if all(self.queue.row_of(item.path) is not None for item in question.items):
            self.queue.add(question.items, overwrite=True)  # all listed: queued again, nothing added to say
            self._maybe_start()
            self._update_progress()
        else:  # a folder: listed like a drop of it
            self._found(ScanResult(question.items, [], overwrite=True, start=True), question.given)

    def recaption_skipped(self) -> None:
        """Re-caption what this go skipped for its caption on disk (with the choices now), asked first."""
        rows = (self.queue.row_of(p) for p in self._skipped)
        items = [self.queue.entry(r).item for r in rows if r is not None]
        self._skipped.clear()
        self.skippedChanged.emit(0)
        if items:
            self.ask_replace(items=items)

    def _look_for_earlier(self, rows: Iterable[int], *, announce: bool = False) -> None:
        """Rows left not captioned may have a caption on disk from before: find it off the GUI thread, so they
        show it ("Captioned earlier") and an edit starts from it instead of saving over it. ``announce``: count
        them with the skipped (images just listed, which Start will skip), for the one-click re-caption."""
        items = [self.queue.entry(r).item for r in rows if not self.queue.entry(r).earlier]
        if items:
            folder = self._caption_folder()
            self.disk.run(lambda: existing_captions(items, folder), lambda found: self._found_earlier(found, announce))

    def _found_earlier(self, found: dict[Path, ExistingCaption], announce: bool) -> None:
        for path, caption in found.items():
            row = self.queue.row_of(path)
            if row is None or self.queue.entry(row).state != State.IDLE:
                continue
            if not self.queue.entry(row).earlier:  # (the row on display was read at once: ``look_now``)
                self.queue.captioned_earlier(row, caption.sidecar, caption.text)
                self.entryChanged.emit(row)
            if announce:
                self._skipped.append(path)
                self._skip_timer.start()

    def release_model_files(self, paths: set[Path]) -> str | None:
        """Before model files are deleted or forgotten: an engine that has them open is ended first (Windows
        cannot delete a memory-mapped file, and removing it would leave gigabytes behind). Returns why that
        cannot be done now, or None."""
        info = self._engine_info
        if info is None or not {info.model.model_path, info.model.mmproj_path} & paths:
            return None
        if self._running:
            return self.tr("The model is captioning now: pause or cancel, then remove it.")
        self.unloadNowRequested.emit()  # returns once the engine process is gone
        self._engine_info = None
        self.engineUnloaded.emit()
        return None

    def look_for_description(self, row: int) -> None:
        """Find out, off the GUI thread, whether the row's image holds a description (and whose)."""
        path = self.queue.entry(row).path

        def found(text: str) -> None:
            at = self.queue.row_of(path)
            if at is not None and not self.queue.entry(at).description:
                self.queue.set_description(at, text)
                self.entryChanged.emit(at)

        self.disk.run(lambda: describe_file(path), found)

    def look_now(self, row: int) -> None:
        """The same for one row, at once: the row on display, where typing must start from its caption."""
        entry = self.queue.entry(row)
        if entry.state == State.IDLE and not entry.earlier:
            found = existing_captions([entry.item], self._caption_folder()).get(entry.path)
            if found is not None:
                self.queue.captioned_earlier(row, found.sidecar, found.text)

    # --- resuming -----------------------------------------------------------------------------

    def offer_resume(self) -> list[JobSummary]:
        """Runs that a killed window or command left with images uncaptioned: offered to resume."""
        try:
            with Journal() as journal:
                self._said_set_aside(journal)
                self._resumable = [j for j in journal.jobs() if j.resumable]
        except CaprlError:
            self._resumable = []
        self.resumeOffered.emit(self.resumable)
        return self.resumable

    def _said_set_aside(self, journal: Journal) -> None:
        if journal.set_aside_note:
            self.journalSetAside.emit(journal.set_aside_note)

    def resume_interrupted(self) -> None:
        """Queue the images left in the runs on offer; each goes on as the same run, with its own choices."""
        added = 0
        try:
            with Journal() as journal:
                self._said_set_aside(journal)
                for job in self._resumable:
                    items = journal.pending(job.id)
                    made = journal.made(job.id)
                    overwrite = job.options is not None and job.options.overwrite  # (a resumable run has them)
                    added += self.queue.add(items, overwrite=overwrite)
                    for item in items:
                        row = self.queue.row_of(item.path)
                        if row is not None and self.queue.entry(row).state == State.QUEUED:
                            self.queue.resume(row, job.id, made.get(item.path))
        except CaprlError as exc:
            self.message.emit(str(exc), 15000)
        self._resumable = []
        self.resumeOffered.emit([])
        self.rowsListed.emit(added)
        self._set_stopped(False)
        self._maybe_start()
        self._update_progress()

    # --- job events ---------------------------------------------------------------------------

    def count_tokens(self, path: Path, text: str) -> None:
        """Count an edited caption's tokens with the loaded model (``tokensCounted`` answers, between jobs)."""
        self.countTokensRequested.emit(path, text)

    def save_elsewhere(self, folder: str) -> None:
        """Captions cannot be saved where they go: from now on new runs save them under ``folder``, and so do
        the runs that met the problem when they go on; then start again."""
        self.settings.caption_folder = folder
        self.settings.sync()
        for job_id in self._cannot_save_jobs:
            self._moved[job_id] = folder
        self.start()

    def _job_started(self, job_id: int, paths_: list[Path]) -> None:
        self._current_job = job_id
        rows = (self.queue.row_of(p) for p in paths_)
        self.queue.set_job([r for r in rows if r is not None], job_id)

    def _job_event(self, event: object) -> None:
        if isinstance(event, ItemStarted):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                self._started_at.pop(event.item.path, None)  # (again, after a crash: counted afresh)
                self.queue.begin(row)
                self.entryChanged.emit(row)
        elif isinstance(event, ItemText):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                self.queue.append_text(row, event.text)
                self.captionStreamed.emit(event.item.path, event.text, self.queue.entry(row).tokens)
                self._started_at.setdefault(event.item.path, time.monotonic())
                self._show_speed()
        elif isinstance(event, ItemFinished):
            self._finished(event)
        elif isinstance(event, ItemSkipped):
            row = self.queue.row_of(event.item.path)
            if row is not None:
                self.queue.finish(row, event.record, sidecar=event.sidecar, stats=None, earlier=True)
                self._skipped.append(event.item.path)
                self._skip_timer.start()
                self._go_done += 1
                self._go_skipped += 1
                self.entryChanged.emit(row)
        elif isinstance(event, EngineRestarted):
            self.message.emit(self.tr("The engine crashed and was restarted: {}").format(event.reason), 15000)
        elif isinstance(event, JobPlanned):
            for clash in event.clashes:
                self.message.emit(clash.describe(), 10000)
        self._update_progress()
        self.eventHandled.emit(event)

    def _finished(self, event: ItemFinished) -> None:
        self._started_at.pop(event.item.path, None)
        row = self.queue.row_of(event.item.path)
        if row is None:
            return
        self._go_done += 1
        if event.record.error:
            self._go_failed += 1
            self.queue.fail(row, event.record.error, record=event.record, unsaved=event.unsaved)
        else:
            self.queue.finish(row, event.record, sidecar=event.sidecar, stats=event.stats,
                              description=describe_outcome(event.description))
            if event.stats is not None and not self._started_at:
                self.speedChanged.emit(event.stats.tokens_per_second)
        self.entryChanged.emit(row)

    def _show_speed(self) -> None:
        """Tokens per second of all captions in flight together (each counted from its own first token)."""
        now = time.monotonic()
        speed = 0.0
        for path, started in self._started_at.items():
            row = self.queue.row_of(path)
            if row is not None and now - started > 0.5:
                speed += self.queue.entry(row).tokens / (now - started)
        if speed > 0:
            self.speedChanged.emit(speed)

    def _job_refused(self, items: list[ImageItem], reason: str) -> None:
        for item in items:
            row = self.queue.row_of(item.path)
            if row is not None:
                self.queue.refuse(row, reason)
                self.entryChanged.emit(row)
        self.message.emit(reason, 20000)

    def _job_failed(self, reason: str) -> None:
        """The job ended on an unexpected error: what it had not finished fails with the reason, not re-queued
        (the next try would likely fail the same way; Start or Caption selected tries again)."""
        self._set_stopped(True)
        for row in self.queue.in_state(State.WAITING, State.CAPTIONING):
            self.queue.refuse(row, reason)
            self.entryChanged.emit(row)
        self.message.emit(reason, 30000)

    def _job_ended(self, finished: JobFinished | None) -> None:
        self._running = False
        self._started_at.clear()
        if self._stats_timer.isActive():
            self._stats_timer.stop()
            self._measure_servers()  # the run's last figures stay in view
        if self._requests:
            self._requests.pop(0)
        if finished is not None and finished.cannot_save is not None:
            if self._current_job is not None:
                self._cannot_save_jobs.add(self._current_job)
            self._hold(finished.cannot_save)
        self._current_job = None
        back = State.IDLE if self._stopped and not self.queue.count(State.QUEUED) else State.QUEUED
        left = self.queue.in_state(State.WAITING, State.CAPTIONING)
        for row in left:
            self.queue.reset(row, back)
            self.entryChanged.emit(row)
        if back == State.IDLE:
            self._look_for_earlier(left)
        if self._let_servers_go_if_unused():  # this computer was chosen during the run
            self.prepare_engine()
        self._maybe_start()
        self._end_go_if_idle()
        self._update_progress()
        self.stateChanged.emit()
        self._restart_idle_timer()
        self.jobEnded.emit()

    def _hold(self, problem: WriteError) -> None:
        """Hold the queue (it would fail image after image) until Start, e.g. with another caption folder."""
        self._stopped = True
        self._save_problem = problem
        queued = self.queue.in_state(State.QUEUED)
        self.queue.set_state(queued, State.IDLE)
        self._look_for_earlier(queued)
        self.cannotSave.emit(problem)

    def _update_progress(self) -> None:
        if self._go_active:
            # Never shrinks by itself: images cancelled or held in this go still count as part of it.
            self._go_total = max(self._go_total, self._go_done + self.queue.count(*UNFINISHED))
        self.progressChanged.emit(self.progress)

    # --- the engine ---------------------------------------------------------------------------

    def _engine_ready(self, info: EngineInfo | RemoteInfo, name: str) -> None:
        if isinstance(info, RemoteInfo):
            self._engine_info, self._remote_info = None, info
        else:
            self._engine_info, self._remote_info = info, None
        self.model_name = name
        self._restart_idle_timer()
        self.engineReady.emit(info)

    def _measure_servers(self) -> None:
        stats = self.worker.server_stats()  # under the remote engine's own lock: safe from this thread
        if stats:
            self.serversMeasured.emit(stats)

    def _engine_failed(self, message: str) -> None:
        self._set_stopped(True)  # retrying at once would fail the same way; Start tries again
        self.engineFailed.emit(message)

    def _restart_idle_timer(self) -> None:
        minutes = self.settings.idle_unload_minutes
        if minutes and not self._running:
            self.idle_timer.start(minutes * 60_000)
        else:
            self.idle_timer.stop()

    def _unload_idle(self) -> None:
        if self._running or self._engine_info is None:  # (servers hold no memory here: they stay)
            return
        self._engine_info = None
        self.unloadRequested.emit()
        self.engineUnloaded.emit()

    def shutdown(self) -> None:
        """Stop what runs and wait for the threads (closing the window)."""
        for request in self._requests:
            request.control.stop.set()
        self.worker.cancel_captions()
        self.shutdownRequested.emit()
        self.worker_thread.wait(15000)
        self.scanner.wait()
        self.disk.wait()
        self.loader.wait()
