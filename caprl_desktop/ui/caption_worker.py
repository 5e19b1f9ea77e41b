"""The window's side of the engine: a QObject on its own thread that runs caption jobs and emits their events.

The engine itself is a separate process (``EngineClient``), or the caption servers the user chose
(``RemoteEngine``, reached over HTTP); this thread only waits for their replies and forwards the core's plain
job events as Qt signals, so the GUI thread never blocks. Each run is a ``RunRequest`` with
its own ``RunControl``, set from the GUI thread: stop ends the run (``cancel_captions()`` stops the captions
in flight within a token), pause starts no more and lets those in flight finish. Every slot ends its job,
whatever is raised: the window is never left waiting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.remote import consent, saved
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.info import ServerStats
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.errors import CaprlError, EngineError
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished, JobFinished
from caprl_desktop.core.jobs.folder_locks import FolderBusyError
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.jobs.session import JobSession, NothingToResumeError, resumable_job, resume_job, start_job
from caprl_desktop.core.models.listing import model_name
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.settings import CaptionSettings
from caprl_desktop.ui.errors import describe

HOLDER = "CapRL Desktop window"


@dataclass(frozen=True)
class LocalModel:
    """Captions made on this computer, by this model pair."""

    model_path: Path
    mmproj_path: Path


@dataclass(frozen=True)
class ServerChoice:
    """Captions made by these saved servers (their names; ``caprl-desktop engines``)."""

    names: tuple[str, ...]


EngineChoice = LocalModel | ServerChoice


@dataclass(frozen=True)
class RunControl:
    """Cancel and pause for one run, set from the GUI thread, read by the worker between events.

    Each request has its own, so a Cancel pressed while a run still waits its turn (the model loading)
    reaches that run instead of being cleared when it starts."""

    stop: threading.Event = field(default_factory=threading.Event)
    pause: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class RunRequest:
    """One run the window asks for: new images with the current choices, or the rest of a recorded run."""

    items: list[ImageItem]
    settings: CaptionSettings
    engine: EngineChoice
    overwrite: bool = False  # re-caption images that have a caption (this run only)
    job_id: int | None = None  # resume this run, with its own options, instead of starting one
    caption_folder: str | None = None  # a resumed run's captions go here now (its own folder could not be written)
    control: RunControl = field(default_factory=RunControl)


class CaptionWorker(QObject):
    engineStarting = Signal()
    # EngineInfo or RemoteInfo, how the engine is named ("CapRL-Qwen3VL-2B Q4_K_M", "gpu-box, laptop")
    engineReady = Signal(object, str)
    engineFailed = Signal(str)
    jobStarted = Signal(int, object)  # job number, the items' paths
    jobEvent = Signal(object)  # a core JobEvent
    jobEnded = Signal(object)  # JobFinished, or None when the job could not start or was stopped early
    jobRefused = Signal(object, str)  # the items, why (another run holds their folder)
    tokensCounted = Signal(object, str, int)  # image path, the text counted, its tokens
    jobFailed = Signal(str)  # an unexpected error ended the job: the images not finished fail with this reason
    journalSetAside = Signal(str)  # the journal was damaged and set aside on opening: the core's sentence

    def __init__(self, log_dir: Path | None = None, journal_path: Path | None = None) -> None:
        super().__init__()
        self._log_dir = log_dir
        self._journal_path = journal_path
        self._journal: Journal | None = None
        self._engine: EngineClient | None = None
        self._remote: RemoteEngine | None = None  # the servers in use instead, when the user chose servers
        self._servers: tuple[Server, ...] = ()  # what ``_remote`` was started with

    # --- any thread ---------------------------------------------------------------------------

    def cancel_captions(self) -> None:
        """Stop the captions in flight within a token (the run's ``RunControl.stop`` ends the run itself)."""
        engine = self._engine or self._remote
        if engine is not None:
            engine.cancel()

    def server_stats(self) -> list[ServerStats]:
        """How each server in use has done (none when captions are made here); read under the engine's lock."""
        remote = self._remote
        return remote.server_stats() if remote is not None else []

    @property
    def engine_pid(self) -> int | None:
        engine = self._engine
        return engine.pid if engine is not None else None

    # --- worker thread ------------------------------------------------------------------------
    # Called through queued signals, so they run on this object's thread.

    def _ensure_engine(self, config: EngineConfig) -> EngineClient:
        engine = self._engine
        if engine is not None and engine.running and engine.config == config:
            return engine
        self.close_servers()
        self.engineStarting.emit()
        if engine is None:
            engine = self._engine = EngineClient(config, log_dir=self._log_dir)
        info = engine.start(config)
        self.engineReady.emit(info, model_name(info.model))  # the name reads the store: here, off the GUI thread
        return engine

    def _ensure_servers(self, choice: ServerChoice) -> RemoteEngine:
        """The chosen saved servers, asked which model they serve. A server that would get images unencrypted
        over a network is refused until the user has had its warning (the Settings page asks)."""
        servers = tuple(saved.resolve(name) for name in choice.names)
        if self._remote is not None and self._servers == servers:
            return self._remote
        unwarned = consent.unwarned(servers)
        if unwarned:
            raise EngineError(unwarned[0][1] + ". Choose it again in Settings → Engine to agree to that.")
        self.unload()
        self.engineStarting.emit()
        remote = RemoteEngine(servers)
        try:
            info = remote.start()
        except BaseException:
            remote.close()
            raise
        self._remote, self._servers = remote, servers
        self.engineReady.emit(info, ", ".join(server.label for server in servers))
        return remote

    def close_servers(self) -> None:
        """Let the servers go (their saved list or keys changed, or this computer was chosen); the next run asks
        them again. Queued behind a running job, so that job keeps them to its end."""
        remote, self._remote, self._servers = self._remote, None, ()
        if remote is not None:
            remote.close()

    def load(self, want: EngineConfig | ServerChoice) -> None:
        try:
            if isinstance(want, ServerChoice):
                self._ensure_servers(want)
            else:
                self._ensure_engine(want)
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave the window waiting for a model
            self.engineFailed.emit(describe(exc, "loading the model"))

    def count_tokens(self, path: Path, text: str) -> None:
        """An edited caption's tokens, by the loaded model's tokenizer; nothing when no model is loaded. Runs
        between jobs (this thread runs one thing at a time), so no caption's replies are in flight."""
        engine = self._engine
        if engine is None or not engine.running:
            return  # (servers have no tokenizer to ask)
        try:
            count = engine.count_tokens(text)
        except CaprlError:
            return  # the counter shows characters only, as before any count
        self.tokensCounted.emit(path, text, count)

    def run(self, request: RunRequest) -> None:
        finished: JobFinished | None = None
        try:
            if request.control.stop.is_set():
                return  # cancelled while it waited its turn
            journal = self._open_journal()
            if isinstance(request.engine, ServerChoice):
                finished = self._run_on_servers(journal, request, request.engine)
                return
            local = request.engine
            with self._session(journal, request, local.model_path.name) as session:
                self.jobStarted.emit(session.job_id, [i.path for i in session.items])
                config = request.settings.engine_config(local.model_path, local.mmproj_path, session.options)
                try:
                    engine = self._ensure_engine(config)
                except CaprlError as exc:
                    self.engineFailed.emit(str(exc))
                    return
                finished = self._drive(session, engine, request.control)
        except FolderBusyError as exc:
            self.jobRefused.emit(request.items, str(exc))
        except CaprlError as exc:  # the journal (a full data disk, busy), a run that cannot be resumed
            self.jobFailed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - an OSError nobody foresaw (a full data disk) ends the job too
            self.jobFailed.emit(describe(exc, "a caption job"))
        finally:
            self.jobEnded.emit(finished)

    def _run_on_servers(self, journal: Journal, request: RunRequest, choice: ServerChoice) -> JobFinished | None:
        """The servers first (the records name the models they serve), then the run."""
        try:
            remote = self._ensure_servers(choice)
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))
            return None
        label = remote.info.model_label if remote.info else "server"
        with self._session(journal, request, label) as session:
            self.jobStarted.emit(session.job_id, [i.path for i in session.items])
            return self._drive(session, remote, request.control)

    def _session(self, journal: Journal, request: RunRequest,
                 model_label: str) -> contextlib.AbstractContextManager[JobSession]:
        if request.job_id is not None and _resumable(journal, request.job_id):
            def change(options: JobOptions) -> JobOptions:
                # The run keeps its own choices; captions go to a folder chosen since its own failed, and the
                # records name the model that makes them now.
                folder = request.caption_folder
                moved = {"caption_folder": str(Path(folder).absolute())} if folder else {}
                return dataclasses.replace(options, model_label=model_label, **moved)  # type: ignore[arg-type]

            return resume_job(journal, request.job_id, holder=HOLDER, only=[i.path for i in request.items],
                              change=change)
        # A new run; also for images of a run that cannot be resumed any more (forgotten, or running elsewhere).
        options = request.settings.job_options(model_label, overwrite=request.overwrite)
        return start_job(journal, request.items, options, holder=HOLDER)

    def _drive(self, session: JobSession, engine: CaptionEngine, control: RunControl) -> JobFinished | None:
        job = session.run(engine, hold=control.pause.is_set)
        with contextlib.closing(job):
            for event in job:
                self.jobEvent.emit(event)
                if isinstance(event, JobFinished):
                    return event
                if control.stop.is_set() or (
                    control.pause.is_set() and isinstance(event, ItemFinished) and not event.others_running
                ):
                    return None
        return None

    def _open_journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self._journal_path)
            if self._journal.set_aside_note:
                self.journalSetAside.emit(self._journal.set_aside_note)
        return self._journal

    def unload(self) -> None:
        """Free the model's memory (idle, or its files removed), or let the servers go; the next job loads it
        (or asks them) again."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        self.close_servers()

    def shutdown(self) -> None:
        self.unload()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        thread = QThread.currentThread()
        thread.quit()



def _resumable(journal: Journal, job_id: int) -> bool:
    try:
        resumable_job(journal, job_id)
    except NothingToResumeError:
        return False
    return True
