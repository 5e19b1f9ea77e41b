"""The job scheduler's rules on a scripted engine: side by side, crashes and their suspects, hold, stop, saving.

Every test runs ``run_job`` for real (images on disk, sidecars written) against ``FakeEngine``, whose replies
take turns deterministically, so whole event sequences can be asserted.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest

from caprl_desktop.core.engine.client import _caption_reply
from caprl_desktop.core.engine.protocol import FAIL_PROMPT_TOO_LONG, Failed, Finished, Piece
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionText
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats
from caprl_desktop.core.errors import EngineError, ModelLoadError, PromptTooLongError
from caprl_desktop.core.images.loading import PreparedImage, load_image
from caprl_desktop.core.jobs import readahead
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
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
from caprl_desktop.core.jobs.scheduler import run_job
from tests.support.fake_engine import FakeEngine, Script
from tests.support.faults import fail_writes
from tests.support.jobs import options

P = ParamSpec("P")
T = TypeVar("T")
FIVE = ("a.png", "b.png", "c.png", "d.png", "e.png")
POISON = Script(crashes=99)


def setup(tmp_path: Path, names: Iterable[str] = FIVE, parallel: int = 1,
          scripts: Mapping[str, Script] | None = None) -> tuple[FakeEngine, list[ImageItem], Path]:
    engine = FakeEngine(parallel=parallel, scripts=dict(scripts or {}))
    folder = tmp_path / "photos"
    engine.images(folder, names)
    items, _ = find_images([folder])
    return engine, items, folder


def run(items: list[ImageItem], engine: FakeEngine, opts: JobOptions | None = None,
        made: Mapping[Path, str] | None = None, hold: Callable[[], bool] | None = None) -> list[JobEvent]:
    return list(run_job(items, opts or options(), engine, made, hold=hold))


def trace(events: Iterable[JobEvent]) -> list[str]:
    """The events in short: what happened to which index."""
    out = []
    for e in events:
        if isinstance(e, JobPlanned):
            out.append("planned")
        elif isinstance(e, ItemSkipped):
            out.append(f"skipped {e.item.file_name}")
        elif isinstance(e, ItemStarted):
            out.append(f"start {e.index}")
        elif isinstance(e, ItemText):
            out.append(f"text {e.index} {e.text}")
        elif isinstance(e, ItemFinished):
            out.append(f"{'ok' if e.ok else 'failed'} {e.index}")
        elif isinstance(e, EngineRestarted):
            out.append("restart")
        else:
            out.append("end")
    return out


def starts(events: Iterable[JobEvent]) -> list[int]:
    return [e.index for e in events if isinstance(e, ItemStarted)]


def finished(events: Iterable[JobEvent]) -> dict[str, ItemFinished]:
    return {e.item.file_name: e for e in events if isinstance(e, ItemFinished)}


def summary(events: list[JobEvent]) -> JobFinished:
    last = events[-1]
    assert isinstance(last, JobFinished)
    return last


def most_running(events: Iterable[JobEvent]) -> int:
    running: set[int] = set()
    most = 0
    for e in events:
        if isinstance(e, ItemStarted):
            running.add(e.index)
        elif isinstance(e, ItemFinished):
            running.discard(e.index)
        most = max(most, len(running))
    return most


def crash_error(times: int = 2) -> str:
    return f"the engine crashed on this image {times} times, so it was skipped: the caption engine stopped"


# --- side by side ---------------------------------------------------------------------------------


def test_one_at_a_time_each_image_starts_streams_and_finishes_before_the_next(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png"])
    events = run(items, engine)
    assert trace(events) == ["planned", "start 0", "text 0 a.png", "text 0  caption", "ok 0",
                             "start 1", "text 1 b.png", "text 1  caption", "ok 1", "end"]
    assert (folder / "a.txt").read_text(encoding="utf-8") == "a.png caption\n"
    assert (folder / "b.txt").read_text(encoding="utf-8") == "b.png caption\n"


def test_side_by_side_streams_interleave_each_under_its_own_index(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=2)
    events = run(items, engine)
    assert trace(events) == [
        "planned", "start 0", "start 1",
        "text 0 a.png", "text 1 b.png", "text 0  caption", "text 1  caption", "ok 0",
        "start 2",  # a's place is taken at once
        "ok 1", "text 2 c.png", "text 2  caption", "ok 2", "end",
    ]
    for e in events:
        if isinstance(e, ItemText | ItemStarted | ItemFinished):
            assert e.item == items[e.index]
    assert [(folder / f"{n}.txt").read_text(encoding="utf-8") for n in "abc"] == [
        f"{n}.png caption\n" for n in "abc"]


@pytest.mark.parametrize("parallel", [1, 2, 3, 8])
def test_the_engine_gets_as_many_captions_at_once_as_it_decodes_and_no_more(tmp_path: Path, parallel: int) -> None:
    names = [f"p{i}.png" for i in range(7)]
    engine, items, _ = setup(tmp_path, names, parallel=parallel)
    events = run(items, engine)
    assert engine.most_in_flight == most_running(events) == min(parallel, 7)
    assert engine.submitted == names
    assert (summary(events).captioned, summary(events).failed) == (7, 0)


def test_others_running_counts_the_captions_still_in_flight(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=2)
    done = finished(run(items, engine))
    assert [done[n].others_running for n in ("a.png", "b.png", "c.png")] == [1, 1, 0]


def test_records_carry_the_jobs_choices_and_the_captions_stats(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png"])
    opts = options(model_label="CapRL-3B Q4_K_M")
    [done] = finished(run(items, engine, opts)).values()
    record = done.record
    assert (record.file_name, record.caption, record.error) == ("a.png", "a.png caption", "")
    assert (record.language, record.prompt, record.model) == ("ja", opts.prompt.user, "CapRL-3B Q4_K_M")
    assert record.seconds == 0.37 and record.output_tokens == 2  # the fake's 0.1234 × 3, rounded to ms
    assert done.stats is not None and done.stats.seed == 5
    assert done.sidecar == folder / "a.txt" and record.path == str(folder / "a.png")
    assert engine.prompts == [opts.prompt]


# --- crashes --------------------------------------------------------------------------------------


def test_a_crash_with_several_in_flight_retries_each_suspect_alone_in_order(tmp_path: Path) -> None:
    names = [f"p{i}.png" for i in range(7)]
    engine, items, _ = setup(tmp_path, names, parallel=3, scripts={"p1.png": Script(crashes=1)})
    events = run(items, engine)
    assert sum(isinstance(e, EngineRestarted) for e in events) == 1 and engine.starts == 1
    assert starts(events) == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6]
    # Three in flight at the crash, then each suspect with nothing beside it, then three at a time again.
    assert engine.in_flight_at_submit == [1, 2, 3, 1, 1, 1, 1, 2, 3, 3]
    assert (summary(events).captioned, summary(events).failed) == (7, 0)


def test_text_streamed_before_a_crash_is_void_and_the_retry_streams_it_anew(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png"], scripts={"a.png": Script(crashes=1)})
    events = run(items, engine)
    assert trace(events) == ["planned", "start 0", "text 0 a.png", "restart",
                             "start 0", "text 0 a.png", "text 0  caption", "ok 0", "end"]
    restarted = next(e for e in events if isinstance(e, EngineRestarted))
    assert "SIGKILL" in restarted.reason and "crash 1" in restarted.reason
    assert (folder / "a.txt").read_text(encoding="utf-8") == "a.png caption\n"


def test_a_poison_image_is_tried_twice_then_skipped_and_the_job_goes_on(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"], scripts={"b.png": POISON})
    events = run(items, engine)
    assert starts(events) == [0, 1, 1, 2]
    done = finished(events)
    assert done["b.png"].record.error.startswith(crash_error(2))
    assert "crash 2" in done["b.png"].record.error  # the last crash is the one reported
    assert done["a.png"].ok and done["c.png"].ok and not (folder / "b.txt").exists()
    assert sum(isinstance(e, EngineRestarted) for e in events) == 2 and engine.starts == 2
    assert (summary(events).captioned, summary(events).failed) == (2, 1)


def test_attempts_after_crash_sets_how_often_an_image_is_tried(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png"], scripts={"a.png": POISON})
    events = run(items, engine, options(attempts_after_crash=3))
    assert starts(events) == [0, 0, 0, 1]
    assert finished(events)["a.png"].record.error.startswith(crash_error(3))
    assert engine.crashes == 3


def test_a_suspect_that_crashes_again_alone_is_skipped_and_the_other_suspects_are_captioned(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png", "d.png"], parallel=3,
                             scripts={"b.png": POISON})
    events = run(items, engine)
    assert starts(events) == [0, 1, 2, 0, 1, 2, 3]  # b once side by side, once alone
    done = finished(events)
    assert done["b.png"].record.error.startswith(crash_error(2))
    assert all(done[n].ok for n in ("a.png", "c.png", "d.png"))
    assert engine.starts == 2  # after the crash with three in flight, and after b's second crash
    assert engine.in_flight_at_submit == [1, 2, 3, 1, 1, 1, 1]


def test_a_suspect_that_crashes_alone_but_has_tries_left_goes_again_before_the_other_suspects(
    tmp_path: Path,
) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png", "d.png"], parallel=3,
                             scripts={"a.png": Script(crashes=2)})
    events = run(items, engine, options(attempts_after_crash=3))
    assert starts(events) == [0, 1, 2, 0, 0, 1, 2, 3]
    assert engine.in_flight_at_submit == [1, 2, 3, 1, 1, 1, 1, 1]
    assert all(e.ok for e in finished(events).values()) and engine.starts == 2


def test_with_one_try_after_a_crash_every_suspect_is_skipped(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=3, scripts={"a.png": Script(crashes=1)})
    events = run(items, engine, options(attempts_after_crash=1, max_consecutive_crashes=5))
    # Which of the three did it is unknown, and none may be tried again.
    assert trace(events) == ["planned", "start 0", "start 1", "start 2", "text 0 a.png", "text 1 b.png",
                             "text 2 c.png", "restart",
                             "start 0", "restart", "failed 0", "start 1", "restart", "failed 1",
                             "start 2", "restart", "failed 2", "end"]
    assert all(e.record.error.startswith(crash_error(1)) for e in finished(events).values())


@pytest.mark.parametrize("parallel", [1, 3])
def test_after_images_in_a_row_crash_the_engine_the_rest_are_not_captioned(tmp_path: Path, parallel: int) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png", "d.png"], parallel=parallel,
                                  scripts=dict.fromkeys(["a.png", "b.png", "c.png", "d.png"], POISON))
    events = run(items, engine, options(max_consecutive_crashes=2))
    done = finished(events)
    assert done["a.png"].record.error.startswith(crash_error(2))
    assert done["b.png"].record.error.startswith(crash_error(2))
    given_up = "not captioned: the engine crashed on 2 images in a row"
    assert done["c.png"].record.error == done["d.png"].record.error == given_up
    assert "c.png" not in engine.submitted[3:] and "d.png" not in engine.submitted
    assert not engine.running  # left stopped: restarting it again would not help
    # One restart after a's second crash; side by side, one more after the crash with three in flight.
    assert sum(isinstance(e, EngineRestarted) for e in events) == engine.starts == (3 if parallel == 1 else 2)
    assert (summary(events).captioned, summary(events).failed) == (0, 4)
    assert not list(folder.glob("*.txt"))


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_caption_made_between_poison_images_starts_the_count_again(tmp_path: Path, parallel: int) -> None:
    names = ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]
    engine, items, _ = setup(tmp_path, names, parallel=parallel, scripts={"b.png": POISON, "e.png": POISON})
    events = run(items, engine, options(max_consecutive_crashes=2))
    done = finished(events)
    assert done["b.png"].record.error.startswith(crash_error(2))
    assert done["e.png"].record.error.startswith(crash_error(2))
    assert all(done[n].ok for n in ("a.png", "c.png", "d.png", "f.png"))
    assert engine.running


@pytest.mark.parametrize("parallel", [1, 3])
def test_an_engine_found_dead_when_a_caption_is_sent_is_restarted_and_nothing_fails(
    tmp_path: Path, parallel: int
) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png", "d.png"], parallel=parallel)
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine):
        events.append(event)
        if isinstance(event, JobPlanned):
            engine.kill()  # while idle, before anything was sent
    assert trace(events)[:4] == ["planned", "start 0", "restart", "start 0"]
    assert sum(isinstance(e, EngineRestarted) for e in events) == engine.starts == 1
    assert (summary(events).captioned, summary(events).failed) == (4, 0)
    assert engine.most_in_flight == min(parallel, 3)


def test_found_dead_with_captions_in_flight_retries_them_and_the_one_sent_alone(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, FIVE, parallel=3)
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine):
        events.append(event)
        if isinstance(event, ItemStarted) and event.index == 2 and not engine.starts:
            engine.kill()  # a and b in flight; c is about to be sent
    assert starts(events) == [0, 1, 2, 0, 1, 2, 3, 4]
    assert engine.in_flight_at_submit == [1, 2, 1, 1, 1, 1, 2]
    assert (summary(events).captioned, summary(events).failed) == (5, 0)


def test_an_engine_found_dead_at_every_send_does_not_keep_the_job_going_for_ever(tmp_path: Path) -> None:
    names = ["a.png", "b.png", "c.png", "d.png"]
    engine, items, _ = setup(tmp_path, names, scripts=dict.fromkeys(names, Script(dead_at_submit=99)))
    events = run(items, engine, options(max_consecutive_crashes=2))
    assert engine.submitted == []
    errors = [e.record.error for e in finished(events).values()]
    assert errors[0].startswith(crash_error(2)) and errors[1].startswith(crash_error(2))
    assert errors[2:] == ["not captioned: the engine crashed on 2 images in a row"] * 2


def test_a_restart_that_fails_ends_the_job_with_its_error(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png"], scripts={"a.png": Script(crashes=1)})
    engine.start_error = ModelLoadError("the model no longer loads")
    with pytest.raises(ModelLoadError, match="no longer loads"):
        run(items, engine)


def test_a_hold_still_lets_the_suspects_of_a_crash_finish(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, FIVE, parallel=2, scripts={"b.png": Script(crashes=1)})
    pause = threading.Event()
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine, hold=pause.is_set):
        events.append(event)
        if isinstance(event, ItemStarted) and event.index == 1:
            pause.set()
    assert starts(events) == [0, 1, 0, 1]
    job = summary(events)
    assert job.cancelled and (job.captioned, job.failed) == (2, 0)


# --- hold, close, cancel --------------------------------------------------------------------------


def test_hold_lets_captions_in_flight_finish_and_starts_no_more(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=3)
    pause = threading.Event()
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine, hold=pause.is_set):
        events.append(event)
        if isinstance(event, ItemStarted) and event.index == 1:
            pause.set()  # Pause pressed with two in flight
    assert starts(events) == [0, 1]
    done = finished(events)
    assert list(done) == ["a.png", "b.png"] and all(e.ok for e in done.values())
    assert done["b.png"].others_running == 0
    job = summary(events)
    assert job.cancelled and not job.complete and job.captioned == 2
    assert sorted(p.name for p in folder.glob("*.txt")) == ["a.txt", "b.txt"]


def test_a_job_held_from_the_start_starts_nothing(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png"], parallel=2)
    events = run(items, engine, hold=lambda: True)
    assert trace(events) == ["planned", "end"]
    assert summary(events).cancelled and engine.submitted == []


def test_a_hold_once_every_image_has_started_is_no_cancel(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png"], parallel=2)
    pause = threading.Event()
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine, hold=pause.is_set):
        events.append(event)
        if isinstance(event, ItemStarted) and event.index == 1:
            pause.set()
    job = summary(events)
    assert not job.cancelled and job.complete and job.captioned == 2


@pytest.mark.parametrize("parallel", [1, 3])
def test_closing_the_job_abandons_every_caption_in_flight(tmp_path: Path, parallel: int) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=parallel)
    job = run_job(items, options(), engine)
    for event in job:
        if isinstance(event, ItemText):
            break
    job.close()
    assert engine.abandoned == list(FIVE[:parallel])
    assert engine.in_flight == []
    assert not list(folder.glob("*.txt"))


def test_closing_the_job_between_captions_abandons_nothing(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png"])
    job = run_job(items, options(), engine)
    for event in job:
        if isinstance(event, ItemFinished):
            break
    job.close()
    assert engine.abandoned == [] and engine.submitted == ["a.png"]
    assert [p.name for p in folder.glob("*.txt")] == ["a.txt"]


def test_a_cancelled_caption_ends_the_job_cancelled_and_abandons_the_others(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=3, scripts={"b.png": Script(finish_reason="cancelled")})
    events = run(items, engine)
    done = finished(events)
    assert list(done) == ["a.png"]  # b has no outcome: it was stopped, not captioned
    assert engine.abandoned == ["c.png", "d.png"]
    job = summary(events)
    assert job.cancelled and (job.captioned, job.failed) == (1, 0)
    assert [p.name for p in folder.glob("*.txt")] == ["a.txt"]


def test_stop_pressed_mid_job_ends_it_cancelled_with_nothing_more_saved(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=2)
    events: list[JobEvent] = []
    for event in run_job(items, options(), engine):
        events.append(event)
        if isinstance(event, ItemText) and event.index == 1:
            engine.cancel()  # what the window's Stop does
    job = summary(events)
    assert job.cancelled and job.captioned == 0 and not finished(events)
    assert not list(folder.glob("*.txt"))


# --- failures -------------------------------------------------------------------------------------


def test_a_broken_image_fails_alone_and_the_others_are_captioned(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=3)
    (folder / "b.png").write_bytes(b"not a png")
    events = run(items, engine)
    done = finished(events)
    assert not done["b.png"].ok and "b.png" in done["b.png"].record.error
    assert done["b.png"].others_running == 1  # a was in flight when b was read
    assert all(done[n].ok for n in FIVE if n != "b.png")
    assert "b.png" not in engine.submitted and engine.starts == 0
    assert (summary(events).captioned, summary(events).failed) == (4, 1)
    assert not (folder / "b.txt").exists()


def test_an_image_gone_before_its_turn_fails_with_the_reason(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png"])
    (folder / "a.png").unlink()
    done = finished(run(items, engine))
    assert done["a.png"].record.error == "a.png no longer exists" and done["b.png"].ok


def test_an_empty_caption_is_a_failure_and_writes_no_sidecar(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png"], scripts={"a.png": Script(pieces=(" ", "\n"))})
    events = run(items, engine)
    done = finished(events)
    assert done["a.png"].record.error == "the model returned an empty caption"
    assert done["a.png"].stats is not None and done["a.png"].sidecar is None
    assert not (folder / "a.txt").exists() and done["b.png"].ok
    assert (summary(events).captioned, summary(events).failed) == (1, 1)


def test_a_caption_the_engine_fails_is_recorded_and_the_job_goes_on(tmp_path: Path) -> None:
    too_long = PromptTooLongError("the prompt and the image do not fit; lower the image budget")
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=2,
                                  scripts={"a.png": Script(error=too_long)})
    events = run(items, engine)
    done = finished(events)
    assert done["a.png"].record.error == str(too_long) and done["a.png"].record.caption == ""
    assert done["b.png"].ok and done["c.png"].ok and engine.starts == 0
    assert not (folder / "a.txt").exists()


# --- saving ---------------------------------------------------------------------------------------


def test_captions_made_by_an_earlier_run_are_saved_first_and_not_made_again(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=2)
    events = run(items, engine, made={folder / "b.png": "made before"})
    assert trace(events)[:4] == ["planned", "start 0", "ok 0", "start 1"]
    assert [e.item.file_name for e in events if isinstance(e, ItemStarted)] == ["b.png", "a.png", "c.png"]
    assert engine.submitted == ["a.png", "c.png"]
    assert (folder / "b.txt").read_text(encoding="utf-8") == "made before\n"
    planned = events[0]
    assert isinstance(planned, JobPlanned) and (planned.total, planned.to_caption) == (3, 3)
    assert summary(events).captioned == 3


@pytest.mark.parametrize("overwrite", [False, True])
def test_images_with_a_caption_are_skipped_unless_overwrite(tmp_path: Path, overwrite: bool) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"])
    (folder / "b.txt").write_text("written by hand\n", encoding="utf-8")
    (folder / "c.txt").write_text("  \n", encoding="utf-8")  # empty: no caption yet
    events = run(items, engine, options(overwrite=overwrite))
    skipped = [e for e in events if isinstance(e, ItemSkipped)]
    planned = events[0]
    assert isinstance(planned, JobPlanned)
    if overwrite:
        assert not skipped and engine.submitted == ["a.png", "b.png", "c.png"]
        assert (folder / "b.txt").read_text(encoding="utf-8") == "b.png caption\n"
        assert planned.to_caption == 3
    else:
        assert [(e.item.file_name, e.record.caption, e.sidecar) for e in skipped] == [
            ("b.png", "written by hand", folder / "b.txt")]
        assert engine.submitted == ["a.png", "c.png"] and planned.to_caption == 2
        assert starts(events) == [0, 1]  # indexes count the images to caption
        assert (summary(events).captioned, summary(events).skipped) == (2, 1)


def test_a_name_clash_is_reported_and_each_image_keeps_its_own_caption(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.jpg", "a.png"])
    events = run(items, engine)
    planned = events[0]
    assert isinstance(planned, JobPlanned) and len(planned.clashes) == 1
    assert planned.clashes[0].sidecars == ("a.txt", "a.png.txt")
    assert (folder / "a.txt").read_text(encoding="utf-8") == "a.jpg caption\n"
    assert (folder / "a.png.txt").read_text(encoding="utf-8") == "a.png caption\n"


def test_without_sidecars_nothing_is_written_and_no_clash_is_reported(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.jpg", "a.png"])
    events = run(items, engine, options(write_sidecars=False))
    planned = events[0]
    assert isinstance(planned, JobPlanned) and planned.clashes == ()
    assert all(e.ok and e.sidecar is None and e.record.caption for e in finished(events).values())
    assert not list(folder.glob("*.txt"))


def test_captions_go_under_the_caption_folder_when_one_is_set(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "sub/b.png"])
    events = run(items, engine, options(caption_folder=str(tmp_path / "captions")))
    done = finished(events)
    assert done["sub/b.png"].sidecar == tmp_path / "captions" / "photos" / "sub" / "b.txt"
    assert (tmp_path / "captions" / "photos" / "a.txt").read_text(encoding="utf-8") == "a.png caption\n"
    assert not list(folder.rglob("*.txt"))


def test_a_read_only_folder_stops_the_job_before_any_caption(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png"])
    fail_writes(monkeypatch, folder, errno.EACCES)
    events = run(items, engine)
    assert trace(events) == ["planned", "end"]
    job = summary(events)
    assert job.cannot_save is not None and job.cannot_save.problem == "read_only"
    assert not job.cancelled and (job.captioned, job.failed) == (0, 0)
    assert engine.submitted == []


def test_a_full_disk_mid_job_stops_it_and_keeps_the_caption_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, items, folder = setup(tmp_path, FIVE, parallel=2)
    fail_writes(monkeypatch, folder, errno.ENOSPC, after=2)  # the probe and a's caption get through
    events = run(items, engine)
    done = finished(events)
    assert done["a.png"].ok and (folder / "a.txt").exists()
    b = done["b.png"]
    assert b.unsaved and b.record.caption == "b.png caption" and "caption made but not saved" in b.record.error
    assert list(done) == ["a.png", "b.png"]
    assert engine.abandoned == ["c.png"]  # in flight when the disk filled: not made in vain any longer
    job = summary(events)
    assert job.cannot_save is b.save_error and not job.cancelled
    assert (job.captioned, job.failed) == (1, 1)


def test_a_save_error_of_one_file_fails_only_that_image(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"], parallel=2)
    (folder / "b.txt").mkdir()  # b's sidecar cannot be written, the folder can
    events = run(items, engine)
    done = finished(events)
    # Failed, its caption kept in the record; not "unsaved": saving it again would fail the same way.
    assert not done["b.png"].unsaved and done["b.png"].save_error is not None
    assert done["b.png"].record.caption == "b.png caption" and "could not be written" in done["b.png"].record.error
    assert done["a.png"].ok and done["c.png"].ok
    job = summary(events)
    assert job.cannot_save is None and job.complete and (job.captioned, job.failed) == (2, 1)


def test_a_caption_made_before_that_cannot_be_saved_stops_the_job_before_captioning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, items, folder = setup(tmp_path, ["a.png", "b.png", "c.png"])
    fail_writes(monkeypatch, folder, errno.ENOSPC, after=1)  # the probe gets through
    events = run(items, engine, made={folder / "a.png": "made before", folder / "b.png": "also"})
    assert trace(events) == ["planned", "start 0", "failed 0", "end"]
    assert summary(events).cannot_save is not None and engine.submitted == []


# --- reading ahead --------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the images the job reads, in the order the read-ahead thread reads them."""
    names: list[str] = []

    def recording(path: Path, max_pixels: int) -> PreparedImage:
        names.append(path.name)
        return load_image(path, max_pixels)

    monkeypatch.setattr(readahead, "load_image", recording)
    return names


