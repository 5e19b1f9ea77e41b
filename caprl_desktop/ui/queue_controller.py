"""The window's queue without its widgets: what is listed, what runs next, how far it has got.

``QueueController`` owns the image list (``QueueModel``) and the ``CaptionWorker`` on its own thread, and decides
what runs next: Start/Pause/Cancel, re-captioning, the runs on offer to resume, holding the queue when captions
cannot be saved. Its parts: dropped paths come in through ``DropIntake``, the go's count and pace are
``GoProgress``, the engine's state (loaded, idle, released) is ``EngineState``, a run's events land on rows
through ``RunRows``, captions already on disk are ``DiskLooks``, and ``ResumeOffer`` and ``SaveHold`` keep
what their names say. It tells the window what happened through signals and never touches a widget, so the
window is layout and wiring, and tests drive the queue through this public API, on the engines an
``EngineFactory`` makes (``ui/engines.py``).

A drop is listed whole before a job starts, so one drop is one run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import Reason
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import JobFinished
from caprl_desktop.core.jobs.journal import JobSummary
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.ui.caption_edits import CaptionEdits
from caprl_desktop.ui.caption_worker import CaptionWorker, RunRequest
from caprl_desktop.ui.disk_captions import ReplaceQuestion
from caprl_desktop.ui.disk_looks import DiskLooks
from caprl_desktop.ui.drop_intake import DropIntake
from caprl_desktop.ui.engine_state import EngineState
from caprl_desktop.ui.engines import EngineFactory
from caprl_desktop.ui.go_progress import UNFINISHED, GoProgress, Progress
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel, State
from caprl_desktop.ui.resume_offer import ResumeOffer
from caprl_desktop.ui.run_rows import RunRows
from caprl_desktop.ui.save_hold import SaveHold
from caprl_desktop.ui.scanner import ScanResult
from caprl_desktop.ui.settings import AppSettings

__all__ = ["UNFINISHED", "Progress", "QueueController"]  # (what the window and its status line read from here)


class QueueController(QObject):
    # To the worker's thread (queued connections).
    runRequested = Signal(object)  # RunRequest
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
    modelMissing = Signal()  # images wait for a model: time to offer one
    cannotSave = Signal(object)  # WriteError while the queue is held for it, None once Start lets it go
    resumeOffered = Signal(object)  # list[JobSummary] that can be resumed; [] withdraws the offer
    journalSetAside = Signal(str)  # the journal was damaged and set aside on opening: the core's sentence, where
    message = Signal(str, int)  # for the status bar, and for how many ms (0: until the next)
    dropListed = Signal(int)  # the first row a drop added, once all of it is listed (the list shows it)
    replaceAsked = Signal(object)  # ReplaceQuestion: re-captioning would replace captions; ``replace`` if yes
    skippedChanged = Signal(int)  # images the go just over skipped for their caption on disk (0: none, or a new go)

    def __init__(self, settings: AppSettings, store: ModelStore, parent: QObject | None = None, *,
                 engines: EngineFactory | None = None) -> None:
        """``engines``: what makes the engines (default: llama.cpp on this computer, and servers over HTTP)."""
        super().__init__(parent)
        self.settings = settings
        self.loader = ImageLoader(self)
        self.queue = QueueModel(self.loader, self)
        self._running = False
        self._stopped = False  # paused or cancelled by the user: do not start the next job by itself
        self._paused = False  # of those, paused: the run's rows left wait for Start, and say so
        self._requests: list[RunRequest] = []  # sent to the worker and not ended yet, oldest first
        self._current_job: int | None = None
        self.save_hold = SaveHold()
        self.go = GoProgress()

        self.looks = DiskLooks(self.queue, self._caption_folder, self)
        self.looks.entryChanged.connect(self.entryChanged)
        self.looks.replaceAsked.connect(self.replaceAsked)
        self.looks.replaceAgreed.connect(self.replace)
        self.looks.message.connect(self.message)
        self.rows = RunRows(self.queue, self.go, self)
        self.offered = ResumeOffer(self.queue, self)
        self.edits = CaptionEdits(self._caption_folder, settings, self)  # hand edits, history, descriptions
        self.edits.descriptionChanged.connect(self._description_changed)
        self.edits.message.connect(self.message)
        for mine, theirs in ((self.rows.entryChanged, self.entryChanged), (self.rows.message, self.message),
                             (self.rows.captionStreamed, self.captionStreamed),
                             (self.rows.speedChanged, self.speedChanged),
                             (self.offered.resumeOffered, self.resumeOffered),
                             (self.offered.journalSetAside, self.journalSetAside),
                             (self.offered.message, self.message)):
            mine.connect(theirs)
        self.intake = DropIntake(self.queue, self.looks.disk, self._caption_folder, self)
        self.intake.message.connect(self.message)
        self.intake.scanningChanged.connect(self._scanning)
        self.intake.sliceListed.connect(self._slice_listed)
        self.intake.dropListed.connect(self.dropListed)
        self.intake.listed.connect(self._listed)

        self.worker_thread = QThread(self)
        self.worker_thread.setObjectName("caprl-caption-worker")
        self.worker = CaptionWorker(engines)
        self.worker.moveToThread(self.worker_thread)
        self.engine = EngineState(settings, store, self.worker, lambda: self._running, self)
        for mine, theirs in ((self.engine.message, self.message), (self.worker.journalSetAside, self.journalSetAside),
                             (self.worker.tokensCounted, self.tokensCounted)):
            mine.connect(theirs)
        self.engine.mayGoOn.connect(self._maybe_start)
        self.engine.engineFailed.connect(lambda: self._set_stopped(True))  # Start tries again
        self.runRequested.connect(self.worker.run)
        self.shutdownRequested.connect(self.worker.shutdown)
        self.countTokensRequested.connect(self.worker.count_tokens)
        self.worker.jobEvent.connect(self._job_event)
        self.worker.jobEnded.connect(self._job_ended)
        self.worker.jobRefused.connect(self.rows.refuse)
        self.worker.jobFailed.connect(self._job_failed)
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
    def paused(self) -> bool:
        """The user paused: the captions in flight are finishing, or what the run left waits for Start."""
        return self._stopped and self._paused and (self._running or bool(self.queue.paused_rows()))

    def still_queued(self) -> tuple[int, int]:
        """Images queued or left by a pause, not captioned yet; and how many of them a recorded run holds (the
        rest was never handed to one, so the next start cannot offer to resume them)."""
        rows = [*self.queue.in_state(*UNFINISHED), *self.queue.paused_rows()]
        return len(rows), sum(self.queue.entry(r).job_id is not None for r in rows)

    @property
    def listing(self) -> bool:
        """Dropped images are still being added to the list (no job starts until they all are)."""
        return self.intake.listing

    @property
    def store(self) -> ModelStore:
        return self.engine.store

    @property
    def uses_servers(self) -> bool:
        """The user chose caption servers (Settings → Engine) instead of this computer."""
        return self.engine.uses_servers

    @property
    def engine_info(self) -> EngineInfo | None:
        """What the local engine loaded (None while servers make the captions)."""
        return self.engine.info

    @property
    def remote_info(self) -> RemoteInfo | None:
        """The servers in use and what they serve (None while captions are made on this computer)."""
        return self.engine.remote

    @property
    def model_name(self) -> str:
        """How the engine is named in the window: "CapRL-Qwen3VL-2B Q4_K_M", "gpu-box, laptop"."""
        return self.engine.model_name

    @property
    def engine_pid(self) -> int | None:
        return self.worker.engine_pid

    @property
    def resumable(self) -> list[JobSummary]:
        """The runs on offer to resume (images a killed window or command left uncaptioned)."""
        return list(self.offered.runs)

    @property
    def current_folder(self) -> Path | None:
        """The folder of the run in flight (the one its first image was found under), if any."""
        return self._requests[0].items[0].root if self._requests and self._requests[0].items else None

    @property
    def current_folders(self) -> list[Path]:
        """The folders of the run in flight (those its images were found under), in order."""
        items = self._requests[0].items if self._requests else []
        return list(dict.fromkeys(item.root for item in items))

    @property
    def skipped(self) -> list[Path]:
        """The images this go skipped because they had a caption already."""
        return list(self.go.skipped_paths)

    @property
    def save_problem(self) -> WriteError | None:
        """Why the queue is held: captions could not be saved."""
        return self.save_hold.problem

    @property
    def progress(self) -> Progress:
        return self.go.progress

    def engine_config(self) -> EngineConfig | None:
        """The local engine's set-up (None without a model; servers chosen or not)."""
        return self.engine.engine_config()

    # --- adding images ------------------------------------------------------------------------

    def add_paths(self, given: list[Path], *, overwrite: bool = False, start: bool | None = None) -> None:
        """List images and folders (folders are scanned on a pool thread) and, with ``start``, caption them.

        ``start`` None follows the setting "Start captioning as soon as images are added" (off: they wait for
        Start, so the caption language and preset can be chosen first); a go under way takes them in.
        Paths are made absolute here, once: rows are found by path, and a path as typed on the command line
        (``caprl-desktop photos``) would not match the same image named by a drop or by the journal."""
        if given:
            if start is None:
                start = self.settings.start_when_added or (self._running and not self._stopped)
            if start:
                self._set_stopped(False)
            self.intake.scan([Path(p).absolute() for p in given], overwrite=overwrite, start=start)

    def _scanning(self, busy: bool) -> None:
        self.scanningChanged.emit(busy)
        if not busy:
            self._end_go_if_idle()  # (nothing found there: the go it would have joined is over)
            self._update_progress()

    def _slice_listed(self, first: int, added: int, start: bool) -> None:
        if not start:  # they wait for Start: those with a caption say so (Start will skip them)
            self.looks.look_for_earlier(range(first, first + added))
        self.rowsListed.emit(added)

    def _listed(self, more: bool) -> None:
        if not more:
            self._maybe_start()
            self._end_go_if_idle()
        self._update_progress()  # (a go under way counts them now; the rest of the drop follows)

    # --- scheduling ---------------------------------------------------------------------------

    def _maybe_start(self) -> None:
        # Not while a drop is being listed: a job of its first slice would make one drop several runs.
        if self._running or self._stopped or self.intake.listing or self.engine.releasing:
            return
        rows = self.queue.in_state(State.QUEUED)
        if not rows:
            return
        choice = self.engine.engine_choice()
        if choice is None:
            self.modelMissing.emit()
            return
        first = self.queue.entry(rows[0])
        overwrite, job_id = first.overwrite, first.job_id
        batch = [r for r in rows if self.queue.entry(r).overwrite == overwrite and self.queue.entry(r).job_id == job_id]
        self.queue.set_state(batch, State.WAITING)
        self._running = True
        if self.go.begin():
            self.skippedChanged.emit(0)  # (what the last go skipped is no longer the news)
        self._update_progress()
        self.stateChanged.emit()
        # A recorded run goes on as it was started (its language, prompt, detail), unless captions now go to
        # a folder chosen since; the rest take the current choices.
        request = RunRequest([self.queue.entry(r).item for r in batch], self.settings.choices, choice,
                             overwrite=overwrite, job_id=job_id,
                             caption_folder=self.save_hold.folder_for(job_id))
        self._requests.append(request)
        self.runRequested.emit(request)
        self.engine.run_started(choice)

    def _end_go_if_idle(self) -> None:
        # Images still being found or listed join the go under way (one count, one time left).
        if not self._running and not self.intake.listing and not self.intake.scanning and self.go.end():
            self.skippedChanged.emit(len(self.go.skipped_paths))  # what this go skipped, told once it is over

    def start(self) -> None:
        """Queue what is not captioned (and captions made but not saved) and go on."""
        self._stopped = self._paused = False
        if self.save_hold.let_go():
            self.cannotSave.emit(None)
        for row in self.queue.in_state(State.IDLE, State.FAILED):
            entry = self.queue.entry(row)
            if entry.state == State.IDLE or entry.unsaved:
                self.queue.requeue(row)
        self._maybe_start()
        self._update_progress()
        self.stateChanged.emit()

    def pause(self) -> None:
        """Start no more captions; those in flight finish, and the rest waits for Start, saying "Paused"."""
        self._paused = True
        self._set_stopped(True)
        for request in self._requests:
            request.control.pause.set()

    def cancel(self) -> None:
        """Stop the captions in flight (within a token) and the rest of the queue."""
        self._paused = False  # (Esc while a pause lets the last captions finish: they stop, the rest is not queued)
        self._set_stopped(True)
        for request in self._requests:  # also one still waiting its turn on the worker's thread
            request.control.stop.set()
        self.worker.cancel_captions()
        queued = self.queue.in_state(State.QUEUED)
        self.queue.set_state(queued, State.IDLE)
        self.looks.look_for_earlier(queued)

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
        self.go.removed(self.queue.count(*UNFINISHED))  # they are no longer part of the go
        if self.go.skipped_paths:  # the bar tells of the images still listed, none once the list is cleared
            listed = [p for p in self.go.skipped_paths if self.queue.row_of(p) is not None]
            if len(listed) != len(self.go.skipped_paths):
                self.go.skipped_paths[:] = listed
                if not self.go.active:
                    self.skippedChanged.emit(len(listed))
        self._update_progress()
        return removable

    def _set_stopped(self, stopped: bool) -> None:
        if not stopped and self._paused:  # going on otherwise than by Start: what the pause left is just listed
            self._paused = False
            left = self.queue.paused_rows()
            self.queue.set_paused(left, False)
            self.looks.look_for_earlier(left)
        self._stopped = stopped
        self.stateChanged.emit()

    # --- captions already on disk -------------------------------------------------------------

    def _caption_folder(self) -> Path | None:
        return Path(self.settings.caption_folder) if self.settings.caption_folder else None

    def _description_changed(self, path: Path, text: str) -> None:
        row = self.queue.row_of(path)
        if row is not None:
            self.queue.set_description(row, text)
            self.entryChanged.emit(row)

    def ask_replace(self, items: list[ImageItem] | None = None, paths: list[Path] | None = None) -> None:
        """Re-caption ``items`` (or the images under ``paths``): asked first when that replaces captions."""
        self.looks.ask_replace(items, paths)

    def replace(self, question: ReplaceQuestion, *, keep_by_hand: bool = False) -> None:
        """Re-caption the images asked about, replacing their captions (the user agreed); ``keep_by_hand``: all
        but those a person may have worked on (edited since the app wrote them, or not the app's)."""
        kept = question.replaced.by_hand if keep_by_hand else frozenset()
        items = [item for item in question.items if item.path not in kept]
        # The captions replaced that nothing recorded are kept in their images' histories first.
        if not items or not self.edits.keep([row for row in question.unrecorded if row[0] not in kept]):
            return
        self._set_stopped(False)
        if all(self.queue.row_of(item.path) is not None for item in items):
            self.queue.add(items, overwrite=True)  # all listed: queued again, nothing added to say
            self._maybe_start()
            self._update_progress()
        else:  # a folder: listed like a drop of it
            self.intake.take(ScanResult(items, [], overwrite=True, start=True), question.given)

    def recaption_skipped(self) -> None:
        """Re-caption what this go skipped for its caption on disk (with the choices now), asked first."""
        rows = (self.queue.row_of(p) for p in self.go.skipped_paths)
        items = [self.queue.entry(r).item for r in rows if r is not None]
        self.go.skipped_paths.clear()
        self.skippedChanged.emit(0)
        if items:
            self.ask_replace(items=items)

    # --- resuming -----------------------------------------------------------------------------

    def offer_resume(self) -> list[JobSummary]:
        """Runs that a killed window or command left with images uncaptioned: offered to resume."""
        return self.offered.offer()

    def resume_interrupted(self) -> None:
        """Queue the images left in the runs on offer; each goes on as the same run, with its own choices (what
        each finished before is listed too: the list, and its export, are the whole run)."""
        self.rowsListed.emit(self.offered.take())
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
        self.save_hold.elsewhere(folder)
        self.start()

    def _job_started(self, job_id: int, images: list[Path]) -> None:
        self._current_job = job_id
        self.rows.job_started(job_id, images)

    def _job_event(self, event: object) -> None:
        self.rows.show(event)
        self._update_progress()
        self.eventHandled.emit(event)

    def _job_failed(self, why: Reason) -> None:
        self._set_stopped(True)
        self.rows.fail_unfinished(why)

    def _job_ended(self, finished: JobFinished | None) -> None:
        self._running = False
        self.go.run_ended()
        if self._requests:
            self._requests.pop(0)
        if finished is not None and finished.cannot_save is not None:
            self._hold(finished.cannot_save)
        self._current_job = None
        paused = self._stopped and self._paused
        back = State.IDLE if self._stopped and (paused or not self.queue.count(State.QUEUED)) else State.QUEUED
        left = self.queue.in_state(State.WAITING, State.CAPTIONING)
        for row in left:
            self.queue.reset(row, back)
            self.entryChanged.emit(row)
        if paused:  # what the run left, and images queued after it, wait for Start together
            queued = self.queue.in_state(State.QUEUED)
            self.queue.set_state(queued, State.IDLE)
            self.queue.set_paused([*left, *queued], True)
        elif back == State.IDLE:
            self.looks.look_for_earlier(left)
        self.engine.run_ended()
        self._maybe_start()
        self._end_go_if_idle()
        self._update_progress()
        self.stateChanged.emit()
        self.engine.restart_idle_timer()
        self.jobEnded.emit()

    def _hold(self, problem: WriteError) -> None:
        """Hold the queue (it would fail image after image) until Start, e.g. with another caption folder."""
        self._stopped = True
        self.save_hold.hold(problem, self._current_job)
        queued = self.queue.in_state(State.QUEUED)
        self.queue.set_state(queued, State.IDLE)
        self.looks.look_for_earlier(queued)
        self.cannotSave.emit(problem)

    def _update_progress(self) -> None:
        self.go.cover(self.queue.count(*UNFINISHED))
        self.progressChanged.emit(self.progress)

    def shutdown(self) -> None:
        """Stop what runs and wait for the threads (closing the window)."""
        for request in self._requests:
            request.control.stop.set()
        self.worker.cancel_captions()
        self.shutdownRequested.emit()
        self.worker_thread.wait(15000)
        self.intake.wait()
        self.looks.wait()
        self.edits.wait()
        self.loader.wait()
