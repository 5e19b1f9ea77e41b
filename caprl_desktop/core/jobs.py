"""Captioning a list of images as one job: the loop shared by the CLI and the GUI.

``run_job`` is a generator of plain events.  Every ``yield`` is a point where the caller may stop
(closing the generator cancels the caption in flight), and the caller does all output: progress,
exports, screen.  The next image is decoded on a background thread while the current one is
captioned.  A failed image becomes a record with its reason and the job goes on; a crashed engine is
restarted and the image tried once more (a second crash marks it failed: a poison image must not stop
the job), and after several such images in a row the rest is marked not captioned.

Captions are saved as they are made.  Before the first caption, every folder the job will write to is
tried; a folder that cannot be written (read-only) or a full disk stops the job there, with nothing
captioned in vain.  Should that happen mid-job, the caption just made is kept in its record (the journal
holds it) and handed back through ``made`` when the job is resumed, so it is saved, not made again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.atomic import WriteError, probe_writable
from caprl_desktop.core.discovery import ImageItem
from caprl_desktop.core.engine_protocol import Finished, Piece
from caprl_desktop.core.engine_types import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import CaprlError, EngineCrashedError
from caprl_desktop.core.export import CaptionRecord
from caprl_desktop.core.images import PreparedImage, load_image
from caprl_desktop.core.params import GenerationParams, ImageBudget
from caprl_desktop.core.prompts import PromptSpec
from caprl_desktop.core.sidecars import SidecarClash, plan_sidecars, read_sidecar, write_sidecar


class CaptionEngine(Protocol):
    """What a job needs of the engine (``EngineClient`` in the app)."""

    def caption(
        self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams
    ) -> Generator[Piece | Finished, None, None]: ...

    def start(self) -> EngineInfo: ...


@dataclass(frozen=True)
class JobOptions:
    prompt: PromptSpec
    params: GenerationParams
    image_budget: ImageBudget
    model_label: str
    write_sidecars: bool = True
    overwrite: bool = False
    max_consecutive_crashes: int = 3  # images in a row on which the engine crashed twice: give up on the rest
    attempts_after_crash: int = 2  # an image the engine crashed on is tried once more, then marked failed
    caption_folder: str = ""  # sidecars go under this folder instead of beside the images; "" for beside

    def sidecar_folder(self) -> Path | None:
        return Path(self.caption_folder) if self.caption_folder else None


# --- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPlanned:
    total: int
    to_caption: int
    clashes: tuple[SidecarClash, ...]


@dataclass(frozen=True)
class ItemSkipped:
    item: ImageItem
    record: CaptionRecord  # carries the existing sidecar's caption
    sidecar: Path  # where that caption is, for an editor to save back to


@dataclass(frozen=True)
class ItemStarted:
    index: int
    item: ImageItem


@dataclass(frozen=True)
class ItemText:
    index: int
    item: ImageItem
    text: str


@dataclass(frozen=True)
class ItemFinished:
    index: int
    item: ImageItem
    record: CaptionRecord
    stats: CaptionStats | None
    sidecar: Path | None
    save_error: WriteError | None = None  # the caption was made (it is in the record), its sidecar not written

    @property
    def ok(self) -> bool:
        return not self.record.error

    @property
    def unsaved(self) -> bool:
        return self.save_error is not None


@dataclass(frozen=True)
class EngineRestarted:
    reason: str


@dataclass(frozen=True)
class JobFinished:
    captioned: int
    failed: int
    skipped: int
    cancelled: bool
    cannot_save: WriteError | None = None  # the job stopped: a folder is read-only or the disk is full

    @property
    def complete(self) -> bool:
        return not self.cancelled and self.cannot_save is None


JobEvent = JobPlanned | ItemSkipped | ItemStarted | ItemText | ItemFinished | EngineRestarted | JobFinished


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
    items: list[ImageItem], options: JobOptions, engine: CaptionEngine, made: Mapping[Path, str] | None = None,
) -> Generator[JobEvent, None, None]:
    """Caption ``items`` in order, yielding events; see the module docstring.

    ``made``: captions an earlier run made but could not save; they are saved, not made again.
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

    captioned = failed = 0
    for index, item in enumerate(to_save):
        yield ItemStarted(index, item)
        finished = _finish(index, item, made[item.path], None, "", options, sidecars)
        yield finished
        if not finished.unsaved:
            captioned += 1
            continue
        failed += 1
        stopper = _stopper(finished)
        if stopper is not None:
            yield JobFinished(captioned, failed, len(skipped), cancelled=False, cannot_save=stopper)
            return

    crashes_in_row = 0
    cancelled = False
    cannot_save: WriteError | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caprl-prefetch") as pool:

        def prefetch(i: int) -> Future[PreparedImage] | None:
            if i >= len(todo):
                return None
            return pool.submit(load_image, todo[i].path, options.image_budget.max_pixels)

        upcoming = prefetch(0)
        for index, item in enumerate(todo, start=len(to_save)):
            current, upcoming = upcoming, prefetch(index - len(to_save) + 1)
            yield ItemStarted(index, item)
            if crashes_in_row >= options.max_consecutive_crashes:
                failed += 1
                error = f"not captioned: the engine crashed on {crashes_in_row} images in a row"
                yield ItemFinished(index, item, _record(item, options, error=error), None, None)
                continue
            output: CaptionOutput | None = None
            error = ""
            for attempt in range(1, options.attempts_after_crash + 1):
                try:
                    assert current is not None
                    image = current.result()
                    # closing(): stopping this job mid-caption must cancel the caption in the engine at once.
                    with contextlib.closing(engine.caption(image, options.prompt, options.params)) as stream:
                        for event in stream:
                            if isinstance(event, Piece):
                                yield ItemText(index, item, event.text)
                            else:
                                output = event.output
                    crashes_in_row = 0
                    break
                except EngineCrashedError as exc:
                    error = str(exc)
                    last = attempt == options.attempts_after_crash
                    if last:
                        crashes_in_row += 1
                        error = f"the engine crashed on this image {attempt} times, so it was skipped: {exc}"
                    if not last or crashes_in_row < options.max_consecutive_crashes:
                        engine.start()
                        yield EngineRestarted(str(exc))
                    if not last:
                        error = ""
                        yield ItemStarted(index, item)  # again: what streamed before the crash is void
                except CaprlError as exc:
                    error = str(exc)
                    break

            if output is not None and output.stats.finish_reason == "cancelled":
                cancelled = True
                break
            if output is not None and not output.text:
                error = "the model returned an empty caption"
            text = output.text if output is not None else ""
            finished = _finish(index, item, text, output.stats if output is not None else None, error, options,
                               sidecars)
            if finished.record.error:
                failed += 1
            else:
                captioned += 1
            yield finished
            cannot_save = _stopper(finished)
            if cannot_save is not None:
                break
        if upcoming is not None:
            upcoming.cancel()

    yield JobFinished(captioned=captioned, failed=failed, skipped=len(skipped), cancelled=cancelled,
                      cannot_save=cannot_save)


def _finish(index: int, item: ImageItem, text: str, stats: CaptionStats | None, error: str, options: JobOptions,
            sidecars: Mapping[Path, Path]) -> ItemFinished:
    """Save a caption made (or record why there is none) and describe the outcome."""
    if error or item.path not in sidecars:
        return ItemFinished(index, item, _record(item, options, text, error=error, stats=stats), stats, None)
    sidecar = sidecars[item.path]
    try:
        write_sidecar(sidecar, text)
    except WriteError as exc:
        record = _record(item, options, text, error=f"caption made but not saved: {exc}", stats=stats)
        return ItemFinished(index, item, record, stats, None, save_error=exc)
    return ItemFinished(index, item, _record(item, options, text, stats=stats), stats, sidecar)


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
