"""Downloading one file: resumable, cancellable, checked against its publisher's sha256, installed atomically.

The bytes go to ``NAME.part`` beside the destination, with ``NAME.part.json`` saying which file (sha256
and size) they belong to. A dropped or stalled connection is retried with an HTTP Range request from the
last byte written; a cancel, a crash or a killed process leaves the ``.part`` for the next attempt, which
continues the same way instead of starting over. (huggingface-hub's own ``hf_hub_download`` cannot: since
1.18 it downloads to a per-process temporary name and deletes it on failure.) Only a file whose sha256
matches is renamed to its final name, so nothing half-downloaded is ever loaded.

That machinery (``download_verified``) takes any ``HttpSource``: models come from the hub (``download_file``,
through huggingface-hub's session, headers and error classes), llama.cpp runtimes from a release server
(``core/runtimes``) over plain HTTP.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

import filelock
import httpx2
from huggingface_hub import get_session
from huggingface_hub.utils import hf_raise_for_status  # type: ignore[attr-defined]  # public, lazily exported

from caprl_desktop.core.atomic import atomic_write_text, explain_os_error
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.catalog import RemoteFile
from caprl_desktop.core.models.hub import HubClient, HubError, HubUnreachableError, hub_errors, offline_mode
from caprl_desktop.core.models.hub_problem import HubProblem
from caprl_desktop.core.units import human_size

PART_SUFFIX = ".part"
DISK_MARGIN = 64 << 20  # keep some room so the system does not run dry while we write
_REPORT_EVERY = 0.1
_RETRIES = 5  # attempts in a row without a byte received before giving up
_BACKOFF_SCALE = 0.5
_TIMEOUT = httpx2.Timeout(30.0, connect=15.0)  # the shared session has none: a stalled server would hang us
_SPEED_WINDOW = 5.0
_HASH_BLOCK = 4 << 20


class DownloadError(CaprlError):
    """A download failed; what was already downloaded is kept for the next attempt unless said otherwise.

    ``problem`` is set when the hub or the connection was the cause, so the window can say it in its language.
    """

    def __init__(self, message: str, problem: HubProblem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


class DownloadCancelled(DownloadError):
    pass


class ChecksumMismatchError(DownloadError):
    pass


class NotEnoughSpaceError(DownloadError):
    pass


class TransferError(DownloadError):
    """An ``HttpSource``'s request failed, said in the user's words; ``retry``: worth asking again from the last
    byte written (a dropped connection, a time-out, a busy server), else it fails the download at once."""

    def __init__(self, message: str, problem: HubProblem | None = None, *, retry: bool = False) -> None:
        super().__init__(message, problem)
        self.retry = retry


class HttpResponse(Protocol):
    """What the download reads of a streamed response (httpx2's)."""

    @property
    def status_code(self) -> int: ...

    def iter_bytes(self) -> Iterator[bytes]: ...


class HttpSource(Protocol):
    """A file to download as its publisher lists it, and how to ask for its bytes."""

    @property
    def name(self) -> str: ...  # for progress and messages

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    def record(self) -> dict[str, Any]:
        """What ``NAME.part.json`` keeps besides sha256 and size: where the bytes came from."""
        ...

    def open(self, start: int) -> AbstractContextManager[HttpResponse]:
        """A GET of the file from byte ``start`` (a Range request when not 0), its status already checked; a
        failure, then or while its body is read, raises ``TransferError``."""
        ...


@dataclass(frozen=True)
class DownloadProgress:
    filename: str
    phase: Literal["downloading", "verifying"]
    done: int
    total: int
    bytes_per_second: float | None
    eta_seconds: float | None
    resumed_from: int = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


class _Meter:
    """Counts bytes, works out speed over the last few seconds, and reports at most ten times a second."""

    def __init__(self, filename: str, total: int, start: int, callback: ProgressCallback | None,
                 cancel: threading.Event | None) -> None:
        self.filename = filename
        self.total = total
        self.done = start
        self.resumed_from = start
        self.phase: Literal["downloading", "verifying"] = "downloading"
        self._callback = callback
        self._cancel = cancel
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._last_report = 0.0

    def check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise DownloadCancelled(f"Download of {self.filename} cancelled.")

    def set(self, done: int, *, phase: Literal["downloading", "verifying"] | None = None, force: bool = False) -> None:
        if phase is not None and phase != self.phase:
            self.phase = phase
            self._samples.clear()
        self.done = done
        self.check_cancel()
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > _SPEED_WINDOW:
            self._samples.popleft()
        if self._callback is None or (not force and now - self._last_report < _REPORT_EVERY):
            return
        self._last_report = now
        speed = eta = None
        t0, b0 = self._samples[0]
        if now - t0 > 0.2 and done > b0:
            speed = (done - b0) / (now - t0)
            eta = (self.total - done) / speed
        self._callback(DownloadProgress(self.filename, self.phase, done, self.total, speed, eta, self.resumed_from))


def sha256_of(path: Path, meter: _Meter | None = None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if meter is not None:
                meter.set(done, phase="verifying")
    return digest.hexdigest()


def free_space(folder: Path) -> int:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(candidate).free
    return 0


def check_space(folder: Path, needed: int) -> None:
    free = free_space(folder)
    if free < needed + DISK_MARGIN:
        raise NotEnoughSpaceError(
            f"Not enough disk space in {folder}: {human_size(needed)} needed, {human_size(free)} free. "
            "Free some space or choose a smaller quant."
        )


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def _state_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX + ".json")


def _read_state(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_state_path(dest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def discard_partial(dest: Path) -> None:
    for p in (part_path(dest), _state_path(dest)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def partial_bytes(dest: Path, remote: RemoteFile | HttpSource) -> int:
    """Bytes of ``remote`` already downloaded towards ``dest`` by an earlier attempt (0 if none or stale)."""
    state = _read_state(dest)
    part = part_path(dest)
    if state is None or not part.exists():
        return 0
    if state.get("sha256") != remote.sha256 or state.get("size") != remote.size:
        return 0
    return min(part.stat().st_size, remote.size)


def download_file(
    hub: HubClient,
    remote: RemoteFile,
    dest: Path,
    *,
    revision: str | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download ``remote`` to ``dest``; returns ``dest`` once it is complete and its sha256 matches."""
    if remote.sha256 is None:
        raise DownloadError(f"The hub gave no checksum for {remote.filename}, so it cannot be verified.")
    if offline_mode():
        raise DownloadError(f"Cannot download {remote.filename}: offline mode is on (HF_HUB_OFFLINE).",
                            HubProblem.OFFLINE_MODE)
    source = _HubSource(hub, remote, remote.sha256, revision)
    return download_verified(source, dest, on_progress=on_progress, cancel=cancel,
                             busy=f"{remote.filename} is already being downloaded by another CapRL Desktop window "
                                  "or command.",
                             damaged=f"{remote.filename} arrived damaged: its sha256 does not match the hub's, so it "
                                     "was deleted. Download it again; if this keeps happening, the connection or a "
                                     "proxy is altering the data.")


@dataclass(frozen=True)
class _HubSource:
    """A model file on the hub, asked for through huggingface-hub's session and headers."""

    hub: HubClient
    remote: RemoteFile
    sha256: str
    revision: str | None

    @property
    def name(self) -> str:
        return self.remote.filename

    @property
    def size(self) -> int:
        return self.remote.size

    def record(self) -> dict[str, Any]:
        return {"repo": self.remote.repo, "filename": self.remote.filename, "revision": self.revision}

    @contextlib.contextmanager
    def open(self, start: int) -> Iterator[HttpResponse]:
        headers = self.hub.headers()
        if start:
            headers["Range"] = f"bytes={start}-"
        url = self.hub.file_url(self.remote.repo, self.remote.filename, self.revision)
        try:
            with hub_errors(f"download {self.remote.filename}", self.remote.repo, self.remote.filename), \
                    get_session().stream("GET", url, headers=headers, timeout=_TIMEOUT) as response:
                hf_raise_for_status(response)
                yield response
        except HubUnreachableError as exc:
            raise TransferError(str(exc), exc.problem, retry=True) from exc
        except HubError as exc:
            raise TransferError(str(exc), exc.problem) from exc


def download_verified(
    source: HttpSource,
    dest: Path,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    busy: str | None = None,
    damaged: str | None = None,
) -> Path:
    """Download ``source`` to ``dest`` (see the module docstring); returns ``dest`` once it is complete and its
    sha256 matches. ``busy`` and ``damaged`` say in the caller's words that another process holds the file and
    that the bytes arrived with another sha256 (the ``.part`` is then deleted)."""
    # Lock files are left in place: deleting one another process may be waiting on lets two lock at once.
    locks = dest.parent / ".locks"
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only or full data folder
        raise DownloadError(explain_os_error(exc, locks)) from exc
    lock = filelock.FileLock(str(locks / f"{dest.name}.lock"), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise DownloadError(busy or f"{source.name} is already being downloaded by another CapRL Desktop window "
                                    "or command.") from None
    try:
        return _download_locked(source, dest, on_progress, cancel,
                                damaged or f"{source.name} arrived damaged: its sha256 does not match the one "
                                           "published, so it was deleted. Download it again.")
    finally:
        lock.release()


def _download_locked(
    source: HttpSource,
    dest: Path,
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
    damaged: str,
) -> Path:
    part = part_path(dest)
    resume = partial_bytes(dest, source)
    if resume == 0:
        discard_partial(dest)
    check_space(dest.parent, source.size - resume)
    atomic_write_text(_state_path(dest), json.dumps({**source.record(), "sha256": source.sha256,
                                                     "size": source.size}))

    meter = _Meter(source.name, source.size, resume, on_progress, cancel)
    meter.set(resume, force=True)
    if resume < source.size:
        try:
            with open(part, "r+b" if part.exists() else "wb") as f:
                f.truncate(resume)  # drop anything past what the state file vouches for
                f.seek(resume)
                _fetch(source, f, meter)
                meter.set(f.tell(), force=True)
                f.flush()
                os.fsync(f.fileno())
        except DownloadCancelled:
            raise DownloadCancelled(f"Download of {source.name} cancelled; {human_size(meter.done)} of "
                                    f"{human_size(source.size)} are kept and the next download continues from "
                                    "there.") from None
        except TransferError as exc:
            raise DownloadError(f"{exc} {_kept(meter.done, source.size)}", exc.problem) from exc
        except OSError as exc:
            raise DownloadError(f"{explain_os_error(exc, part)}. {_kept(meter.done, source.size)}") from exc

    meter.set(0, phase="verifying", force=True)
    actual = sha256_of(part, meter)
    meter.set(source.size, force=True)
    if actual != source.sha256:
        discard_partial(dest)
        raise ChecksumMismatchError(damaged)
    try:
        part.replace(dest)
    except OSError as exc:
        raise DownloadError(explain_os_error(exc, dest)) from exc
    with contextlib.suppress(FileNotFoundError):
        _state_path(dest).unlink()
    return dest


def _fetch(source: HttpSource, f: BinaryIO, meter: _Meter) -> None:
    """Stream the rest of ``source`` into ``f`` from its current end, resuming after dropped connections.

    huggingface-hub's ``http_get`` would do the retrying, but it writes in 10 MiB chunks: progress and
    cancel would move in 10 MiB steps (ten seconds apart on a slow line) and a drop or a killed app would
    lose up to 10 MiB. Here every piece is written as it arrives, counted, and is a cancel point.
    """
    failures = 0
    while (done := f.tell()) < source.size:
        try:
            with source.open(done) as response:
                if done and response.status_code != 206:
                    f.seek(0)  # the server ignored the Range header and sends the whole file
                    f.truncate()
                    meter.resumed_from = 0
                for chunk in response.iter_bytes():  # as they arrive: a drop loses nothing written
                    meter.check_cancel()
                    if f.tell() + len(chunk) > source.size:
                        raise DownloadError(f"The server sent more data for {source.name} than its listed size; "
                                            "the download was stopped.")
                    f.write(chunk)
                    meter.set(f.tell())
                    failures = 0
        except TransferError as exc:
            if not exc.retry:
                raise
            failures += 1
            if failures > _RETRIES:
                raise
            meter.check_cancel()
            time.sleep(min(2.0**failures, 30.0) * _BACKOFF_SCALE)


def _kept(done: int, total: int) -> str:
    if done <= 0:
        return ""
    return f"{human_size(done)} of {human_size(total)} are kept; downloading again continues from there."
