"""The guards on captions made by a server: a stand-in that loops, or answers a Japanese request in English,
driven through the real command line, and the remote engine's stop of one caption among several.

``StandInServer`` speaks the OpenAI API on 127.0.0.1; its "forever" answer streams "word " until the client hangs
up, which is a loop of one short block.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.engine.remote.servers import parse_server
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionText
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.core.quality.guards import copies_needed
from caprl_desktop.core.quality.watch import RESTATED
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET
from tests.support.servers import StandInServer

ENGLISH = tuple(f"{word} " for word in re.findall(
    r"\S+", "A red umbrella leans against a wooden bench in a small park, with fallen leaves around it and a lamp "
           "post behind it, under a grey sky."))


@pytest.fixture
def stand_in() -> Iterator[StandInServer]:
    server = StandInServer("looping-model").start()
    yield server
    server.stop()


def hung_up(server: StandInServer, count: int) -> bool:
    """Whether the stand-in saw ``count`` clients hang up (it notices at its next write: wait for that)."""
    deadline = time.monotonic() + 10
    while server.script.left < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.script.left >= count


def caption(stand_in: StandInServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], *more: str,
            ) -> tuple[dict[str, object], str, Path]:
    """Caption one photo on the stand-in through the command line: its JSON Lines record, what was said, the
    photo's caption file."""
    folder = tmp_path / "photos"
    image = save_noise(folder / "p.png", 120, 90, seed=1)
    jsonl = tmp_path / "out.jsonl"
    assert main(["caption", str(folder), "--engine", stand_in.url + "#1", "--max-tokens", "200",
                 "--jsonl", str(jsonl), *more]) == 0
    [record] = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    return record, capsys.readouterr().err, image.with_suffix(".txt")


@pytest.mark.timeout(60)
def test_a_looping_server_is_stopped_within_a_few_repeats_tried_again_then_cut_and_marked(
    stand_in: StandInServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in.script.answers = ["forever", "forever"]
    record, said, text = caption(stand_in, tmp_path, capsys, "--lang", "en")
    needed = copies_needed(5, "word ")
    provenance = record["provenance"]
    assert isinstance(provenance, dict)
    assert provenance["raw_caption"] == ("word " * needed).strip()  # stopped at the copy that made the loop
    assert record["caption"] == "word" and text.read_text(encoding="utf-8") == "word\n"
    assert provenance["mark_kinds"] == "repetition, retried" and provenance["finish_reason"] == "repetition"
    assert provenance["repeat_penalty"] == 1.1
    assert stand_in.script.requests == 2 and hung_up(stand_in, 2)  # both streams closed: the server stopped
    first, second = stand_in.script.seen
    assert (first["repeat_penalty"], second["repeat_penalty"]) == (1.0, 1.1)
    assert first["seed"] != second["seed"]
    assert "Done: 1 captioned. Marked: 1 repetition cut" in said, said


@pytest.mark.timeout(60)
def test_a_japanese_request_answered_in_english_is_asked_again_and_marked(
    stand_in: StandInServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in.script.pieces = ENGLISH
    record, said, _ = caption(stand_in, tmp_path, capsys, "--lang", "ja")
    first, second = stand_in.script.seen
    systems = [body["messages"][0]["content"] for body in (first, second)]  # type: ignore[index]
    assert systems[1] == systems[0] + RESTATED["ja"]
    assert str(record["caption"]).strip() == "".join(ENGLISH).strip()  # the second try is kept whole
    provenance = record["provenance"]
    assert isinstance(provenance, dict) and provenance["mark_kinds"] == "wrong-language, retried"
    assert provenance["system_prompt"] == systems[1]
    assert "Marked: 1 wrong language" in said, said


@pytest.mark.timeout(60)
def test_guards_off_keep_the_servers_caption_as_it_came(
    stand_in: StandInServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in.script.pieces = ENGLISH
    record, said, _ = caption(stand_in, tmp_path, capsys, "--lang", "ja", "--no-guards")
    assert stand_in.script.requests == 1 and "Marked" not in said
    provenance = record["provenance"]
    assert isinstance(provenance, dict) and provenance["mark_kinds"] is None


@pytest.mark.timeout(60)
def test_stopping_one_caption_ends_it_with_what_it_streamed_and_the_other_goes_on(
    stand_in: StandInServer, tmp_path: Path
) -> None:
    stand_in.script.answers = ["forever", "ok"]
    stand_in.script.delay_s = 0.01
    image = load_image(save_noise(tmp_path / "p.png", 160, 120, seed=1), TEST_BUDGET.max_pixels(28))
    params, prompt = GenerationParams(max_tokens=400, seed=1), build_prompt("en")
    with RemoteEngine([parse_server(stand_in.url + "#2")]) as engine:
        engine.start()
        looping = engine.submit(image, prompt, params)
        other = engine.submit(image, prompt, params)
        replies: list[CaptionReply] = []
        pieces = 0
        while sum(isinstance(r, CaptionDone | CaptionFailed) for r in replies) < 2:
            reply = engine.next_reply()
            replies.append(reply)
            if isinstance(reply, CaptionText) and reply.request_id == looping:
                pieces += 1
                if pieces == 3:
                    engine.stop_caption(looping)
    ends = {r.request_id: r for r in replies if isinstance(r, CaptionDone)}
    assert ends[looping].output.stats.finish_reason == "cancelled"
    assert ends[looping].output.text.startswith("word word word")
    after = replies[replies.index(ends[looping]) + 1:]
    assert not any(isinstance(r, CaptionText) and r.request_id == looping for r in after)  # nothing after its end
    assert ends[other].output.text == "A stand-in caption." and ends[other].output.stats.finish_reason == "stop"
    assert hung_up(stand_in, 1)
