"""Captions through OpenAI-compatible servers: real llama-cpp-python servers, and a stand-in that fails on purpose.

Every test speaks HTTP on 127.0.0.1 to a server this test started: llama-cpp-python's own
``llama_cpp.server`` with the generated model (its ``server`` extra, which the test extra installs), or
``StandInServer`` for the failures a real server gives only by chance (429, 500, a stream cut short).
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.info import ServerStats
from caprl_desktop.core.engine.remote.servers import ServerAddressError, parse_server, shown_url
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionRestarted, CaptionText
from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.images.loading import PreparedImage, load_image
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, GenerationParams, ImageBudget
from caprl_desktop.core.prompts import build_prompt
from tests.support.cli import REPO
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config
from tests.support.servers import LlamaServer, StandInServer

PROMPT = build_prompt("en")


@pytest.fixture
def stand_ins() -> Iterator[tuple[StandInServer, StandInServer]]:
    first, second = StandInServer("first-model").start(), StandInServer("second-model").start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def llama_servers(models: ModelFiles, tmp_path: Path) -> Iterator[list[LlamaServer]]:
    servers = [LlamaServer(models, tmp_path / f"server-{i}.log") for i in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def qwen3vl_server(qwen3vl_models: ModelFiles, tmp_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(qwen3vl_models, tmp_path / "qwen3vl-server.log")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def until_done(engine: RemoteEngine, count: int) -> list[CaptionReply]:
    replies: list[CaptionReply] = []
    ended = 0
    while ended < count:
        reply = engine.next_reply()
        replies.append(reply)
        ended += isinstance(reply, CaptionDone | CaptionFailed)
    return replies


def photo(tmp_path: Path, seed: int = 1) -> PreparedImage:
    return load_image(save_noise(tmp_path / f"p{seed}.png", 160, 120, seed=seed), TEST_BUDGET.max_pixels(28))


# --- addresses --------------------------------------------------------------------------------


def test_addresses_take_a_count_and_never_show_credentials() -> None:
    server = parse_server("http://gpu-box:8000#8")
    assert (server.url, server.slots) == ("http://gpu-box:8000/v1", 8)
    assert shown_url("http://me:s3cret@gpu-box:8000/v1") == "http://gpu-box:8000/v1"
    assert not server.local and not server.encrypted
    assert parse_server("http://127.0.0.1:8080/v1/").local and parse_server("https://x.example/v1").encrypted
    assert shown_url("https://h/v1?api_key=abc") == "https://h/v1"
    assert parse_server("gpu-box:8000").url == "http://gpu-box:8000/v1"  # no scheme: http, as typed in a dialog
    for bad in ("ftp://h/v1", "http://h/v1#0", "http://h/v1#many", "http://me:s3cret@h/v1"):
        with pytest.raises(ServerAddressError):
            parse_server(bad)


# --- failures, on the stand-in --------------------------------------------------------------


def test_a_busy_or_failing_server_hands_the_caption_to_the_other(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    first, second = stand_ins
    first.script.answers = ["429", "500"]
    with RemoteEngine([parse_server(first.url + "#1"), parse_server(second.url + "#1")], backoff_s=0.01) as engine:
        info = engine.start()
        assert info.parallel == 2 and {s.model for s in info.servers} == {"first-model", "second-model"}
        ids = [engine.submit(photo(tmp_path, i), PROMPT, GenerationParams(max_tokens=8, seed=i))
               for i in range(2)]
        replies = until_done(engine, 2)
    done = {r.request_id: r for r in replies if isinstance(r, CaptionDone)}
    assert set(done) == set(ids)  # each caption made once, whichever server failed
    assert {d.output.text for d in done.values()} == {"A stand-in caption."}
    assert all(d.output.stats.engine.startswith("http://127.0.0.1:") for d in done.values())
    sent = first.script.seen + second.script.seen
    assert all(body["stream"] is True and body["seed"] in (0, 1) for body in sent)
    image_part = sent[0]["messages"][-1]["content"][0]  # type: ignore[index]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_stream_cut_mid_caption_restarts_it_elsewhere_and_voids_the_text(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    first, second = stand_ins
    first.script.answers = ["cut"]
    second.script.answers = ["429"] * 1  # the first try elsewhere is refused too; the one after works
    with RemoteEngine([parse_server(first.url + "#1"), parse_server(second.url + "#1")], backoff_s=0.01) as engine:
        engine.start()
        rid = engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=3))
        replies = until_done(engine, 1)
    kinds = [type(r).__name__ for r in replies]
    assert kinds.count("CaptionRestarted") == 1 and kinds[-1] == "CaptionDone"
    restart = kinds.index("CaptionRestarted")
    after = "".join(r.text for r in replies[restart:] if isinstance(r, CaptionText))
    assert after == "A stand-in caption."  # what a viewer shows after the restart: the caption once
    assert "".join(r.text for r in replies[:restart] if isinstance(r, CaptionText)) == "A stand-in "
    restarted = replies[restart]
    assert isinstance(restarted, CaptionRestarted) and restarted.request_id == rid
    assert first.url.removesuffix("/v1") in restarted.reason


def test_a_server_that_keeps_failing_leaves_the_rotation_and_comes_back(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = stand_ins
    first.script.answers = ["500"] * 3  # then it answers again
    with RemoteEngine([parse_server(first.url + "#1")], backoff_s=0.01, probe_s=0.2) as engine:
        engine.start()
        engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=1))
        replies = until_done(engine, 1)
        [stats] = engine.server_stats()
    assert isinstance(replies[-1], CaptionDone) and first.script.requests == 4
    assert (stats.made, stats.in_rotation, stats.failures_in_row) == (1, True, 0)
    said = caplog.text
    assert "left the rotation after 3 failures in a row" in said and "back in the rotation" in said
    assert said.index("left the rotation") < said.index("back in the rotation")


def test_stop_ends_every_caption_as_cancelled_with_no_reply_left_waiting(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    first, second = stand_ins
    first.script.delay_s = second.script.delay_s = 0.5
    second.script.answers = ["500"]  # this one is in its back-off when Stop comes
    with RemoteEngine([parse_server(first.url + "#1"), parse_server(second.url + "#1")], backoff_s=2.0) as engine:
        engine.start()
        ids = [engine.submit(photo(tmp_path, i), PROMPT, GenerationParams(max_tokens=8, seed=i)) for i in range(3)]
        first_piece = engine.next_reply()
        assert isinstance(first_piece, CaptionText)
        engine.cancel()
        replies = until_done(engine, 3)
    ends = {r.request_id: r for r in replies if isinstance(r, CaptionDone)}
    assert set(ends) == set(ids)  # running, waiting and backing off: each ends, none is left to wait for
    assert {e.output.stats.finish_reason for e in ends.values()} == {"cancelled"}


def test_a_request_the_server_refuses_fails_at_once_and_the_server_stays(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    """A 400 (an image too large for its context, say) would fail the same way anywhere: no retries."""
    first, _ = stand_ins
    first.script.answers = ["400"]
    with RemoteEngine([parse_server(first.url + "#1")], backoff_s=0.01) as engine:
        engine.start()
        engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=1))
        [reply] = until_done(engine, 1)
        [stats] = engine.server_stats()
    assert isinstance(reply, CaptionFailed) and "refused it: HTTP 400" in str(reply.error)
    assert first.script.requests == 1 and stats.in_rotation and stats.failures_in_row == 0


def test_a_server_that_answers_but_fails_every_caption_cannot_hold_the_job(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    first, _ = stand_ins
    first.script.answers = ["500"] * 1000  # /v1/models answers, so it keeps coming back into the rotation
    with RemoteEngine([parse_server(first.url + "#1")], backoff_s=0.01, probe_s=0.05) as engine:
        engine.start()
        engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=1))
        [reply] = until_done(engine, 1)
    assert isinstance(reply, CaptionFailed) and "no server could caption it in 5 tries" in str(reply.error)


def test_stop_before_the_first_piece_ends_the_caption_at_once(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    """A server still encoding a large image sends nothing for a long time; Stop must not wait for it."""
    first, _ = stand_ins
    first.script.first_delay_s = 8.0
    with RemoteEngine([parse_server(first.url + "#1")]) as engine:
        engine.start()
        engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=1))
        deadline = time.monotonic() + 10
        while not first.script.requests:  # the server has the image and is "encoding" it: nothing comes back
            assert time.monotonic() < deadline
            time.sleep(0.005)
        stopped = time.monotonic()
        engine.cancel()
        [reply] = until_done(engine, 1)
    assert time.monotonic() - stopped < 2.0
    assert isinstance(reply, CaptionDone) and reply.output.stats.finish_reason == "cancelled"


def test_with_no_server_left_the_captions_fail_with_the_reason(tmp_path: Path) -> None:
    gone = StandInServer().start()
    try:
        with RemoteEngine([parse_server(gone.url)], backoff_s=0.01, probe_s=0.1, give_up_s=0.5) as engine:
            engine.start()
            gone.script.down = True  # answered at the start, hangs up on everything from now on
            engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8, seed=1))
            replies = until_done(engine, 1)
    finally:
        gone.stop()
    reply = replies[-1]
    assert isinstance(reply, CaptionFailed), replies
    assert "no caption server answers" in str(reply.error) and "resume" in str(reply.error)


def test_no_server_answering_at_the_start_is_said(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"no caption server answers \(http://127.0.0.1:9/v1: cannot be reached"):
        RemoteEngine([parse_server("http://127.0.0.1:9")]).start()


def test_saved_servers_and_an_api_key_the_app_never_writes_down(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path, isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = stand_ins
    secret = "sk-caprl-test-7f3a9c1e5b2d"
    monkeypatch.setenv("CAPRL_TEST_KEY", secret)
    assert main(["engines", "add", "box", first.url + "#2", "--api-key-env", "CAPRL_TEST_KEY"]) == 0
    assert main(["engines", "list"]) == 0
    listed = capsys.readouterr().out
    assert "box" in listed and "answers, serving first-model" in listed and "$CAPRL_TEST_KEY" in listed
    assert main(["doctor"]) == 0
    doctor = capsys.readouterr().out
    assert "[servers]" in doctor and f"box: {first.url}, 2 at a time, key from $CAPRL_TEST_KEY: answers" in doctor
    folder = tmp_path / "photos"
    for i in range(3):
        save_noise(folder / f"p{i}.png", 120, 90, seed=i)
    exports = [tmp_path / "out.csv", tmp_path / "out.jsonl"]
    assert main(["caption", str(folder), "--engine", "box", "--csv", str(exports[0]), "--jsonl", str(exports[1]),
                 "--csv-columns", "full", "--max-tokens", "8"]) == 0
    assert first.script.authorization == [f"Bearer {secret}"] * 3  # sent to the server it is for
    written = [p for root in (isolated_home, folder, tmp_path) for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"jobs.sqlite3", "engines.json", "out.csv", "out.jsonl", "p0.txt"} <= names, names
    leaked = [p for p in written if secret.encode() in p.read_bytes()]
    assert leaked == []  # not in the saved list, the journal, the exports, the sidecars or the logs
    assert main(["engines", "remove", "box"]) == 0
    assert main(["engines", "list"]) == 0
    assert "No servers saved" in capsys.readouterr().out
    assert main(["caption", str(folder), "--engine", "box", "--overwrite"]) != 0
    assert "no saved server is called 'box'" in capsys.readouterr().err


def test_a_redirect_is_not_followed_and_the_image_goes_nowhere_else(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path
) -> None:
    first, elsewhere = stand_ins
    first.script.answers = ["307"]
    first.script.redirect_to = elsewhere.url + "/chat/completions"
    with RemoteEngine([parse_server(first.url + "#1")], backoff_s=0.01) as engine:
        engine.start()
        engine.submit(photo(tmp_path), PROMPT, GenerationParams(max_tokens=8))
        [reply] = until_done(engine, 1)
        [stats] = engine.server_stats()
    assert isinstance(reply, CaptionFailed)
    assert f"redirected elsewhere to {elsewhere.url}/chat/completions (HTTP 307)" in str(reply.error)
    assert elsewhere.script.requests == 0 and first.script.requests == 1  # not followed, not tried again
    assert stats.in_rotation and stats.failures_in_row == 0


# --- captions at a time, found out --------------------------------------------------------------


def measure(server: StandInServer, tmp_path: Path, count: int) -> ServerStats:
    """Caption ``count`` times on ``server`` given without #N; its stats once all are made."""
    with RemoteEngine([parse_server(server.url)]) as engine:
        engine.start()
        image = photo(tmp_path)
        for i in range(count):
            engine.submit(image, PROMPT, GenerationParams(max_tokens=8, seed=i))
        replies = until_done(engine, count)
        [stats] = engine.server_stats()
    assert sum(isinstance(r, CaptionDone) for r in replies) == count
    return stats


