"""Talking to the Hugging Face hub through huggingface-hub: repo listings, file URLs, and errors in words.

The endpoint is passed explicitly (``HF_ENDPOINT`` is read by huggingface-hub at import time, too late for
tests and for a setting changed while the app runs). Offline mode is honoured before any request is made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # public, lazily exported

from caprl_desktop import __version__
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.catalog import Catalog, ModelFamily, build_catalog, bundled_catalog
from caprl_desktop.core.models.hub_problem import HubProblem, busy_or_failing

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "true", "yes", "on"}


class HubError(CaprlError):
    """The hub could not give what was asked; the message says what and why, ``problem`` the kind of why.

    ``detail`` is the transport's own words ("ConnectError: [Errno -2] Name or service not known"), for the
    command line's message and the window's tooltip, never the window's sentence.
    """

    def __init__(self, message: str, problem: HubProblem = HubProblem.HUB_ERROR, *, status: int | None = None,
                 detail: str = "") -> None:
        super().__init__(message)
        self.problem = problem
        self.status = status
        self.detail = detail


class HubUnreachableError(HubError):
    """No usable connection to the hub now (offline mode, no network, a timeout, the hub busy or failing)."""


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


@contextlib.contextmanager
def hub_errors(what: str, repo: str, filename: str | None = None) -> Iterator[None]:
    """Turn huggingface-hub and transport exceptions into ``HubError`` sentences about ``what``, with their kind."""
    try:
        yield
    except OfflineModeIsEnabled as exc:
        raise HubUnreachableError(f"Cannot {what}: offline mode is on (HF_HUB_OFFLINE).",
                                  HubProblem.OFFLINE_MODE) from exc
    except GatedRepoError as exc:
        raise HubError(f"Cannot {what}: {repo} needs you to accept its terms on the hub and log in.",
                       HubProblem.HUB_ERROR, status=_status(exc)) from exc
    except RepositoryNotFoundError as exc:
        raise HubError(f"Cannot {what}: the repository {repo} was not found on the hub "
                       "(renamed, removed or private).", HubProblem.NOT_FOUND, status=_status(exc)) from exc
    except RevisionNotFoundError as exc:
        raise HubError(f"Cannot {what}: that revision of {repo} no longer exists; list the models again.",
                       HubProblem.NOT_FOUND, status=_status(exc)) from exc
    except EntryNotFoundError as exc:
        raise HubError(f"Cannot {what}: {filename or 'the file'} is not in {repo} "
                       "(it may have been renamed; list the models again).", HubProblem.NOT_FOUND) from exc
    except HfHubHTTPError as exc:
        status = _status(exc) or 0
        if busy_or_failing(status):
            raise HubUnreachableError(f"Cannot {what}: the hub is busy or failing (HTTP {status}); "
                                      "try again later.", HubProblem.HUB_ERROR, status=status) from exc
        raise HubError(f"Cannot {what}: the hub answered with an error (HTTP {status}); try again later.",
                       HubProblem.HUB_ERROR, status=status) from exc
    except httpx2.TimeoutException as exc:
        detail = _detail(exc)
        raise HubUnreachableError(f"Cannot {what}: the hub did not answer in time ({detail}). "
                                  "Check the internet connection and try again.", HubProblem.TIMEOUT,
                                  detail=detail) from exc
    except httpx2.TransportError as exc:
        detail = _detail(exc)
        raise HubUnreachableError(f"Cannot {what}: the hub cannot be reached ({detail}). "
                                  "Check the internet connection and try again.", HubProblem.NO_CONNECTION,
                                  detail=detail) from exc


def _status(exc: HfHubHTTPError) -> int | None:
    return exc.response.status_code if exc.response is not None else None


def _detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class RepoListing:
    repo: str
    revision: str
    files: tuple[tuple[str, int, str | None], ...]  # (filename, size, sha256)


class HubClient:
    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, timeout: float = 20.0) -> None:
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token
        self.timeout = timeout
        self._api = HfApi(endpoint=self.endpoint, token=token, library_name="caprl-desktop",
                          library_version=__version__)

    def _check_online(self, what: str) -> None:
        if offline_mode():
            raise HubUnreachableError(f"Cannot {what}: offline mode is on (HF_HUB_OFFLINE).",
                                      HubProblem.OFFLINE_MODE)

    def list_repo(self, repo: str) -> RepoListing:
        what = f"list the files of {repo}"
        self._check_online(what)
        with hub_errors(what, repo):
            try:
                info = self._api.model_info(repo, files_metadata=True, timeout=self.timeout)
            except (KeyError, TypeError, ValueError) as exc:  # not the hub's API answering (a proxy page, say)
                raise HubError(f"Cannot {what}: the answer from {self.endpoint} could not be read "
                               f"({_detail(exc)}).", HubProblem.NOT_THE_HUB, detail=_detail(exc)) from exc
        files = []
        for sibling in info.siblings or []:
            sha256 = sibling.lfs.sha256 if sibling.lfs is not None else None
            size = sibling.lfs.size if sibling.lfs is not None else sibling.size
            if size is not None:
                files.append((sibling.rfilename, int(size), sha256))
        return RepoListing(repo, info.sha or "main", tuple(files))

    def file_url(self, repo: str, filename: str, revision: str | None) -> str:
        return hf_hub_url(repo, filename, revision=revision, endpoint=self.endpoint)

    def headers(self) -> dict[str, str]:
        return build_hf_headers(token=self.token, library_name="caprl-desktop", library_version=__version__)


def fetch_catalog(family: ModelFamily, hub: HubClient | None) -> Catalog:
    """The family's quants as the hub lists them now, or the bundled list with a note saying why."""
    if hub is None or offline_mode():
        return bundled_catalog(family, note="Offline mode is on (HF_HUB_OFFLINE), so the hub was not asked; "
                                            "sizes are approximate.", problem=HubProblem.OFFLINE_MODE)
    listings = {}
    notes = []
    problem: HubProblem | None = None
    for repo in family.repos:
        try:
            listing = hub.list_repo(repo)
        except HubUnreachableError as exc:
            return bundled_catalog(family, note=f"{exc} Showing the built-in list; sizes are approximate.",
                                   problem=exc.problem, detail=exc.detail)
        except HubError as exc:
            if repo == family.static_repo:
                raise  # without the static repo there is no projector, so nothing can be installed
            notes.append(str(exc))
            problem = problem or exc.problem
            continue
        listings[repo] = (listing.revision, listing.files)
    catalog = build_catalog(family, listings)
    return dataclasses.replace(catalog, note=" ".join(notes), problem=problem) if notes else catalog
