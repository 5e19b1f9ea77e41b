"""Captioning a list of images as one job: the loop shared by the CLI and the GUI.

``run_job`` is a generator of plain events.  Every ``yield`` is a point where the caller may stop
(closing the generator cancels the captions in flight), and the caller does all output: progress,
exports, screen.  Images are read and decoded on a background thread ahead of the engine.  When the
engine decodes several captions side by side (``engine.parallel`` > 1) that many are kept in flight and
their events interleave; each caption's events carry its index.  A failed image becomes a record with
its reason and the job goes on; a crashed engine is restarted and the image tried once more (a second
crash marks it failed: a poison image must not stop the job), and after several such images in a row
the rest is marked not captioned.  A crash with several captions in flight cannot say which image
caused it, so those are retried one at a time.

Captions are saved as they are made.  Before the first caption, every folder the job will write to is
tried; a folder that cannot be written (read-only) or a full disk stops the job there, with nothing
captioned in vain.  Should that happen mid-job, the caption just made is kept in its record (the journal
holds it) and handed back through ``made`` when the job is resumed, so it is saved, not made again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.atomic import WriteError, probe_writable
from caprl_desktop.core.engine.protocol import Failed, Finished, Piece, exception_for
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import CaprlError, EngineCrashedError
from caprl_desktop.core.export.writers import CaptionRecord
from caprl_desktop.core.images.loading import PreparedImage, load_image
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import (
    EngineRestarted,
    ItemFinished,
    ItemSkipped,
    ItemStarted,
    ItemText,
    JobEvent,
    JobFinished,
    JobPlanned,
)
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.sidecars import plan_sidecars, read_sidecar, write_sidecar
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import PromptSpec


class CaptionEngine(Protocol):
    """What a job needs of the engine (``EngineClient`` in the app)."""

    def caption(
        self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams
    ) -> Generator[Piece | Finished, None, None]: ...

    def start(self) -> EngineInfo: ...

    @property
    def parallel(self) -> int: ...

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int: ...

    def next_reply(self) -> Piece | Finished | Failed: ...

    def abandon(self, request_ids: Iterable[int]) -> None: ...




def _record(item: ImageItem, options: JobOptions, caption: str = "", *, error: str = "",
            stats: CaptionStats | None = None) -> CaptionRecord:
    return CaptionRecord(
        file_name=item.file_name,
        caption=caption,
        language=options.prompt.language,
        prompt=options.prompt.user,
        model=options.model_label,
        seconds=round(stats.total_seconds, 3) if stats else None,
        output_tokens=stats.output_tokens if stats else None,
        error=error,
        path=str(item.path),
    )


def run_job(
    items: list[ImageItem],
    options: JobOptions,
    engine: CaptionEngine,
    made: Mapping[Path, str] | None = None,
    *,
    hold: Callable[[], bool] | None = None,
) -> Generator[JobEvent, None, None]:
    """Caption ``items``, yielding events; see the module docstring.

    ``made``: captions an earlier run made but could not save; they are saved, not made again.
    ``hold``: while it returns True no further image is started (a pause that lets those in flight finish).
    """
    made = made or {}
    plan = plan_sidecars(items, options.sidecar_folder())
    sidecars = plan.paths if options.write_sidecars else {}

    todo: list[ImageItem] = []
    to_save: list[ImageItem] = []
    skipped: list[ItemSkipped] = []
    for item in items:
        if item.path in made:
            to_save.append(item)
            continue
        existing = read_sidecar(sidecars[item.path]) if item.path in sidecars and not options.overwrite else None
        if existing is None:
            todo.append(item)
        else:
            record = CaptionRecord(item.file_name, existing.strip(), "", "", "", None, None, "", str(item.path))
            skipped.append(ItemSkipped(item, record, sidecars[item.path]))

    yield JobPlanned(total=len(items), to_caption=len(todo) + len(to_save),
                     clashes=plan.clashes if options.write_sidecars else ())
    yield from skipped

    blocked = _first_unwritable(sidecars[i.path].parent for i in to_save + todo if i.path in sidecars)
    if blocked is not None:
        yield JobFinished(captioned=0, failed=0, skipped=len(skipped), cancelled=False, cannot_save=blocked)
        return

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caprl-prefetch") as pool:
        run = _Run(todo, len(to_save), options, engine, sidecars, pool, hold or (lambda: False))
        try:
            yield from run.save_made(to_save, made)
            if not run.stopped:
                if engine.parallel > 1 and len(todo) > 1:
                    yield from run.side_by_side()
                else:
                    yield from run.one_by_one()
        finally:
            run.drop_prefetched()
    yield JobFinished(captioned=run.captioned, failed=run.failed, skipped=len(skipped), cancelled=run.cancelled,
                      cannot_save=run.cannot_save)


class _Run:
    """The state of one job's captioning: counts, crash streak, images read ahead."""

    def __init__(self, todo: list[ImageItem], first_index: int, options: JobOptions, engine: CaptionEngine,
                 sidecars: Mapping[Path, Path], pool: ThreadPoolExecutor, hold: Callable[[], bool]) -> None:
        self.todo = todo
        self.first_index = first_index
        self.options = options
        self.engine = engine
        self.sidecars = sidecars
        self.pool = pool
        self.hold = hold
        self.captioned = self.failed = 0
        self.crashes_in_row = 0
        self.cancelled = False
        self.cannot_save: WriteError | None = None
        self._images: dict[int, Future[PreparedImage]] = {}

    @property
    def stopped(self) -> bool:
        return self.cancelled or self.cannot_save is not None

    # --- images, read ahead on the pool's thread --------------------------------------------------

    def image(self, pos: int, ahead: int = 1) -> Future[PreparedImage]:
        """The future of ``todo[pos]``, having asked for the next ``ahead`` ones too."""
        for i in range(pos, min(pos + ahead + 1, len(self.todo))):
            if i not in self._images:
                self._images[i] = self.pool.submit(load_image, self.todo[i].path, self.options.image_budget.max_pixels)
        return self._images.pop(pos)

    def drop_prefetched(self) -> None:
        for future in self._images.values():
            future.cancel()
        self._images.clear()

    # --- outcomes ---------------------------------------------------------------------------------

    def save_made(self, to_save: list[ImageItem], made: Mapping[Path, str]) -> Generator[JobEvent, None, None]:
        for index, item in enumerate(to_save):
            yield ItemStarted(index, item)
            finished = _finish(index, item, made[item.path], None, "", self.options, self.sidecars)
            self._count(finished)
            yield finished
            if self.stopped:
                return

    def outcome(self, index: int, item: ImageItem, output: CaptionOutput | None, error: str,
                others_running: int = 0) -> ItemFinished:
        if output is not None and not output.text and not error:
            error = "the model returned an empty caption"
        text = output.text if output is not None else ""
        finished = _finish(index, item, text, output.stats if output is not None else None, error, self.options,
                           self.sidecars, others_running)
        self._count(finished)
        return finished

    def _count(self, finished: ItemFinished) -> None:
        if finished.record.error:
            self.failed += 1
        else:
            self.captioned += 1
        self.cannot_save = self.cannot_save or _stopper(finished)

    def given_up(self, index: int, item: ImageItem) -> ItemFinished | None:
        """After the engine crashed on several images in a row, the rest is not tried."""
        if self.crashes_in_row < self.options.max_consecutive_crashes:
            return None
        error = f"not captioned: the engine crashed on {self.crashes_in_row} images in a row"
        return self.outcome(index, item, None, error)

    # --- one caption at a time --------------------------------------------------------------------

    def one_by_one(self) -> Generator[JobEvent, None, None]:
        for pos, item in enumerate(self.todo):
            if self.hold():
                self.cancelled = True
                return
            index = self.first_index + pos
            image = self.image(pos)
            yield ItemStarted(index, item)
            yield from self.alone(index, item, image)
            if self.stopped:
                return

    def alone(self, index: int, item: ImageItem, image: Future[PreparedImage],
              crashed_before: EngineCrashedError | None = None) -> Generator[JobEvent, None, None]:
        """Caption one image with nothing else in flight, retrying after a crash; ``ItemStarted`` is sent."""
        given_up = self.given_up(index, item)
        if given_up is not None:
            yield given_up
            return
        output: CaptionOutput | None = None
        error = ""
        first = 2 if crashed_before is not None else 1
        for attempt in range(first, self.options.attempts_after_crash + 1):
            try:
                prepared = image.result()
                # closing(): stopping this job mid-caption must cancel the caption in the engine at once.
                stream = self.engine.caption(prepared, self.options.prompt, self.options.params)
                with contextlib.closing(stream):
                    for event in stream:
                        if isinstance(event, Piece):
                            yield ItemText(index, item, event.text)
                        else:
                            output = event.output
                self.crashes_in_row = 0
                break
            except EngineCrashedError as exc:
                crashed_before = exc
                last = attempt == self.options.attempts_after_crash
                if last:
                    break
                self.engine.start()
                yield EngineRestarted(str(exc))
                yield ItemStarted(index, item)  # again: what streamed before the crash is void
            except CaprlError as exc:
                error = str(exc)
                break
        if output is None and not error and crashed_before is not None:
            self.crashes_in_row += 1
            attempts = self.options.attempts_after_crash
            error = f"the engine crashed on this image {attempts} times, so it was skipped: {crashed_before}"
            if self.crashes_in_row < self.options.max_consecutive_crashes:
                self.engine.start()
                yield EngineRestarted(str(crashed_before))
        if output is not None and output.stats.finish_reason == "cancelled":
            self.cancelled = True
            return
        yield self.outcome(index, item, output, error)

    # --- several side by side ---------------------------------------------------------------------

    def side_by_side(self) -> Generator[JobEvent, None, None]:
        """Keep ``engine.parallel`` captions in flight; events interleave, each with its index."""
        in_flight: dict[int, tuple[int, ImageItem, Future[PreparedImage]]] = {}
        pos = 0
        try:
            while not self.stopped:
                while (len(in_flight) < self.engine.parallel and pos < len(self.todo) and not self.hold()
                       and not self.stopped):
                    index, item = self.first_index + pos, self.todo[pos]
                    image = self.image(pos, ahead=self.engine.parallel)
                    pos += 1
                    yield ItemStarted(index, item)
                    given_up = self.given_up(index, item)
                    if given_up is not None:
                        yield given_up
                        continue
                    try:
                        prepared = image.result()
                    except CaprlError as exc:  # the image could not be read
                        yield self.outcome(index, item, None, str(exc), len(in_flight))
                        continue
                    try:
                        rid = self.engine.submit(prepared, self.options.prompt, self.options.params)
                    except EngineCrashedError as exc:  # it died on one of those in flight
                        yield from self._retry_alone(in_flight, exc)
                        if not self.stopped:
                            yield ItemStarted(index, item)
                            yield from self.alone(index, item, image)
                        continue
                    in_flight[rid] = (index, item, image)
                if not in_flight:
                    if pos < len(self.todo):
                        self.cancelled = True  # held
                    return
                try:
                    reply = self.engine.next_reply()
                except EngineCrashedError as exc:
                    yield from self._retry_alone(in_flight, exc)
                    continue
                reply_id = reply.request_id
                if reply_id is None or reply_id not in in_flight:
                    continue
                index, item, image = in_flight[reply_id]
                if isinstance(reply, Piece):
                    yield ItemText(index, item, reply.text)
                    continue
                del in_flight[reply_id]
                if isinstance(reply, Finished) and reply.output.stats.finish_reason == "cancelled":
                    self.cancelled = True
                    return
                if isinstance(reply, Failed):
                    yield self.outcome(index, item, None, str(exception_for(reply)), len(in_flight))
                else:
                    yield self.outcome(index, item, reply.output, "", len(in_flight))
        finally:
            if in_flight:
                self.engine.abandon(list(in_flight))

    def _retry_alone(self, in_flight: dict[int, tuple[int, ImageItem, Future[PreparedImage]]],
                     crash: EngineCrashedError) -> Generator[JobEvent, None, None]:
        """A crash with several in flight: which image caused it is unknown, so each is tried alone, in order.

        ``in_flight`` is emptied: the crashed engine's requests are gone."""
        suspects = sorted(in_flight.values(), key=lambda entry: entry[0])
        in_flight.clear()
        self.engine.start()
        yield EngineRestarted(str(crash))
        for index, item, image in suspects:
            yield ItemStarted(index, item)  # again: what streamed before the crash is void
            yield from self.alone(index, item, image, crashed_before=crash)
            if self.stopped:
                return