def test_a_servers_captions_at_a_time_are_measured_from_its_first_replies(tmp_path: Path) -> None:
    """A server that makes 3 captions at a time (the rest wait in its queue): two at once start as fast as one,
    so the engine tries four; the fourth's first piece comes a caption late, so it keeps three."""
    server = StandInServer("three-slots").start()
    server.script.slots = 3
    server.script.pieces = ("One ", "caption ", "of ", "eight ", "pieces ", "from ", "the ", "server.")
    server.script.delay_s = 0.15  # a caption takes 1.2 s: a queued one waits that long for its first piece
    try:
        stats = measure(server, tmp_path, 12)
    finally:
        server.stop()
    assert (stats.slots, stats.measuring, stats.made) == (3, False, 12)
    assert server.script.most_streaming == 3


def test_a_one_caption_server_whose_image_encoding_is_most_of_a_caption_is_measured_at_one(tmp_path: Path) -> None:
    """A CPU server: the first piece comes after most of the caption's time (the image's encoding), so a
    queued caption's first piece is only about twice as late as the quickest; it is still seen as queued."""
    server = StandInServer("cpu-server").start()
    server.script.slots = 1
    server.script.first_delay_s, server.script.delay_s = 0.6, 0.05  # 0.8 s a caption, 0.65 s of it before a word
    try:
        stats = measure(server, tmp_path, 6)
    finally:
        server.stop()
    assert (stats.slots, stats.measuring, stats.made) == (1, False, 6)


