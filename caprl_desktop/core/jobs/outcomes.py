"""What became of each image of a job: its caption saved as a sidecar (or why there is none), counted.

Every image the job takes on ends as one ``ItemFinished`` made here.  A save that fails in a way every
later save would too (a read-only folder, a full disk) is kept as ``cannot_save``: the scheduler stops
the job on it, and the caption made stays in the record so a resumed job saves it instead of making it
again.  ``first_unwritable`` asks the same of the folders before the first caption is made.

Each record carries its ``Provenance``: the job's (from the engine's report of what it loaded, made at the
first record and again after a restart) completed with the caption's own seed, image size and timings.

With ``--metadata`` a saved caption is also written as the image's description (``descriptions.py``), after its
``.txt``: the ``ItemFinished``'s ``description`` says where it went, or why it did not (the run goes on).

A caption the guards watched comes with their ``GuardReport``: its marks go into the event and the record's
provenance (with what its last try was asked, which a retry changes), and are counted for the run's summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path

from caprl_desktop.core.atomic import WriteError, probe_writable
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats, EngineInfo, Loaded
from caprl_desktop.core.errors import Reason, reason
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.export.writers import SOURCE_DISK, CaptionRecord
from caprl_desktop.core.jobs.descriptions import write_caption_description
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.provenance import caption_provenance, job_provenance, remote_job_provenance
from caprl_desktop.core.jobs.sidecars import write_sidecar
from caprl_desktop.core.quality.watch import MARK_KINDS, GuardReport, MarkKind

EMPTY_CAPTION = reason("empty_caption", "the model returned an empty caption")


class Outcomes:
    """Saves and records each image's end, and counts them for the job's ``JobFinished``."""

    def __init__(self, options: JobOptions, sidecars: Mapping[Path, Path], engine: Loaded | None = None) -> None:
        """``engine``: what it says it loaded gives the records' provenance; while it says nothing (a test's
        stand-in) the records have none."""
        self.options = options
        self.sidecars = sidecars
        self.engine = engine
        self.captioned = self.failed = 0
        self.marked: dict[MarkKind, int] = {}  # captions saved with each mark
        self.cannot_save: WriteError | None = None
        self._provenance: tuple[EngineInfo | RemoteInfo, Provenance | None] | None = None

    def made(self, index: int, item: ImageItem, output: CaptionOutput, others_running: int = 0,
             guarded: GuardReport | None = None) -> ItemFinished:
        """A caption the engine made; an empty one is a failure (a sidecar with nothing would read as done)."""
        error = None if output.text else EMPTY_CAPTION
        return self._finish(index, item, output.text, output.stats, error, others_running, guarded)

    @property
    def marks(self) -> tuple[tuple[MarkKind, int], ...]:
        return tuple((kind, self.marked[kind]) for kind in MARK_KINDS if kind in self.marked)

    def made_before(self, index: int, item: ImageItem, text: str) -> ItemFinished:
        """A caption an earlier run made but could not save."""
        return self._finish(index, item, text, None, None, 0)

    def failure(self, index: int, item: ImageItem, error: Reason, others_running: int = 0) -> ItemFinished:
        """Not captioned: ``error`` says why (its English goes into the record, the reason into the event)."""
        return self._finish(index, item, "", None, error, others_running)

    def _finish(self, index: int, item: ImageItem, text: str, stats: CaptionStats | None, error: Reason | None,
                others_running: int, guarded: GuardReport | None = None) -> ItemFinished:
        finished = self._save(index, item, text, stats, error, others_running, guarded)
        if finished.ok:
            self.captioned += 1
            for kind in finished.marks:
                self.marked[kind] = self.marked.get(kind, 0) + 1
        else:
            self.failed += 1
        problem = finished.save_error
        if problem is not None and problem.problem != "other":
            self.cannot_save = self.cannot_save or problem
        return finished

    def _save(self, index: int, item: ImageItem, text: str, stats: CaptionStats | None, error: Reason | None,
              others_running: int, guarded: GuardReport | None) -> ItemFinished:
        marks = guarded.marks if guarded is not None else ()
        if error is not None:
            record = self._record(item, text, stats, error.text, guarded)
            return ItemFinished(index, item, record, stats, None, others_running=others_running, marks=marks,
                                reason=error)
        sidecar = self.sidecars.get(item.path)
        if sidecar is not None:
            try:
                write_sidecar(sidecar, text)
            except WriteError as exc:
                why = reason("not_saved", f"caption made but not saved: {exc}", why=exc.reason)
                record = self._record(item, text, stats, why.text, guarded)
                return ItemFinished(index, item, record, stats, None, save_error=exc,
                                    others_running=others_running, marks=marks, reason=why)
        record = self._record(item, text, stats, "", guarded)
        # After the .txt is saved, so that a description that cannot be written never costs the caption.
        description = write_caption_description(
            item, text, record.language, record.provenance.for_photos() if record.provenance else None,
            mode=self.options.metadata, existing=self.options.metadata_existing,
            text_sidecar=sidecar, caption_folder=self.options.sidecar_folder())
        return ItemFinished(index, item, record, stats, sidecar, others_running=others_running,
                            description=description, marks=marks)

    def job_provenance(self) -> Provenance | None:
        """The job's provenance for the engine as loaded now; made once per load (the checksums are cached)."""
        info = self.engine.info if self.engine is not None else None
        if info is None:
            return None
        if self._provenance is None or self._provenance[0] is not info:
            try:
                made: Provenance | None = (job_provenance(info, self.options) if isinstance(info, EngineInfo)
                                           else remote_job_provenance(info, self.options))
            except OSError:  # a model file gone since it was loaded: the caption stands without its provenance
                made = None
            self._provenance = (info, made)
        return self._provenance[1]

    def _record(self, item: ImageItem, text: str, stats: CaptionStats | None, error: str,
                guarded: GuardReport | None = None) -> CaptionRecord:
        job = self.job_provenance()
        provenance = caption_provenance(job, stats) if job is not None and stats is not None else job
        if provenance is not None and guarded is not None:
            provenance = dataclasses.replace(
                provenance, system_prompt=guarded.prompt.system, repeat_penalty=guarded.params.repeat_penalty,
                requested_seed=guarded.params.seed, mark_kinds=", ".join(guarded.marks) or None,
                marks=guarded.notes or None, raw_caption=guarded.raw_caption)
        return CaptionRecord(
            file_name=item.file_name,
            caption=text,
            language=self.options.prompt.language,
            prompt=self.options.prompt.user,
            model=self.options.model_label,
            seconds=round(stats.total_seconds, 3) if stats else None,
            output_tokens=stats.output_tokens if stats else None,
            error=error,
            path=str(item.path),
            provenance=provenance,
        )


def existing_record(item: ImageItem, caption: str) -> CaptionRecord:
    """The record of an image skipped because its sidecar already holds a caption."""
    return CaptionRecord(item.file_name, caption.strip(), "", "", "", None, None, "", str(item.path),
                         source=SOURCE_DISK)


def first_unwritable(folders: Iterable[Path]) -> WriteError | None:
    """The first of ``folders`` that is read-only or on a full disk; a problem of one file only does not count."""
    for folder in dict.fromkeys(folders):  # each folder once, in order
        if folder.is_dir() or not folder.exists():
            problem = probe_writable(folder)
            if problem is not None and problem.problem != "other":
                return problem
    return None
