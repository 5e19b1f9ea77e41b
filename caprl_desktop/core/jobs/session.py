"""One job's lifecycle, the same for the command line and the window: folder locks, the journal, retention.

``start_job()`` records a new run and ``resume_job()`` takes up a recorded one (the same job number,
wherever it was started); each holds the folders' locks for as long as its ``with`` block runs and yields
a ``JobSession``, whose ``run()`` captions through the scheduler with every finished image journaled
before the caller sees it. The caller only drives the events: printing them, showing them, exporting.

While a run holds its folders, the computer is kept from sleeping (``core/keep_awake.py``).

Every run stays in the journal when it ends, so ``caprl-desktop jobs list`` is a history of the command
line's runs and the window's alike; the newest ``KEEP_JOBS`` are kept (``jobs forget`` removes one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import JobEvent
from caprl_desktop.core.jobs.folder_locks import folder_locks
from caprl_desktop.core.jobs.journal import JobSummary, Journal, JournalError, journaled
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import CaptionEngine, run_job
from caprl_desktop.core.keep_awake import keep_awake

KEEP_JOBS = 50  # runs the journal keeps; older ones are forgotten when a new one starts (never a running one)


class NothingToResumeError(CaprlError):
    pass


@dataclass(frozen=True)
class JobSession:
    """A run holding its folders: what it captions, with which options, and what an earlier part of it did."""

    job_id: int
    items: list[ImageItem]  # to caption (or to save, see ``made``), in order
    options: JobOptions
    made: dict[Path, str]  # captions made before but not saved (a read-only folder, a full disk)
    earlier: list[CaptionRecord]  # what the run finished before it was resumed, for exports of the whole run
    journal: Journal

    def run(self, engine: CaptionEngine, *, hold: Callable[[], bool] | None = None,
            ) -> Generator[JobEvent, None, None]:
        """The job's events; see ``scheduler.run_job``. Closing it early leaves the job resumable."""
        job = run_job(self.items, self.options, engine, self.made, hold=hold)
        return journaled(job, self.journal, self.job_id)


@contextlib.contextmanager
def start_job(journal: Journal, items: list[ImageItem], options: JobOptions, *, holder: str,
              ) -> Iterator[JobSession]:
    """Record a new run of ``items`` and hold their folders; ``FolderBusyError`` if another run has one.

    The session captions ``items`` as given (their paths as the caller knows them: the window finds its
    rows by them); the journal keeps them absolute, for a resume from anywhere."""
    with folder_locks({i.root for i in items}, what=holder), keep_awake():
        job_id = journal.create(items, options)
        try:
            journal.prune(KEEP_JOBS)
            yield JobSession(job_id, list(items), options, {}, [], journal)
        finally:
            _stop_if_running(journal, job_id)  # the caller stopped before running it (the model did not load)


@contextlib.contextmanager
def resume_job(journal: Journal, job_id: int, *, holder: str, only: Iterable[Path] | None = None,
               change: Callable[[JobOptions], JobOptions] | None = None) -> Iterator[JobSession]:
    """Take up run ``job_id`` where it stopped, with its own options.

    ``only``: resume just these of its images (the window's rows); the others stay pending in the job.
    ``change``: options this resume changes (another caption folder, longer captions); they are recorded."""
    journal.record_kept()  # what a run kept while the journal was busy: its images are not left to caption
    summary = resumable_job(journal, job_id)  # "no such job" before waiting on any lock
    with folder_locks(summary.roots, what=holder), keep_awake():
        # Read again under the locks: another process may have resumed and finished it meanwhile.
        options = resumable_job(journal, job_id).options
        assert options is not None  # resumable_job refuses a run whose options cannot be read
        items = journal.pending(job_id)
        if only is not None:
            wanted = {Path(p).absolute() for p in only}
            items = [i for i in items if i.path in wanted]
        if change is not None and (changed := change(options)) != options:
            journal.set_options(job_id, changed)
            options = changed
        journal.claim(job_id)
        paths = {i.path for i in items}
        made = {path: text for path, text in journal.made(job_id).items() if path in paths}
        try:
            yield JobSession(job_id, items, options, made, journal.records(job_id), journal)
        finally:
            _stop_if_running(journal, job_id)


def _stop_if_running(journal: Journal, job_id: int) -> None:
    # Unrecorded (a busy journal), the run reads as interrupted once this process is gone: resumable all the
    # same. The error that stopped the run, if any, is the one to tell.
    with contextlib.suppress(JournalError):
        journal.stop_if_running(job_id)


def last_resumable(journal: Journal, paths: Iterable[Path] = ()) -> JobSummary | None:
    """The newest run that can be resumed, on one of ``paths`` when given."""
    wanted = {Path(p).absolute() for p in paths}
    matching = [j for j in journal.jobs() if j.resumable and (not wanted or wanted & set(j.roots))]
    return matching[-1] if matching else None


def resumable_job(journal: Journal, job_id: int) -> JobSummary:
    """Run ``job_id`` if it can be resumed; ``NothingToResumeError`` says why not."""
    summary = journal.get(job_id)
    if summary is None:
        raise NothingToResumeError(f"there is no job {job_id} (see `caprl-desktop jobs list`)")
    if summary.options is None:
        raise NothingToResumeError(f"job {job_id} cannot be resumed: {summary.unreadable}")
    if not summary.resumable:
        raise NothingToResumeError(f"job {job_id} has nothing left to caption ({summary.status})")
    return summary