def test_a_server_that_answers_busy_beyond_its_slots_settles_them_and_stays_in_rotation(tmp_path: Path) -> None:
    """Doubling from 2 to 4 sends a burst; the server makes 3 and answers 429 to the rest. Those captions wait
    for a free place (not counted as the server failing, nor against the caption), and the number settles."""
    server = StandInServer("busy-beyond-three").start()
    server.script.slots, server.script.busy_429 = 3, True
    server.script.pieces = ("One ", "caption ", "of ", "four.")
    server.script.delay_s = 0.1
    try:
        stats = measure(server, tmp_path, 16)
    finally:
        server.stop()
    assert (stats.slots, stats.measuring, stats.made) == (3, False, 16)
    assert stats.in_rotation and stats.failures_in_row == 0
    assert server.script.requests > 16  # some were answered 429, and made later


def test_llama_server_says_its_slots_and_nothing_is_measured(tmp_path: Path) -> None:
    server = StandInServer("llama-server").start()
    server.script.slots, server.script.says_slots = 5, True  # /props: total_slots, as llama-server answers
    try:
        with RemoteEngine([parse_server(server.url)]) as engine:
            info = engine.start()
            [stats] = engine.server_stats()
    finally:
        server.stop()
    assert info.servers[0].slots == 5 and info.parallel == 5
    assert (stats.slots, stats.measuring) == (5, False)


