"""Captions decoded side by side: same text as alone, interleaved streams, crashes, cancels and pauses.

Real engine processes on the tiny synthetic model; a "parallel=1" engine is the one-at-a-time reference.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from caprl_desktop.core.engine._llama.parallel import CPU_MAX_SEQUENCES, KV_SHARE, choose_sequences, kv_bytes_per_token
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionText
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import (
    EngineRestarted,
    ItemFinished,
    ItemStarted,
    ItemText,
    JobEvent,
    JobFinished,
    JobPlanned,
)
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, GenerationParams
from caprl_desktop.core.prompts import build_prompt
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config

PROMPT = build_prompt("en")


@pytest.fixture(scope="module")
def side_by_side(models: ModelFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    with EngineClient(engine_config(models, parallel=4), log_dir=tmp_path_factory.mktemp("logs")) as client:
        client.start()
        yield client


@pytest.fixture(scope="module")
def one_at_a_time(models: ModelFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    with EngineClient(engine_config(models, parallel=1), log_dir=tmp_path_factory.mktemp("logs")) as client:
        client.start()
        yield client


def images(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    # Different sizes: different token counts, so the sequences sit at different positions.
    return [save_noise(folder / f"p{i}.png", 120 + 17 * i, 90 + 5 * i, seed=first_seed + i) for i in range(count)]


def options(tmp: Path | None = None, **changes: object) -> JobOptions:
    values: dict[str, object] = {"prompt": PROMPT, "image_budget": TEST_BUDGET, "model_label": "tiny",
                                 "params": GenerationParams(max_tokens=48, seed=11, ignore_eos=True)}
    values.update(changes)
    return JobOptions(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_side_by_side_gives_the_same_text_as_one_at_a_time(
    side_by_side: EngineClient, one_at_a_time: EngineClient, tmp_path: Path, temperature: float
) -> None:
    assert side_by_side.parallel == 4 and one_at_a_time.parallel == 1
    prepared = [load_image(p, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE)) for p in images(tmp_path, 6)]
    params = GenerationParams(max_tokens=40, temperature=temperature, seed=1234, ignore_eos=True)

    alone = []
    for image in prepared:
        *_, last = one_at_a_time.caption(image, PROMPT, params)
        assert isinstance(last, CaptionDone)
        alone.append(last.output.text)

    # Six requests for four sequences: two wait in the engine's queue and start when a sequence frees.
    ids = [side_by_side.submit(image, PROMPT, params) for image in prepared]
    texts: dict[int, str] = {rid: "" for rid in ids}
    order: list[int] = []
    outputs: dict[int, str] = {}
    while len(outputs) < len(ids):
        reply = side_by_side.next_reply()
        assert not isinstance(reply, CaptionFailed), reply
        if isinstance(reply, CaptionText):
            texts[reply.request_id] += reply.text
            order.append(reply.request_id)
        else:
            assert isinstance(reply, CaptionDone), reply  # a local engine never restarts a caption
            outputs[reply.request_id] = reply.output.text
            assert reply.output.stats.output_tokens == 40
    assert [outputs[rid] for rid in ids] == alone
    assert [texts[rid].strip() for rid in ids] == alone
    # Really side by side: the first caption's pieces are interleaved with others'.
    first_done = max(i for i, rid in enumerate(order) if rid == ids[0])
    assert set(order[: first_done + 1]) >= set(ids[:4])


def test_a_job_keeps_several_in_flight_and_a_broken_image_fails_alone(
    side_by_side: EngineClient, one_at_a_time: EngineClient, tmp_path: Path
) -> None:
    folder = tmp_path / "フォルダ"
    paths = images(folder, 7)
    (folder / "p3.png").write_bytes(b"not a png")
    items, _ = find_images([folder])
    events = list(run_job(items, options(), side_by_side))

    finished = {e.item.file_name: e for e in events if isinstance(e, ItemFinished)}
    assert not finished["p3.png"].ok and "p3.png" in finished["p3.png"].record.error
    assert all(finished[p.name].ok for p in paths if p.name != "p3.png")
    summary = events[-1]
    assert isinstance(summary, JobFinished) and (summary.captioned, summary.failed) == (6, 1)
    # Streams interleave: texts of one caption arrive between another's start and finish.
    running: set[int] = set()
    most = 0
    for event in events:
        if isinstance(event, ItemStarted):
            running.add(event.index)
        elif isinstance(event, ItemFinished):
            running.discard(event.index)
        most = max(most, len(running))
    assert most == 4
    assert max(e.others_running for e in finished.values()) == 3

    # Same sidecars as a one-at-a-time job with the same seed.
    side_texts = {p.name: p.with_suffix(".txt").read_text(encoding="utf-8") for p in paths if p.name != "p3.png"}
    again = list(run_job(items, options(overwrite=True), one_at_a_time))
    assert isinstance(again[-1], JobFinished) and again[-1].captioned == 6
    assert side_texts == {name: (folder / name).with_suffix(".txt").read_text(encoding="utf-8") for name in side_texts}


def test_closing_a_job_cancels_every_caption_in_flight_and_the_engine_goes_on(
    side_by_side: EngineClient, tmp_path: Path
) -> None:
    items, _ = find_images([images(tmp_path / "x", 6)[0].parent])
    job = run_job(items, options(params=GenerationParams(max_tokens=200, ignore_eos=True)), side_by_side)
    started = 0
    for event in job:
        started += isinstance(event, ItemStarted)
        if isinstance(event, ItemText) and started == 4:
            break
    job.close()
    assert not list((tmp_path / "x").glob("*.txt"))
    # The pipe is in step: the next caption gets its own replies only.
    image = load_image(items[0].path, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE))
    *_, last = side_by_side.caption(image, PROMPT, GenerationParams(max_tokens=5, ignore_eos=True))
    assert isinstance(last, CaptionDone) and last.output.stats.output_tokens == 5


def test_cancel_from_another_thread_ends_the_job_as_cancelled(side_by_side: EngineClient, tmp_path: Path) -> None:
    items, _ = find_images([images(tmp_path / "y", 6)[0].parent])
    events: list[JobEvent] = []
    for event in run_job(items, options(params=GenerationParams(max_tokens=400, ignore_eos=True)), side_by_side):
        events.append(event)
        if isinstance(event, ItemText) and len(events) == 12:
            side_by_side.cancel()  # what the window's Stop does, from the GUI thread
    summary = events[-1]
    assert isinstance(summary, JobFinished) and summary.cancelled and summary.captioned == 0
    assert not list((tmp_path / "y").glob("*.txt"))


def test_hold_lets_captions_in_flight_finish_and_starts_no_more(side_by_side: EngineClient, tmp_path: Path) -> None:
    items, _ = find_images([images(tmp_path / "z", 8)[0].parent])
    pause = threading.Event()
    events: list[JobEvent] = []
    for event in run_job(items, options(), side_by_side, hold=pause.is_set):
        events.append(event)
        if isinstance(event, ItemStarted) and event.index == 1:
            pause.set()  # the user pressed Pause while two were in flight
    started = {e.index for e in events if isinstance(e, ItemStarted)}
    finished = [e for e in events if isinstance(e, ItemFinished)]
    assert started == {0, 1} and len(finished) == 2 and all(e.ok for e in finished)
    assert finished[-1].others_running == 0
    summary = events[-1]
    assert isinstance(summary, JobFinished) and summary.cancelled and summary.captioned == 2


def test_a_crash_with_several_in_flight_retries_each_alone(models: ModelFiles, tmp_path: Path) -> None:
    folder = tmp_path / "crash"
    images(folder, 5)
    items, _ = find_images([folder])
    events: list[JobEvent] = []
    with EngineClient(engine_config(models, parallel=3), log_dir=tmp_path / "logs") as engine:
        engine.start()
        killed = False
        in_flight: set[int] = set()
        for event in run_job(items, options(params=GenerationParams(max_tokens=300, ignore_eos=True)), engine):
            events.append(event)
            if isinstance(event, ItemStarted):
                in_flight.add(event.index)
            if isinstance(event, ItemText) and len(in_flight) == 3 and not killed:
                assert engine.pid is not None
                os.kill(engine.pid, signal.SIGKILL)
                killed = True
    assert sum(isinstance(e, EngineRestarted) for e in events) == 1
    starts = [e.index for e in events if isinstance(e, ItemStarted)]
    assert starts[:3] == [0, 1, 2] and starts[3:6] == [0, 1, 2]  # the three suspects again, one by one
    summary = events[-1]
    assert isinstance(summary, JobFinished) and (summary.captioned, summary.failed) == (5, 0)
    assert len(list(folder.glob("*.txt"))) == 5


@pytest.mark.parametrize("parallel", [1, 3])
def test_an_engine_that_died_between_captions_is_restarted(
    models: ModelFiles, tmp_path: Path, parallel: int
) -> None:
    folder = tmp_path / "idle-death"
    images(folder, 4)
    items, _ = find_images([folder])
    with EngineClient(engine_config(models, parallel=parallel), log_dir=tmp_path / "logs") as engine:
        engine.start()
        events: list[JobEvent] = []
        for event in run_job(items, options(), engine):
            events.append(event)
            if len(events) == 1:  # planned, nothing sent yet: killed while idle
                assert isinstance(event, JobPlanned) and engine.pid is not None
                os.kill(engine.pid, signal.SIGKILL)
                wait_until(lambda: not engine.running)  # gone before the job sends its first image
    assert sum(isinstance(e, EngineRestarted) for e in events) == 1
    kinds = [type(e) for e in events]
    assert kinds.index(EngineRestarted) < kinds.index(ItemFinished)  # restarted before any caption was made
    summary = events[-1]
    assert isinstance(summary, JobFinished) and (summary.captioned, summary.failed) == (4, 0)


def test_more_requests_than_sequences_and_a_cancelled_queued_one(side_by_side: EngineClient, tmp_path: Path) -> None:
    prepared = [load_image(p, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE)) for p in images(tmp_path, 6)]
    params = GenerationParams(max_tokens=30, ignore_eos=True)
    ids = [side_by_side.submit(image, PROMPT, params) for image in prepared]
    side_by_side.abandon([ids[5]])  # still queued in the engine: answered as cancelled
    ends: dict[int, CaptionDone] = {}
    while len(ends) < 5:
        reply = side_by_side.next_reply()
        if isinstance(reply, CaptionDone):
            ends[reply.request_id] = reply
    assert sorted(ends) == ids[:5]
    assert all(r.output.stats.finish_reason == "length" for r in ends.values())


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)


def wait_until_pipe_full(engine: EngineClient, timeout: float = 60.0) -> None:
    """Until the engine process stops writing for a second: the pipe's buffers are full and its sending waits."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        now, written = time.monotonic(), bytes_written(engine)
        if written != last:
            last, since = written, now
        elif written > 4096 and now - since >= 1.0:
            return
        assert now < deadline, f"the engine did not stop writing ({written} bytes written)"
        time.sleep(0.05)


