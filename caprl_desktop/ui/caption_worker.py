"""The window's side of the engine: a QObject on its own thread that runs caption jobs and emits their events.

The engine itself is a separate process (``EngineClient``); this thread only waits on its pipe and forwards
the core's plain job events as Qt signals, so the GUI thread never blocks. ``cancel()`` and ``pause()`` may
be called from any thread: cancel stops the captions in flight within a token, pause starts no more and lets
those in flight finish.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished, JobFinished
from caprl_desktop.core.jobs.folder_locks import FolderBusyError, folder_locks
from caprl_desktop.core.jobs.journal import Journal, journaled
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import EngineConfig


class CaptionWorker(QObject):
    engineStarting = Signal()
    engineReady = Signal(object)  # EngineInfo
    engineFailed = Signal(str)
    jobEvent = Signal(object)  # a core JobEvent
    jobEnded = Signal(object)  # JobFinished, or None when the job could not start
    jobRefused = Signal(object, str)  # the items, why (another run holds their folder)

    def __init__(self, log_dir: Path | None = None, journal_path: Path | None = None) -> None:
        super().__init__()
        self._log_dir = log_dir
        self._journal_path = journal_path
        self._journal: Journal | None = None
        self._engine: EngineClient | None = None
        self._stop = threading.Event()
        self._keep_resumable = False
        self._pause = threading.Event()

    # --- any thread ---------------------------------------------------------------------------

    def cancel(self, *, keep_resumable: bool = False) -> None:
        """``keep_resumable``: the window is closing, not the user cancelling; the next start offers to resume."""
        self._keep_resumable = keep_resumable
        self._stop.set()
        engine = self._engine
        if engine is not None:
            engine.cancel()

    def pause(self) -> None:
        self._pause.set()

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
        self.engineStarting.emit()
        if engine is None:
            engine = self._engine = EngineClient(config, log_dir=self._log_dir)
        info = engine.start(config)
        self.engineReady.emit(info)
        return engine

    def load(self, config: EngineConfig) -> None:
        try:
            self._ensure_engine(config)
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))


    def run(self, items: list[ImageItem], options: JobOptions, config: EngineConfig, made: dict[Path, str]) -> None:
        self._stop.clear()
        self._pause.clear()
        self._keep_resumable = False
        try:
            engine = self._ensure_engine(config)
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))
            self.jobEnded.emit(None)
            return
        finished: JobFinished | None = None
        try:
            with folder_locks({i.root for i in items}, what="CapRL Desktop window"):
                journal = self._open_journal()
                job_id = journal.create(items, options)
                job = journaled(run_job(items, options, engine, made, hold=self._pause.is_set), journal, job_id)
                try:
                    for event in job:
                        self.jobEvent.emit(event)
                        if isinstance(event, JobFinished):
                            finished = event
                        elif self._stop.is_set() or (
                            self._pause.is_set() and isinstance(event, ItemFinished) and not event.others_running
                        ):
                            break
                finally:
                    job.close()
                if not self._keep_resumable:
                    # The journal is there for what a kill or closing the window leaves; finished, paused and
                    # cancelled work the window shows itself.
                    journal.forget(job_id)
        except FolderBusyError as exc:
            self.jobRefused.emit(items, str(exc))
        except CaprlError as exc:
            self.engineFailed.emit(str(exc))
        self.jobEnded.emit(finished)

    def _open_journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self._journal_path)
        return self._journal


    def unload(self) -> None:
        """Free the model's memory (idle, or its files removed); the next job loads it again."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def shutdown(self) -> None:
        self.unload()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        thread = QThread.currentThread()
        thread.quit()
