"""What makes the window's captions, as the window knows it: the model on this computer or the chosen servers,
whether it is loaded, and when it is let go.

``EngineState`` has the caption worker load the model while the user picks images, load it again when its
set-up changes (never under a run: a run keeps what it started with), let servers go when this computer is
chosen, unload an idle model after the minutes set, and end the engine before its model files are removed.
Nothing here waits on the worker: a release answers through a callback once the worker has ended the engine,
and until then nothing loads the model again (``releasing``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.ui.caption_worker import CaptionWorker, EngineChoice, LocalModel, ServerChoice
from caprl_desktop.ui.settings import AppSettings

SERVER_STATS_MS = 1000  # how often the status bar's figures for each server are brought up to date
Released = Callable[[str | None], None]  # told None once the files are free, else why they cannot be now


class EngineState(QObject):
    # To the worker's thread (queued connections).
    loadRequested = Signal(object)  # EngineConfig, or ServerChoice
    unloadRequested = Signal()
    closeServersRequested = Signal()  # let the servers go: the next run asks them again
    releaseRequested = Signal()  # end the engine, then say so (``CaptionWorker.released``)

    engineStarting = Signal()
    engineReady = Signal(object)  # EngineInfo, or RemoteInfo when captions are made by servers
    engineFailed = Signal(str)  # why it could not start (the queue stops: retrying at once would fail the same way)
    engineUnloaded = Signal()  # idle for the set time, or its files are to be removed
    mayGoOn = Signal()  # the queue may start what waits: a release was answered, or the models changed
    modelAvailable = Signal(bool)  # whether a model is installed, checked when the engine is prepared
    serversMeasured = Signal(object)  # list[ServerStats]: how each server in use is doing, while a run goes on
    message = Signal(str, int)

    def __init__(self, settings: AppSettings, store: ModelStore, worker: CaptionWorker, busy: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        """``busy``: whether a run is with the worker (its engine is not reloaded nor let go under it)."""
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self._worker = worker
        self._busy = busy
        self.info: EngineInfo | None = None
        self.remote: RemoteInfo | None = None  # (one of the two, when an engine is ready)
        self.model_name = ""  # how the engine is named in the window: "CapRL-Qwen3VL-2B Q4_K_M", "gpu-box, laptop"
        self._releases: list[Released] = []  # answered in order, as the worker ends the engine

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(self._unload_idle)
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(SERVER_STATS_MS)
        self._stats_timer.timeout.connect(self._measure_servers)
        self.loadRequested.connect(worker.load)
        self.unloadRequested.connect(worker.unload)
        self.closeServersRequested.connect(worker.close_servers)
        self.releaseRequested.connect(worker.release)
        worker.engineReady.connect(self._ready)
        worker.engineStarting.connect(self.engineStarting)
        worker.engineFailed.connect(self.engineFailed)
        worker.released.connect(self._released)

    @property
    def uses_servers(self) -> bool:
        """The user chose caption servers (Settings → Engine) instead of this computer."""
        return bool(self.settings.engine_servers)

    @property
    def releasing(self) -> bool:
        """The engine is being ended for its files to be removed: nothing may load them meanwhile."""
        return bool(self._releases)

    # --- what makes the next run's captions ---------------------------------------------------------

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
        """The chosen servers, else the default model (None: no model)."""
        if self.uses_servers:
            return ServerChoice(self.settings.engine_servers)
        pair = self.model_pair()
        return None if pair is None else LocalModel(*pair)

    def prepare(self) -> None:
        """Load the model (or ask the chosen servers) in the background while the user picks images."""
        if self.releasing:
            return  # (the models' change that follows the removal prepares it)
        if self.uses_servers:
            self.modelAvailable.emit(True)  # no model needed here
            self.loadRequested.emit(self.engine_choice())
            return
        config = self.engine_config()
        self.modelAvailable.emit(config is not None)
        if config is not None:
            self.loadRequested.emit(config)

    # --- changes ------------------------------------------------------------------------------------

    def settings_changed(self) -> None:
        """A loaded model is reloaded if its set-up changed, and a change between this computer and servers
        takes effect at once. Not under a run: its end catches up (``run_ended``)."""
        if self._busy():
            return
        switched = self.uses_servers != (self.remote is not None)
        self.let_servers_go_if_unused()
        if self.info is not None or self.remote is not None or switched:
            self.prepare()  # the worker reloads only when the engine config differs
        self.restart_idle_timer()

    def servers_edited(self) -> None:
        """Saved servers were added or removed (a key or certificates may have changed with them): the engine
        on servers is started again from the saved list before its next caption."""
        self._forget_servers()
        if not self._busy() and self.uses_servers:
            self.prepare()

    def models_changed(self) -> None:
        if self.engine_config() is None and self.info is not None:
            self.info = None
            self.unloadRequested.emit()
        if not self._busy():  # a running job keeps its model; the next one loads the new default
            self.prepare()
        self.mayGoOn.emit()

    def let_servers_go_if_unused(self) -> bool:
        """This computer was chosen: the servers still in use go (True)."""
        if self.uses_servers or self.remote is None:
            return False
        self._forget_servers()
        self.model_name = ""
        return True

    def _forget_servers(self) -> None:
        self.closeServersRequested.emit()  # (queued behind a run in flight, which keeps what it started with)
        self.remote = None

    # --- runs -----------------------------------------------------------------------------------------

    def run_started(self, choice: EngineChoice) -> None:
        self.idle_timer.stop()
        if isinstance(choice, ServerChoice):
            self._stats_timer.start()

    def run_ended(self) -> None:
        if self._stats_timer.isActive():
            self._stats_timer.stop()
            self._measure_servers()  # the run's last figures stay in view
        if self.let_servers_go_if_unused():  # this computer was chosen during the run
            self.prepare()

    def restart_idle_timer(self) -> None:
        minutes = self.settings.idle_unload_minutes
        if minutes and not self._busy():
            self.idle_timer.start(minutes * 60_000)
        else:
            self.idle_timer.stop()

    def _ready(self, info: EngineInfo | RemoteInfo, name: str) -> None:
        if isinstance(info, RemoteInfo):
            self.info, self.remote = None, info
        else:
            self.info, self.remote = info, None
        self.model_name = name
        self.restart_idle_timer()
        self.engineReady.emit(info)

    def _measure_servers(self) -> None:
        stats = self._worker.server_stats()  # under the remote engine's own lock: safe from this thread
        if stats:
            self.serversMeasured.emit(stats)

    def _unload_idle(self) -> None:
        if self._busy() or self.info is None:  # (servers hold no memory here: they stay)
            return
        self.info = None
        self.unloadRequested.emit()
        self.engineUnloaded.emit()

    # --- model files removed --------------------------------------------------------------------------

    def release(self, paths: set[Path], then: Released) -> None:
        """Before model files are deleted or forgotten: an engine that has them open is ended first (Windows
        cannot delete a memory-mapped file, and removing it would leave gigabytes behind). ``then`` is told
        None once they are free (at once when no engine has them), or why that cannot be done now."""
        info = self.info
        if info is None or not {info.model.model_path, info.model.mmproj_path} & paths:
            then(None)
            return
        if self._busy():
            then(QCoreApplication.translate("QueueController",
                                            "The model is captioning now: pause or cancel, then remove it."))
            return
        self.info = None
        self._releases.append(then)
        self.releaseRequested.emit()

    def _released(self) -> None:
        if not self._releases:
            return
        then = self._releases.pop(0)
        self.engineUnloaded.emit()
        then(None)
        self.mayGoOn.emit()