def test_images_are_read_ahead_on_a_thread_as_many_as_the_engine_takes(
    tmp_path: Path, read: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class Recording(ThreadPoolExecutor):
        """The read-ahead's one thread, noting each read asked of it as it is asked."""

        def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
            path = args[0]
            assert isinstance(path, Path)
            asked.append(path.name)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(readahead, "ThreadPoolExecutor", Recording)
    engine, items, _ = setup(tmp_path, [f"p{i}.png" for i in range(8)], parallel=3)
    job = run_job(items, options(), engine)
    assert isinstance(next(job), JobPlanned) and read == []
    assert next(job) == ItemStarted(0, items[0])
    # Asked before the image is started: the first image and the three after it, no more.
    assert asked == ["p0.png", "p1.png", "p2.png", "p3.png"]
    wait_until(lambda: len(read) == 4)  # read on the thread while the job waits at this yield
    assert read == asked
    events = list(job)
    assert summary(events).captioned == 8
    assert read == [f"p{i}.png" for i in range(8)]  # each once


def test_every_image_is_read_once_even_when_tried_again(tmp_path: Path, read: list[str]) -> None:
    engine, items, _ = setup(tmp_path, FIVE, parallel=3, scripts={"a.png": Script(crashes=1)})
    events = run(items, engine)
    assert sorted(read) == list(FIVE) and summary(events).captioned == 5


# --- what the engine client hands the scheduler ---------------------------------------------------


def test_the_clients_replies_are_its_own_types_with_failures_as_exceptions() -> None:
    stats = CaptionStats(1, 2, 3, 4, 0.0, 0.0, 5, 0.0, 0.0, "stop", 0)
    output = CaptionOutput("text", stats, "")
    assert _caption_reply(7, Piece(7, "te")) == CaptionText(7, "te")
    assert _caption_reply(7, Finished(7, output)) == CaptionDone(7, output)
    failed = _caption_reply(7, Failed(7, FAIL_PROMPT_TOO_LONG, "lower the image budget"))
    assert isinstance(failed, CaptionFailed) and failed.request_id == 7
    assert isinstance(failed.error, PromptTooLongError) and str(failed.error) == "lower the image budget"
    other = _caption_reply(8, Failed(8, "something new", "it broke"))
    assert isinstance(other, CaptionFailed) and type(other.error) is EngineError


def test_images_after_the_engine_is_given_up_on_are_never_read(tmp_path: Path, read: list[str]) -> None:
    names = [f"p{i}.png" for i in range(12)]
    engine, items, _ = setup(tmp_path, names, scripts=dict.fromkeys(names[:2], POISON))
    events = run(items, engine, options(max_consecutive_crashes=2))
    errors = [e.record.error for e in finished(events).values()]
    assert errors[2:] == ["not captioned: the engine crashed on 2 images in a row"] * 10
    # The two that crashed, and at most the one read ahead of them; not the ten given up on.
    assert read[:2] == ["p0.png", "p1.png"] and len(read) <= 3


def test_an_image_whose_caption_file_links_out_of_its_folder_fails_before_it_is_captioned(tmp_path: Path) -> None:
    """Nothing is written through such a link (``core/atomic.py``), so captioning the image would be time lost."""
    engine, items, folder = setup(tmp_path, ("a.png", "b.png"))
    secret = tmp_path / "secret.txt"
    secret.write_text("not a caption\n", encoding="utf-8")
    (folder / "a.txt").symlink_to(Path("..") / "secret.txt")
    events = run(items, engine, options(overwrite=True))
    assert engine.submitted == ["b.png"]
    failed = finished(events)["a.png"]
    assert not failed.ok and "a.txt is a link to" in failed.record.error and "outside its folder" in failed.record.error
    assert finished(events)["b.png"].ok and sorted(starts(events)) == [0, 1]
    assert summary(events).failed == 1 and summary(events).captioned == 1
    assert secret.read_text(encoding="utf-8") == "not a caption\n" and (folder / "a.txt").is_symlink()
