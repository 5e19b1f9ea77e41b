"""The window's side of the engine: a QObject on its own thread that runs caption jobs and emits their events.

The engine itself is a separate process (``EngineClient``), or the caption servers the user chose
(``RemoteEngine``, reached over HTTP), both made by the ``EngineFactory`` it is given (``ui/engines.py``); this
thread only waits for their replies and forwards the core's plain job events as Qt signals, so the GUI thread
never blocks; which starts first, the engine or the run, is ``core/jobs/opening.py``'s to say. Each run is a
``RunRequest`` with its own ``RunControl``, set from the GUI thread: stop ends the run (``cancel_captions()``
stops the captions in flight within a token), pause starts no more and lets those in flight finish. Every
slot ends its job, whatever is raised: the window is never left waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, QThread, Signal

from caprl_desktop.core.engine.remote import consent, saved
from caprl_desktop.core.engine.remote.info import ServerStats
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.starting import start_or_close
from caprl_desktop.core.errors import CaprlError, EngineError, reason_of
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished, JobFinished
from caprl_desktop.core.jobs.folder_locks import FolderBusyError
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.opening import (
    EngineStart,
    NewRun,
    OnServers,
    OnThisComputer,
    Resume,
    ResumeChanges,
    open_run,
)
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.jobs.session import JobSession
from caprl_desktop.core.models.listing import model_name
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.settings import CaptionSettings
from caprl_desktop.ui.engines import EngineFactory, LocalEngine, RealEngines, ServerEngine
from caprl_desktop.ui.errors import describe

HOLDER = "CapRL Desktop window"
E = TypeVar("E")


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

    def to_open(self) -> NewRun | Resume:
        """What ``open_run`` is asked: a recorded run goes on as it was started (its language, prompt, detail),
        captions going to a folder chosen since its own failed; images of a run that cannot be resumed any
        more (forgotten, or running elsewhere) start a new run with the current choices."""
        new = NewRun(self.items, self.settings, self.overwrite)
        if self.job_id is None:
            return new
        folder = Path(self.caption_folder) if self.caption_folder else None
        return Resume(self.job_id, ResumeChanges(caption_folder=folder), only=tuple(i.path for i in self.items),
                      otherwise=new)


class _EngineFailed(Exception):
    """The engine could not start; ``engineFailed`` has said why, and the run ends without failing its images."""


class CaptionWorker(QObject):
    engineStarting = Signal()
    # EngineInfo or RemoteInfo, how the engine is named ("CapRL-Qwen3VL-2B Q4_K_M", "gpu-box, laptop")
    engineReady = Signal(object, str)
    engineFailed = Signal(str)
    jobStarted = Signal(int, object)  # job number, the items' paths
    jobEvent = Signal(object)  # a core JobEvent
    jobEnded = Signal(object)  # JobFinished, or None when the job could not start or was stopped early
    jobRefused = Signal(object, object)  # the items, why (a Reason: another run holds their folder)
    tokensCounted = Signal(object, str, int)  # image path, the text counted, its tokens
    jobFailed = Signal(object)  # a Reason: an unexpected error ended the job, and the images not finished fail
    journalSetAside = Signal(str)  # the journal was damaged and set aside on opening: the core's sentence
    released = Signal()  # ``release`` has ended the engine: its model files are free

    def __init__(self, engines: EngineFactory | None = None, journal_path: Path | None = None) -> None:
        super().__init__()
        self._engines = engines or RealEngines()
        self._journal_path = journal_path
        self._journal: Journal | None = None
        self._engine: LocalEngine | None = None
        self._remote: ServerEngine | None = None  # the servers in use instead, when the user chose servers
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

    def _ensure_engine(self, config: EngineConfig) -> LocalEngine:
        engine = self._engine
        if engine is not None and engine.running and engine.config == config:
            return engine
        self.close_servers()
        self.engineStarting.emit()
        if engine is None:
            engine = self._engine = self._engines.local(config)
        info = engine.start(config)
        self.engineReady.emit(info, model_name(info.model))  # the name reads the store: here, off the GUI thread
        return engine

    def _ensure_servers(self, choice: ServerChoice) -> ServerEngine:
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
        remote = self._engines.servers(servers)
        start_or_close(remote)
        self._remote, self._servers = remote, servers
        self.engineReady.emit(remote.info, ", ".join(server.label for server in servers))
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
            with open_run(journal, request.to_open(), self._engine_start(request), holder=HOLDER,
                          opened=lambda session: self.jobStarted.emit(session.job_id,
                                                                      [i.path for i in session.items])) as opened:
                finished = self._drive(opened.session, opened.engine, request.control)
        except _EngineFailed:
            pass
        except FolderBusyError as exc:
            self.jobRefused.emit(request.items, exc.reason)
        except CaprlError as exc:  # the journal (a full data disk, busy)
            self.jobFailed.emit(exc.reason)
        except Exception as exc:  # noqa: BLE001 - an OSError nobody foresaw (a full data disk) ends the job too
            self.jobFailed.emit(reason_of(describe(exc, "a caption job")))
        finally:
            self.jobEnded.emit(finished)

    def _engine_start(self, request: RunRequest) -> EngineStart:
        """The engine the run asks for, kept by this worker between runs; one that cannot start says so through
        ``engineFailed`` and ends the run (``_EngineFailed``)."""
        choice = request.engine
        if isinstance(choice, ServerChoice):
            return OnServers(lambda: contextlib.nullcontext(self._or_failed(lambda: self._ensure_servers(choice))))

        def local(options: JobOptions) -> contextlib.AbstractContextManager[CaptionEngine]:
            config = request.settings.engine_config(choice.model_path, choice.mmproj_path, options)
            return contextlib.nullcontext(self._or_failed(lambda: self._ensure_engine(config)))

        return OnThisComputer(choice.model_path, local)

    def _or_failed(self, start: Callable[[], E]) -> E:
        try:
            return start()
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))
            raise _EngineFailed from exc

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
        """Free the model's memory (idle), or let the servers go; the next job loads it (or asks them) again."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        self.close_servers()

    def release(self) -> None:
        """End the engine before its model files are deleted or forgotten (Windows cannot delete a memory-mapped
        file); ``released`` says when it has."""
        self.unload()
        self.released.emit()

    def shutdown(self) -> None:
        self.unload()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        thread = QThread.currentThread()
        thread.quit()