def test_a_number_given_with_the_address_is_kept(stand_ins: tuple[StandInServer, StandInServer],
                                                 tmp_path: Path) -> None:
    first, _ = stand_ins
    first.script.slots, first.script.says_slots = 2, True  # what it says does not overrule what the user gave
    with RemoteEngine([parse_server(first.url + "#6")]) as engine:
        assert engine.start().parallel == 6
        [stats] = engine.server_stats()
    assert (stats.slots, stats.measuring) == (6, False)


# --- real servers -----------------------------------------------------------------------------


def test_greedy_captions_from_a_server_equal_this_computers(
    qwen3vl_server: LlamaServer, qwen3vl_models: ModelFiles, tmp_path: Path
) -> None:
    """The same model, images and chat template: the server's words are the local engine's (CapRL 2.0's tiny
    pair, whose greedy captions differ from image to image)."""
    images = [load_image(save_noise(tmp_path / f"q{seed}.png", 320, 256, seed=seed), 1024 * 32 * 32)
              for seed in range(3)]
    params = GenerationParams(max_tokens=16, temperature=0.0, seed=1)
    served: dict[int, str] = {}
    with RemoteEngine([parse_server(qwen3vl_server.url + "#1")]) as remote:
        remote.start()
        ids = [remote.submit(image, PROMPT, params) for image in images]
        for reply in until_done(remote, len(ids)):
            if isinstance(reply, CaptionDone):
                served[reply.request_id] = reply.output.text
    # The app's default budget: at the tests' 64 tokens llama.cpp would scale these 80-token images down here only.
    with EngineClient(engine_config(qwen3vl_models, parallel=1, image_budget=ImageBudget(1024)),
                      log_dir=tmp_path) as local:
        local.start()
        for rid, image in zip(ids, images, strict=True):
            *_, last = local.caption(image, PROMPT, params)
            assert isinstance(last, CaptionDone)
            # llama-cpp-python drops bytes that are not UTF-8 where the app shows U+FFFD; it may add a token.
            mine = last.output.text.replace("\ufffd", "")
            assert mine and served[rid].startswith(mine), (mine, served[rid])
    assert len(set(served.values())) == len(images)