def bytes_written(engine: EngineClient) -> int:
    """Bytes the engine process has written so far (its replies, mostly), from Linux's /proc/PID/io."""
    assert engine.pid is not None
    io = Path(f"/proc/{engine.pid}/io").read_text()
    return int(next(line.split()[1] for line in io.splitlines() if line.startswith("wchar:")))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="reads what the engine wrote in /proc/PID/io")
@pytest.mark.timeout(120)
def test_a_large_image_sent_while_replies_pile_up_does_not_deadlock(
    side_by_side: EngineClient, tmp_path: Path
) -> None:
    """The app busy (reading an image, say) while captions stream: the engine's replies fill the pipe. Sending it
    a large image then must not wait for ever on an engine that waits for the app to read."""
    small = load_image(images(tmp_path, 1)[0], TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE))
    ids = [side_by_side.submit(small, PROMPT, GenerationParams(max_tokens=3000, ignore_eos=True)) for _ in range(3)]
    # Not reading: pieces pile up until the pipe is full and the engine's sending waits (nothing more arrives).
    wait_until_pipe_full(side_by_side)
    big_path = save_noise(tmp_path / "big.png", 1600, 1600, seed=9)
    big = load_image(big_path, 1600 * 1600)  # 7.7 MB of pixels in one message; the engine scales it down
    rid = side_by_side.submit(big, PROMPT, GenerationParams(max_tokens=5, ignore_eos=True))
    side_by_side.abandon(ids)
    while True:
        reply = side_by_side.next_reply()
        if isinstance(reply, CaptionDone) and reply.request_id == rid:
            break
    assert reply.output.stats.output_tokens == 5 and reply.output.stats.image_tokens <= TEST_BUDGET.max_tokens


def test_sequences_are_sized_from_memory() -> None:
    per_token = kv_bytes_per_token(n_layer=36, n_head_kv=2, head_dim=128)
    assert per_token == 36 * 1024  # CapRL-3B: 36 KiB of f16 K and V per token
    per_sequence = per_token * 3584
    gib = 1024**3
    assert choose_sequences(None, gpu=False, free_bytes=16 * gib, per_sequence_bytes=per_sequence) == CPU_MAX_SEQUENCES
    assert choose_sequences(None, gpu=True, free_bytes=16 * gib, per_sequence_bytes=per_sequence) > CPU_MAX_SEQUENCES
    little = int(3 * per_sequence / KV_SHARE)
    assert choose_sequences(None, gpu=False, free_bytes=little, per_sequence_bytes=per_sequence) == 3
    assert choose_sequences(12, gpu=False, free_bytes=little, per_sequence_bytes=per_sequence) == 3
    assert choose_sequences(None, gpu=False, free_bytes=0, per_sequence_bytes=per_sequence) == 1
    assert choose_sequences(5, gpu=False, free_bytes=None, per_sequence_bytes=per_sequence) == 5