def _finish(index: int, item: ImageItem, text: str, stats: CaptionStats | None, error: str, options: JobOptions,
            sidecars: Mapping[Path, Path], others_running: int = 0) -> ItemFinished:
    """Save a caption made (or record why there is none) and describe the outcome."""
    if error or item.path not in sidecars:
        record = _record(item, options, text, error=error, stats=stats)
        return ItemFinished(index, item, record, stats, None, others_running=others_running)
    sidecar = sidecars[item.path]
    try:
        write_sidecar(sidecar, text)
    except WriteError as exc:
        record = _record(item, options, text, error=f"caption made but not saved: {exc}", stats=stats)
        return ItemFinished(index, item, record, stats, None, save_error=exc, others_running=others_running)
    return ItemFinished(index, item, _record(item, options, text, stats=stats), stats, sidecar,
                        others_running=others_running)


def _stopper(finished: ItemFinished) -> WriteError | None:
    """The save problem that ends the job: a full disk or a read-only folder fails every later image too."""
    problem = finished.save_error
    return problem if problem is not None and problem.problem != "other" else None


def _first_unwritable(folders: Iterable[Path]) -> WriteError | None:
    for folder in dict.fromkeys(folders):  # each folder once, in order
        if folder.is_dir() or not folder.exists():
            problem = probe_writable(folder)
            if problem is not None and problem.problem != "other":
                return problem
    return None