def test_a_folder_over_two_servers_with_one_killed_gets_every_caption_once(
    llama_servers: list[LlamaServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    paths = [save_noise(folder / f"img{i:02d}.png", 160, 120, seed=i) for i in range(8)]
    victim, survivor = llama_servers
    records = tmp_path / "records.jsonl"

    killed_at: list[float] = []

    def kill_after_first_caption() -> None:
        deadline = time.monotonic() + 120
        while not any(p.with_suffix(".txt").exists() for p in paths) and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.kill()
        killed_at.append(time.time())

    killer = threading.Thread(target=kill_after_first_caption)
    killer.start()
    code = main(["caption", str(folder), "--engine", victim.url + "#1", "--engine", survivor.url + "#1",
                 "--max-tokens", "8", "--seed", "5", "--image-max-tokens", "64", "--jsonl", str(records)])
    killer.join()
    err = capsys.readouterr().err
    assert code == 0, err
    # At the end, each server's share of the captions and its speed.
    shares = {line.split(": ")[0]: line for line in err.splitlines() if " tokens/s" in line}
    assert set(shares) == {shown_url(victim.url), shown_url(survivor.url)}, err
    # It really was killed during the run: captions were still being made after.
    assert killed_at and any(p.with_suffix(".txt").stat().st_mtime > killed_at[0] for p in paths)
    assert all(p.with_suffix(".txt").read_text(encoding="utf-8").strip() for p in paths)
    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    # each exactly once (named relative to the export's folder)
    assert sorted(r["file_name"] for r in rows) == sorted(p.relative_to(records.parent).as_posix() for p in paths)
    engines = [r["provenance"]["engine"] for r in rows]
    assert set(engines) <= {shown_url(victim.url), shown_url(survivor.url)}
    assert shown_url(survivor.url) in engines and all(r["provenance"]["engine_model"] for r in rows)
    assert rows[0]["provenance"]["backend"] == "server"


def test_image_budget_on_a_server_is_the_apps(stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path) -> None:
    """The image goes out as the app prepared it: scaled to the budget, PNG, whatever the server would do."""
    first, _ = stand_ins
    big = save_noise(tmp_path / "big.png", 1000, 800)
    with RemoteEngine([parse_server(first.url)]) as engine:
        engine.start()
        image = load_image(big, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE))
        engine.submit(image, PROMPT, GenerationParams(max_tokens=4, seed=1))
        until_done(engine, 1)
    url = first.script.seen[0]["messages"][-1]["content"][0]["image_url"]["url"]  # type: ignore[index]
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.format == "PNG" and sent.size == (image.width, image.height)
    assert sent.width * sent.height <= TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE)


def test_a_remote_run_killed_mid_folder_resumes_on_the_server_to_a_complete_result(
    stand_ins: tuple[StandInServer, StandInServer], tmp_path: Path, isolated_home: Path
) -> None:
    first, _ = stand_ins
    first.script.delay_s = 0.05  # each caption streams for a moment, so the kill lands mid-folder
    folder = tmp_path / "photos"
    images = [save_noise(folder / f"img{i:02d}.png", 100, 80, seed=i) for i in range(10)]
    sidecars = [p.with_suffix(".txt") for p in images]
    env = {**os.environ, "PYTHONPATH": str(REPO), "CAPRL_DESKTOP_HOME": str(isolated_home)}
    process = subprocess.Popen([sys.executable, "-m", "caprl_desktop.cli.main", "caption", str(folder),
                                "--engine", first.url + "#2", "--max-tokens", "8"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while sum(s.exists() for s in sidecars) < 3 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not after it finished
    done_before = {s: s.stat().st_mtime_ns for s in sidecars if s.exists()}
    assert 3 <= len(done_before) < len(images)
    requests_before = first.script.requests

    records = tmp_path / "resumed.jsonl"
    assert main(["caption", "--resume", str(folder), "--engine", first.url + "#2", "--jsonl", str(records)]) == 0
    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    # every image once (named relative to the export's folder)
    assert sorted(r["file_name"] for r in rows) == [p.relative_to(records.parent).as_posix() for p in images]
    assert all(s.read_text(encoding="utf-8").strip() == "A stand-in caption." for s in sidecars)
    for sidecar, mtime in done_before.items():  # what was done is not redone
        assert sidecar.stat().st_mtime_ns == mtime
    # Only the images without a caption went to the server again (those in flight at the kill among them).
    assert first.script.requests - requests_before == len(images) - len(done_before)
