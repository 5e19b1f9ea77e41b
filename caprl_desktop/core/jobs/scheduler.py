"""Captioning a list of images as one job: the loop shared by the CLI and the GUI.

``run_job`` is a generator of plain events.  Every ``yield`` is a point where the caller may stop
(closing the generator cancels the captions in flight), and the caller does all output: progress,
exports, screen.  Images are read and decoded on a background thread ahead of the engine (``readahead``).

One scheduler keeps up to ``engine.parallel`` captions in flight; their events interleave, each carrying
its index.  A failed image becomes a record with its reason and the job goes on.  When the engine
crashes (or is found dead when a caption is sent) it is restarted, and every caption that was in flight
is a suspect: which one did it is unknown, so the suspects are tried again one at a time, in order, and
only then do captions go side by side again.  An image the engine crashed on ``attempts_after_crash``
times is skipped (a poison image must not stop the job), and after ``max_consecutive_crashes`` such
images in a row the rest is marked not captioned and the engine is left stopped.

Every caption is guarded as it streams (``core/quality/watch.py``, one ``CaptionGuard`` per image): a try that
loops or comes in the other language is stopped at once with the engine's ``stop_caption``, which ends that caption
alone, and tried once more with what the guard changes (a repeat penalty, the language said again); the window
and the command line see the image start again. A guard's stop is not the user's Stop: the job goes on.

Captions are saved as they are made (``outcomes``).  Before the first caption, every folder the job will
write to is tried; a folder that cannot be written (read-only) or a full disk stops the job there, with
nothing captioned in vain.  Should that happen mid-job, the caption just made is kept in its record (the
journal holds it) and handed back through ``made`` when the job is resumed, so it is saved, not made again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.engine.replies import CaptionFailed, CaptionReply, CaptionRestarted, CaptionText
from caprl_desktop.core.engine.reports import Loaded, image_token_side
from caprl_desktop.core.errors import CaprlError, EngineCrashedError, Reason, reason, reason_of
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.jobs.descriptions import clear_leftovers
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
from caprl_desktop.core.jobs.outcomes import Outcomes, existing_record, first_unwritable
from caprl_desktop.core.jobs.readahead import ReadAhead
from caprl_desktop.core.jobs.sidecars import leads_outside, plan_sidecars, read_sidecar
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import PromptSpec
from caprl_desktop.core.quality.watch import CaptionGuard


class CaptionEngine(Loaded, Protocol):
    """What a job needs of the engine (``EngineClient`` in the app); its ``info`` sizes the images for its model
    and gives the records their provenance."""

    def start(self) -> object: ...  # what was loaded; a job only needs the engine up again

    @property
    def parallel(self) -> int: ...

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int: ...

    def next_reply(self) -> CaptionReply: ...

    def abandon(self, request_ids: Iterable[int]) -> None: ...

    def stop_caption(self, request_id: int) -> None:
        """End this caption now: it ends with its own reply, finish reason "cancelled" (the others go on)."""


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
    clear_leftovers(items, plan.paths.values())  # before any write: hidden copies of photos a killed run left

    todo: list[ImageItem] = []
    to_save: list[ImageItem] = []
    skipped: list[ItemSkipped] = []
    linked: list[tuple[ImageItem, Path]] = []  # sidecar names taken by a link out of their folder (the plan says so)
    for item in items:
        target = leads_outside(sidecars[item.path]) if item.path in sidecars else None
        if target is not None:  # nothing is read or written through it, so a caption made would be lost
            linked.append((item, target))
            continue
        if item.path in made:
            to_save.append(item)
            continue
        existing = read_sidecar(sidecars[item.path]) if item.path in sidecars and not options.overwrite else None
        if existing is None:
            todo.append(item)
        else:
            skipped.append(ItemSkipped(item, existing_record(item, existing), sidecars[item.path]))

    yield JobPlanned(total=len(items), to_caption=len(todo) + len(to_save) + len(linked),
                     clashes=plan.clashes if options.write_sidecars else ())
    yield from skipped

    outcomes = Outcomes(options, sidecars, engine)  # the engine's report of what it loaded: provenance
    # A folder that cannot take a caption stops the job now, as its first failed save would, but before
    # any caption was made in vain.
    outcomes.cannot_save = first_unwritable(sidecars[i.path].parent for i in to_save + todo if i.path in sidecars)
    for index, item in enumerate(to_save):
        if outcomes.cannot_save is not None:
            break
        yield ItemStarted(index, item)
        yield outcomes.made_before(index, item, made[item.path])
    for index, (item, target) in enumerate(linked, start=len(to_save)):
        yield ItemStarted(index, item)
        name = sidecars[item.path].name
        yield outcomes.failure(index, item, reason(
            "caption_file_links_out", f"not captioned: its caption file {name} is a link to {target}, outside its "
            "folder, and nothing is written through such a link", name=name, target=str(target)))

    cancelled = False
    if outcomes.cannot_save is None:
        max_pixels = options.image_budget.max_pixels(image_token_side(engine.info))
        with ReadAhead([item.path for item in todo], max_pixels) as images:
            scheduler = _Scheduler(todo, len(to_save) + len(linked), options, engine, outcomes, images,
                                   hold or (lambda: False))
            yield from scheduler.run()
            cancelled = scheduler.cancelled
    yield JobFinished(captioned=outcomes.captioned, failed=outcomes.failed, skipped=len(skipped), cancelled=cancelled,
                      cannot_save=outcomes.cannot_save, marks=outcomes.marks)


@dataclass
class _Caption:
    """One image on its way through the engine, the crashes it was in flight for, and its guards (which say
    what its try is asked)."""

    index: int
    item: ImageItem
    image: Future[PreparedImage]
    guard: CaptionGuard
    crashes: int = 0
    last_crash: EngineCrashedError | None = None


class _Scheduler:
    """Feeds the engine the job's images, side by side or, after a crash, the suspects one at a time."""

    def __init__(self, todo: list[ImageItem], first_index: int, options: JobOptions, engine: CaptionEngine,
                 outcomes: Outcomes, images: ReadAhead, hold: Callable[[], bool]) -> None:
        self.todo = todo
        self.first_index = first_index
        self.options = options
        self.engine = engine
        self.outcomes = outcomes
        self.images = images
        self.hold = hold
        self.next_pos = 0  # the next image of ``todo`` not yet started
        self.suspects: deque[_Caption] = deque()  # in flight at a crash: each is tried again alone
        self.in_flight: dict[int, _Caption] = {}  # by request id
        self.crashes_in_row = 0  # images skipped for crashing the engine since the last caption made
        self.cancelled = False

    @property
    def stopped(self) -> bool:
        return self.cancelled or self.outcomes.cannot_save is not None

    @property
    def given_up(self) -> bool:
        """The engine crashed on too many images in a row: the rest is not tried."""
        return self.crashes_in_row >= self.options.max_consecutive_crashes

    @property
    def capacity(self) -> int:
        if self.suspects or any(caption.crashes for caption in self.in_flight.values()):
            return 1
        return self.engine.parallel

    def run(self) -> Generator[JobEvent, None, None]:
        try:
            while True:
                yield from self._start_more()
                if self.stopped:
                    return
                if not self.in_flight:
                    # Nothing started and nothing left to wait for: done, or held with images left.
                    self.cancelled = self.next_pos < len(self.todo)
                    return
                yield from self._take_reply()
        finally:
            if self.in_flight:
                self.engine.abandon(list(self.in_flight))

    # --- starting captions ------------------------------------------------------------------------

    def _start_more(self) -> Generator[JobEvent, None, None]:
        while not self.stopped and len(self.in_flight) < self.capacity:
            caption = self._next_caption()
            if caption is None:
                return
            yield ItemStarted(caption.index, caption.item)
            yield from self._send(caption)

    def _next_caption(self) -> _Caption | None:
        """A suspect of the last crash first; then the next image, unless the job is held."""
        if self.suspects:
            return self.suspects.popleft()  # a hold lets these finish: they were in flight
        if self.next_pos >= len(self.todo) or self.hold():
            return None
        pos = self.next_pos
        self.next_pos += 1
        options = self.options
        guard = CaptionGuard(options.prompt, options.params, watch=options.guards,
                             strip_openings=options.strip_openings)
        if self.given_up:
            # The rest fails at once (``_send``): reading thousands of images for nothing would hold the end.
            return _Caption(self.first_index + pos, self.todo[pos], Future(), guard)
        # Read ahead as many as the engine takes at once: a freed sequence should find its image ready.
        image = self.images.take(pos, ahead=self.engine.parallel)
        return _Caption(self.first_index + pos, self.todo[pos], image, guard)

    def _send(self, caption: _Caption) -> Generator[JobEvent, None, None]:
        """Submit ``caption`` to the engine, or finish it at once when it cannot or should not be."""
        if self.given_up:
            yield self._failure(caption, reason(
                "engine_gave_up", f"not captioned: the engine crashed on {self.crashes_in_row} images in a row",
                count=self.crashes_in_row))
            return
        if caption.crashes >= self.options.attempts_after_crash:
            yield from self._skip(caption)
            return
        try:
            prepared = caption.image.result()
        except CaprlError as exc:  # the image could not be read
            yield self._failure(caption, exc.reason)
            return
        try:
            rid = self.engine.submit(prepared, caption.guard.prompt, caption.guard.params)
        except EngineCrashedError as exc:
            # Found dead (killed while idle, out of memory): a crash like any other, and this image was
            # about to be in it; counting it keeps an engine that dies at every start from looping for ever.
            yield from self._crashed(exc, also=caption)
            return
        except CaprlError as exc:
            yield self._failure(caption, exc.reason)
            return
        caption.guard.begin()
        self.in_flight[rid] = caption

    # --- replies ----------------------------------------------------------------------------------

    def _take_reply(self) -> Generator[JobEvent, None, None]:
        try:
            reply = self.engine.next_reply()
        except EngineCrashedError as exc:
            yield from self._crashed(exc)
            return
        caption = self.in_flight.get(reply.request_id)
        if caption is None:  # the end of a caption given up on; nothing waits for it
            return
        guard = caption.guard
        if isinstance(reply, CaptionText):
            if guard.halted is not None:  # (what a stopped try streamed before the stop reached it)
                return
            if guard.feed(reply.text) is not None:
                self.engine.stop_caption(reply.request_id)
            yield ItemText(caption.index, caption.item, reply.text)
            return
        if isinstance(reply, CaptionRestarted):  # a server failed mid-caption; another makes it from nothing
            guard.begin()
            yield ItemStarted(caption.index, caption.item)
            return
        del self.in_flight[reply.request_id]
        if isinstance(reply, CaptionFailed):
            yield self._failure(caption, reply.error.reason)
            return
        if guard.halted is not None and guard.retry():  # (however it ended: the stop may have come too late)
            yield ItemStarted(caption.index, caption.item)
            yield from self._send(caption)
            return
        if guard.halted is None and reply.output.stats.finish_reason == "cancelled":
            self.cancelled = True  # Stop was pressed: the others stop as well
            return
        self.crashes_in_row = 0
        output, report = guard.finish(reply.output)
        yield self.outcomes.made(caption.index, caption.item, output, len(self.in_flight), report)

    def _failure(self, caption: _Caption, error: Reason) -> ItemFinished:
        return self.outcomes.failure(caption.index, caption.item, error, len(self.in_flight))

    # --- crashes ----------------------------------------------------------------------------------

    def _crashed(self, crash: EngineCrashedError, also: _Caption | None = None) -> Generator[JobEvent, None, None]:
        """Every caption in flight died with the engine: restart it and queue them to be tried alone, in order."""
        lost = sorted([*self.in_flight.values(), *([also] if also is not None else [])], key=lambda c: c.index)
        self.in_flight.clear()
        for caption in lost:
            caption.crashes += 1
            caption.last_crash = crash
        if len(lost) == 1 and lost[0].crashes >= self.options.attempts_after_crash:
            yield from self._skip(lost[0])  # alone, so surely the one: no further try
            return
        self.engine.start()
        yield EngineRestarted(str(crash))
        self.suspects.extendleft(reversed(lost))  # before any suspects left, which were not in flight

    def _skip(self, caption: _Caption) -> Generator[JobEvent, None, None]:
        """A poison image: the engine crashed on it every time it was tried."""
        self.crashes_in_row += 1
        if not self.given_up:
            self.engine.start()
            yield EngineRestarted(str(caption.last_crash))
        attempts = self.options.attempts_after_crash
        crash = reason_of(caption.last_crash or "")
        yield self._failure(caption, reason(
            "engine_crashed_on_image", f"the engine crashed on this image {attempts} times, so it was skipped: "
            f"{crash}", attempts=attempts, crash=crash))
