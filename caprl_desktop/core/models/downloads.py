"""Downloading one model file: resumable, cancellable, checked against the hub's sha256, installed atomically.

The bytes go to ``NAME.part`` beside the destination, with ``NAME.part.json`` saying which file (sha256
and size) they belong to. A dropped or stalled connection is retried with an HTTP Range request from the
last byte written; a cancel, a crash or a killed process leaves the ``.part`` for the next attempt, which
continues the same way instead of starting over. (huggingface-hub's own ``hf_hub_download`` cannot: since
1.18 it downloads to a per-process temporary name and deletes it on failure.) Requests go through
huggingface-hub's session, headers and error classes. Only a file whose sha256 matches is renamed to its
final name, so nothing half-downloaded is ever loaded.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

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


def partial_bytes(dest: Path, remote: RemoteFile) -> int:
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
        raise DownloadError(f"{remote.filename} is already being downloaded by another CapRL Desktop window "
                            "or command.") from None
    try:
        return _download_locked(hub, remote, dest, revision, on_progress, cancel)
    finally:
        lock.release()


def _download_locked(
    hub: HubClient,
    remote: RemoteFile,
    dest: Path,
    revision: str | None,
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Path:
    part = part_path(dest)
    resume = partial_bytes(dest, remote)
    if resume == 0:
        discard_partial(dest)
    check_space(dest.parent, remote.size - resume)
    atomic_write_text(_state_path(dest), json.dumps(
        {"repo": remote.repo, "filename": remote.filename, "revision": revision,
         "sha256": remote.sha256, "size": remote.size}))

    meter = _Meter(remote.filename, remote.size, resume, on_progress, cancel)
    meter.set(resume, force=True)
    if resume < remote.size:
        url = hub.file_url(remote.repo, remote.filename, revision)
        try:
            with open(part, "r+b" if part.exists() else "wb") as f:
                f.truncate(resume)  # drop anything past what the state file vouches for
                f.seek(resume)
                _fetch(hub, url, remote, f, meter)
                meter.set(f.tell(), force=True)
                f.flush()
                os.fsync(f.fileno())
        except DownloadCancelled:
            raise DownloadCancelled(f"Download of {remote.filename} cancelled; {human_size(meter.done)} of "
                                    f"{human_size(remote.size)} are kept and the next download continues from "
                                    "there.") from None
        except HubError as exc:
            raise DownloadError(f"{exc} {_kept(meter.done, remote.size)}", exc.problem) from exc
        except OSError as exc:
            raise DownloadError(f"{explain_os_error(exc, part)}. {_kept(meter.done, remote.size)}") from exc

    meter.set(0, phase="verifying", force=True)
    actual = sha256_of(part, meter)
    meter.set(remote.size, force=True)
    if actual != remote.sha256:
        discard_partial(dest)
        raise ChecksumMismatchError(
            f"{remote.filename} arrived damaged: its sha256 does not match the hub's, so it was deleted. "
            "Download it again; if this keeps happening, the connection or a proxy is altering the data."
        )
    try:
        part.replace(dest)
    except OSError as exc:
        raise DownloadError(explain_os_error(exc, dest)) from exc
    with contextlib.suppress(FileNotFoundError):
        _state_path(dest).unlink()
    return dest


def _fetch(hub: HubClient, url: str, remote: RemoteFile, f: BinaryIO, meter: _Meter) -> None:
    """Stream the rest of ``remote`` into ``f`` from its current end, resuming after dropped connections.

    huggingface-hub's ``http_get`` would do the retrying, but it writes in 10 MiB chunks: progress and
    cancel would move in 10 MiB steps (ten seconds apart on a slow line) and a drop or a killed app would
    lose up to 10 MiB. Here every piece is written as it arrives, counted, and is a cancel point.
    """
    failures = 0
    while (done := f.tell()) < remote.size:
        headers = hub.headers()
        if done:
            headers["Range"] = f"bytes={done}-"
        try:
            with hub_errors(f"download {remote.filename}", remote.repo, remote.filename), \
                    get_session().stream("GET", url, headers=headers, timeout=_TIMEOUT) as response:
                hf_raise_for_status(response)
                if done and response.status_code != 206:
                    f.seek(0)  # the server ignored the Range header and sends the whole file
                    f.truncate()
                    meter.resumed_from = 0
                for chunk in response.iter_bytes():  # as they arrive: a drop loses nothing written
                    meter.check_cancel()
                    if f.tell() + len(chunk) > remote.size:
                        raise DownloadError(f"The hub sent more data for {remote.filename} than its listed size; "
                                            "the download was stopped.")
                    f.write(chunk)
                    meter.set(f.tell())
                    failures = 0
        except HubUnreachableError:
            failures += 1
            if failures > _RETRIES:
                raise
            meter.check_cancel()
            time.sleep(min(2.0**failures, 30.0) * _BACKOFF_SCALE)


def _kept(done: int, total: int) -> str:
    if done <= 0:
        return ""
    return f"{human_size(done)} of {human_size(total)} are kept; downloading again continues from there."
