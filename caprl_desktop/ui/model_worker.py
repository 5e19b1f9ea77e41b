"""The model dialog's slow work on its own thread: the hub listing with fit advice, downloads, local files.

Requests arrive through queued signals, so every method below runs on the worker's thread; ``cancel()``
may be called from any thread and stops a download at its next chunk (what was fetched is kept and the
next download continues from there). Failures carry the core's kind of problem (``HubProblem``,
``FileProblem``) beside the English sentence, so the dialog can say them in the user's language.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.catalog import Catalog
from caprl_desktop.core.models.downloads import DownloadCancelled, DownloadError, DownloadProgress
from caprl_desktop.core.models.files import ModelFileProblem
from caprl_desktop.core.models.hub import HubClient, HubError
from caprl_desktop.core.models.install import InstallPlan, add_local, install
from caprl_desktop.core.models.offer import model_offer
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.errors import describe


class ModelWorker(QObject):
    offerReady = Signal(object)  # ModelOffer
    offerFailed = Signal(object, str)  # HubProblem or None, the sentence
    progress = Signal(object)  # DownloadProgress
    installed = Signal(object)  # InstalledFile (the text model)
    failed = Signal(object, str)  # HubProblem or None, the sentence
    cancelled = Signal(str)
    localAdded = Signal(object)  # InstalledFile (the text model)
    localFailed = Signal(object, str, str)  # FileProblem or None, "model" / "vision projector" / "", the sentence

    def __init__(self, store: ModelStore) -> None:
        super().__init__()
        self._store = store
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    # --- worker thread ------------------------------------------------------------------------

    def fetch_offer(self, family_key: str) -> None:
        try:
            offer = model_offer(family_key)
        except HubError as exc:
            self.offerFailed.emit(exc.problem, str(exc))
            return
        except CaprlError as exc:
            self.offerFailed.emit(None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - every slot ends with an answer, or the dialog waits for ever
            self.offerFailed.emit(None, describe(exc, "listing models"))
            return
        self.offerReady.emit(offer)

    def download(self, plan: InstallPlan, catalog: Catalog) -> None:
        self._cancel.clear()
        try:
            model = install(plan, catalog, self._store, HubClient(), on_progress=self._report, cancel=self._cancel,
                            make_default=True)
        except DownloadCancelled as exc:
            self.cancelled.emit(str(exc))
            return
        except (DownloadError, HubError) as exc:
            self.failed.emit(exc.problem, str(exc))
            return
        except CaprlError as exc:
            self.failed.emit(None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.failed.emit(None, describe(exc, "a model download"))
            return
        self.installed.emit(model)

    def add_local(self, model_path: Path, mmproj_path: Path) -> None:
        try:
            model = add_local(self._store, model_path, mmproj_path, make_default=True)
        except ModelFileProblem as exc:
            self.localFailed.emit(exc.problem, exc.role, str(exc))
            return
        except CaprlError as exc:
            self.localFailed.emit(None, "", str(exc))
            return
        except Exception as exc:  # noqa: BLE001
            self.localFailed.emit(None, "", describe(exc, "adding a model from disk"))
            return
        self.localAdded.emit(model)

    def _report(self, event: DownloadProgress) -> None:
        self.progress.emit(event)
