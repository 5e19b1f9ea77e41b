"""The streaming guards acting on a job's captions, through the scripted engine: a loop is stopped after its first
copies and tried once more with a repeat penalty, a caption in the other language once more with the language
said again, and what stays wrong is kept, marked in its record, its provenance and the run's summary. A guard's
stop ends that caption alone (the others side by side stream on) and is no Stop: the job goes on.

Every test runs ``run_job`` for real (images on disk, sidecars written) against ``FakeEngine``, which records
the pieces each try streamed and what each try was asked.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from caprl_desktop.cli import arguments
from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerInfo
from caprl_desktop.core.export.writers import FULL_COLUMNS, open_exporter
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
from caprl_desktop.core.jobs.events import ItemFinished, ItemStarted, ItemText, JobEvent, JobFinished
from caprl_desktop.core.jobs.journal import options_from_json, options_to_json
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.core.quality.guards import (
    MIN_LETTERS,
    LetterCount,
    copies_needed,
    language_problem,
    language_share,
)
from caprl_desktop.core.quality.watch import RESTATED, CaptionGuard
from tests.support.fake_engine import FakeEngine, Script
from tests.support.jobs import options

SERVED = RemoteInfo((ServerInfo("http://box:8000/v1", "caprl", 1, answering=True, label="box"),), parallel=1)
QUESTION_LOOP = ("The chart shows",) + (" ?",) * 200  # llama.cpp#17534's endless "?"
SENTENCE = " The sign says hello."
SENTENCE_LOOP = ("On the door:",) + tuple(f" {word}" for word in SENTENCE.split()) * 40
ENGLISH = tuple(f" {word}" for word in re.findall(
    r"\S+", "A red umbrella leans against a wooden bench in a small park, with fallen leaves around it and a lamp "
           "post behind it, under a grey sky."))
JAPANESE = ("公園の", "木の", "ベンチに", "赤い", "傘が", "立てかけ", "られて", "います。", "周りには", "落ち葉が",
            "あり、", "後ろには", "街灯が", "見えます。")


def setup(tmp_path: Path, names: Iterable[str], scripts: Mapping[str, Script], parallel: int = 1,
          ) -> tuple[FakeEngine, list[ImageItem], Path]:
    engine = FakeEngine(parallel=parallel, scripts=dict(scripts), info=SERVED)
    folder = tmp_path / "photos"
    engine.images(folder, names)
    items, _ = find_images([folder])
    return engine, items, folder


def run(items: list[ImageItem], engine: FakeEngine, opts: JobOptions | None = None) -> list[JobEvent]:
    return list(run_job(items, opts or options(), engine))


def finished(events: Iterable[JobEvent]) -> dict[str, ItemFinished]:
    return {e.item.file_name: e for e in events if isinstance(e, ItemFinished)}


def summary(events: list[JobEvent]) -> JobFinished:
    last = events[-1]
    assert isinstance(last, JobFinished)
    return last


def shown(events: Iterable[JobEvent], index: int) -> list[str]:
    """The text the window shows for ``index``, each start clearing it (as after a crash)."""
    tries: list[str] = []
    for e in events:
        if isinstance(e, ItemStarted) and e.index == index:
            tries.append("")
        elif isinstance(e, ItemText) and e.index == index:
            tries[-1] += e.text
    return tries


# --- repetition -----------------------------------------------------------------------------------


def test_a_loop_is_stopped_after_its_first_copies_tried_once_with_a_penalty_then_kept_cut_and_marked(
    tmp_path: Path
) -> None:
    engine, items, folder = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=QUESTION_LOOP)})
    events = run(items, engine)
    needed = copies_needed(2, " ?")
    assert engine.streamed["a.png"] == [1 + needed, 1 + needed]  # each try stopped at the copy that made the loop
    assert engine.stopped == ["a.png", "a.png"] and engine.abandoned == []
    first, second = engine.params
    assert (first.repeat_penalty, first.seed) == (1.0, 5)
    assert (second.repeat_penalty, second.seed) == (1.1, 6)  # sampling (temperature 1): a new seed too
    done = finished(events)["a.png"]
    assert done.ok and done.record.caption == "The chart shows ?"
    assert (folder / "a.txt").read_text(encoding="utf-8") == "The chart shows ?\n"
    assert done.marks == ("repetition", "retried")
    p = done.record.provenance
    assert p is not None and p.mark_kinds == "repetition, retried" and p.finish_reason == "repetition"
    assert p.mark_list == ("repetition", "retried")
    assert p.marks == (f"repetition: repeated {needed} times: '?'; retried with repeat penalty 1.1 and a new seed; "
                       f"repetition again: repeated {needed} times: '?'; cut after its first copy")
    assert p.raw_caption == "The chart shows" + " ?" * needed
    assert (p.repeat_penalty, p.requested_seed) == (1.1, 6)  # what the kept try was asked: it replays
    assert shown(events, 0) == ["The chart shows" + " ?" * needed] * 2  # the image started again
    job = summary(events)
    assert not job.cancelled and (job.captioned, job.failed) == (1, 0)
    assert (job.marked("repetition"), job.marked("retried")) == (1, 1)
    assert job.marks_summary == "1 repetition cut"


def test_a_loop_tried_again_that_comes_out_right_keeps_the_second_caption_marked_retried(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {
        "a.png": Script(pieces=SENTENCE_LOOP, retry_pieces=("On the door:", SENTENCE))})
    greedy = GenerationParams(max_tokens=400, temperature=0.0, seed=5)
    events = run(items, engine, options(prompt=build_prompt("en"), params=greedy))
    done = finished(events)["a.png"]
    assert done.record.caption == "On the door: The sign says hello." and done.marks == ("retried",)
    needed = copies_needed(len(SENTENCE), SENTENCE)
    assert engine.streamed["a.png"] == [1 + 4 * needed, 2]  # the loop was stopped at the copy that made it one
    assert engine.params[1] == GenerationParams(max_tokens=400, temperature=0.0, repeat_penalty=1.1, seed=5)
    p = done.record.provenance
    assert p is not None and p.raw_caption is None and p.finish_reason == "stop"
    assert p.marks == f"repetition: repeated {needed} times: 'The sign says hello.'; retried with repeat penalty 1.1"
    assert summary(events).marks_summary == "" and summary(events).marked("retried") == 1


def test_a_run_asking_for_more_penalty_keeps_it_on_the_second_try(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=QUESTION_LOOP)})
    run(items, engine, options(params=GenerationParams(max_tokens=400, repeat_penalty=1.3)))
    assert [p.repeat_penalty for p in engine.params] == [1.3, 1.3]
    assert [p.seed for p in engine.params] == [None, None]  # a fresh seed is drawn for each try anyway


def test_side_by_side_only_the_looping_caption_is_stopped_and_the_others_stream_whole(tmp_path: Path) -> None:
    whole = ("A", " red", " umbrella", " on", " a", " bench.")
    scripts = {"a.png": Script(pieces=whole), "b.png": Script(pieces=QUESTION_LOOP, retry_pieces=("Charts.",)),
               "c.png": Script(pieces=ENGLISH)}
    engine, items, _ = setup(tmp_path, ["a.png", "b.png", "c.png"], scripts, parallel=3)
    events = run(items, engine, options(prompt=build_prompt("en"), params=GenerationParams(max_tokens=400)))
    done = finished(events)
    assert engine.stopped == ["b.png"] and engine.abandoned == []
    assert engine.streamed == {"a.png": [6], "b.png": [1 + copies_needed(2, " ?"), 1], "c.png": [len(ENGLISH)]}
    assert done["a.png"].record.caption == "A red umbrella on a bench."
    assert done["c.png"].record.caption == "".join(ENGLISH).strip()  # no piece of it was lost
    assert shown(events, 2) == ["".join(ENGLISH)]
    assert done["b.png"].record.caption == "Charts." and done["b.png"].marks == ("retried",)
    assert not summary(events).cancelled


def test_a_guard_stop_is_no_stop_the_job_goes_on_but_stop_pressed_during_a_retry_still_ends_it(
    tmp_path: Path
) -> None:
    names = ["a.png", "b.png", "c.png"]
    engine, items, folder = setup(tmp_path, names, {"a.png": Script(pieces=QUESTION_LOOP)})
    events = run(items, engine)
    assert not summary(events).cancelled and summary(events).captioned == 3
    engine, items, folder = setup(tmp_path / "again", names, {"a.png": Script(pieces=QUESTION_LOOP)})
    events = []
    for event in run_job(items, options(), engine):
        events.append(event)
        if isinstance(event, ItemText) and len(engine.submitted) == 2:  # a's second try is streaming
            engine.cancel()  # what the window's Stop does
    assert engine.submitted == ["a.png", "a.png"] and summary(events).cancelled
    assert not finished(events) and not list(folder.glob("*.txt"))


# --- language -------------------------------------------------------------------------------------


def test_a_japanese_request_answered_in_english_is_tried_again_with_the_language_said_again(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=ENGLISH, retry_pieces=JAPANESE)})
    events = run(items, engine)
    letters = 0
    for count, piece in enumerate(ENGLISH, start=1):  # stopped at the piece that made enough letters to judge
        letters += sum(ch.isalpha() for ch in piece)
        if letters >= MIN_LETTERS:
            assert engine.streamed["a.png"] == [count, len(JAPANESE)]
            break
    first, second = engine.prompts
    assert first == build_prompt("ja") and second.user == first.user
    assert second.system == first.system + RESTATED["ja"]
    assert second.system == "あなたは親切な日本語のアシスタントです。必ず日本語で答えてください。"
    assert engine.params[0] == engine.params[1]
    done = finished(events)["a.png"]
    assert done.record.caption == "".join(JAPANESE) and done.marks == ("retried",)
    p = done.record.provenance
    assert p is not None and p.system_prompt == second.system
    assert p.marks is not None and p.marks.startswith("wrong-language: written in English, not Japanese (0% Japanese)")
    assert p.marks.endswith("; retried with the language restated in the system prompt")


def test_still_the_wrong_language_on_the_second_try_is_kept_whole_and_marked(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=ENGLISH)})
    events = run(items, engine, options(params=GenerationParams(max_tokens=400)))
    assert engine.streamed["a.png"][1] == len(ENGLISH)  # the second try is not stopped for its language
    done = finished(events)["a.png"]
    assert done.record.caption == "".join(ENGLISH).strip() and done.marks == ("wrong-language", "retried")
    assert summary(events).marks_summary == "1 wrong language"
    assert done.record.provenance is not None and done.record.provenance.raw_caption is None


def test_an_english_request_answered_in_japanese_is_said_again_in_english(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=JAPANESE * 3, retry_pieces=ENGLISH)})
    events = run(items, engine, options(prompt=build_prompt("en")))
    assert engine.prompts[1].system == "You are a helpful assistant. Answer in English only."
    assert finished(events)["a.png"].marks == ("retried",)


def test_the_text_preset_transcribes_whatever_language_the_image_holds(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=ENGLISH)})
    events = run(items, engine, options(prompt=build_prompt("ja", "text")))
    assert engine.submitted == ["a.png"] and finished(events)["a.png"].marks == ()


# --- cut off, openings, guards off ----------------------------------------------------------------


def test_a_caption_at_the_token_limit_is_marked_cut_off_with_its_tokens(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=("A red", " umbrella on"),
                                                                   finish_reason="length")})
    events = run(items, engine)
    done = finished(events)["a.png"]
    assert done.ok and done.marks == ("cut-off",) and done.record.caption == "A red umbrella on"
    assert done.record.provenance is not None and done.record.provenance.marks == "cut off at 2 tokens"
    assert summary(events).marks_summary == "1 cut off"


@pytest.mark.parametrize("strip", [False, True])
def test_stock_openings_are_dropped_only_when_asked(tmp_path: Path, strip: bool) -> None:
    engine, items, folder = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=("This image shows", " a red",
                                                                                " umbrella."))})
    run(items, engine, options(strip_openings=strip))
    caption = "A red umbrella." if strip else "This image shows a red umbrella."
    assert (folder / "a.txt").read_text(encoding="utf-8") == caption + "\n"


def test_with_guards_off_a_loop_streams_to_its_end_and_nothing_is_tried_again(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png", "b.png"], {"a.png": Script(pieces=QUESTION_LOOP),
                                                            "b.png": Script(pieces=ENGLISH)})
    events = run(items, engine, options(guards=False))
    assert engine.streamed == {"a.png": [len(QUESTION_LOOP)], "b.png": [len(ENGLISH)]} and engine.stopped == []
    assert all(e.marks == () for e in finished(events).values()) and summary(events).marks == ()


def test_the_guard_starts_afresh_when_a_try_starts_again() -> None:
    """After a crash (or a server's restart) the text before it is void: it cannot make a loop with what follows."""
    guard = CaptionGuard(build_prompt("en"), GenerationParams())
    for _ in range(10):
        assert guard.feed(" ?") is None
    guard.begin()
    assert [guard.feed(" ?") for _ in range(copies_needed(2, " ?") - 1)] == [None] * (copies_needed(2, " ?") - 1)
    assert guard.feed(" ?") is not None


@pytest.mark.parametrize("pieces", [ENGLISH, JAPANESE], ids=["english", "japanese"])
def test_the_letters_counted_piece_by_piece_are_those_of_the_whole_text(pieces: tuple[str, ...]) -> None:
    count = LetterCount()
    for piece in pieces:
        count.feed(piece)
    whole = "".join(pieces)
    assert count.share == language_share(whole)
    for language in ("ja", "en"):
        assert count.problem(language) == language_problem(whole, language)


# --- records, exports, options --------------------------------------------------------------------


def test_marks_and_the_raw_caption_are_in_the_full_csv_and_the_json_lines(tmp_path: Path) -> None:
    engine, items, _ = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=QUESTION_LOOP)})
    done = finished(run(items, engine))["a.png"]
    assert {"mark_kinds", "marks", "raw_caption"} <= set(FULL_COLUMNS)
    jsonl = open_exporter(str(tmp_path / "out.jsonl"), "jsonl")
    jsonl.write(done.record)
    jsonl.close()
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert row["provenance"]["mark_kinds"] == "repetition, retried"
    assert row["provenance"]["raw_caption"].startswith("The chart shows ? ?")
    csv = open_exporter(str(tmp_path / "out.csv"), "csv", csv_columns="full")
    csv.write(done.record)
    csv.close()
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "repetition, retried" in text and "cut after its first copy" in text


def test_the_marks_go_into_the_photos_xmp_but_not_the_raw_caption(tmp_path: Path) -> None:
    engine, items, folder = setup(tmp_path, ["a.png"], {"a.png": Script(pieces=QUESTION_LOOP)})
    done = finished(run(items, engine, options(metadata="xmp")))["a.png"]
    assert done.record.provenance is not None and done.record.provenance.raw_caption
    [xmp] = folder.glob("*.xmp")
    text = xmp.read_text(encoding="utf-8")
    assert "repetition, retried" in text and "The chart shows ?" in text
    assert "raw_caption" not in text and "? ? ? ?" not in text


def test_the_guard_choices_are_journaled_and_an_older_runs_options_read_with_the_defaults() -> None:
    original = options(guards=False, strip_openings=True)
    assert options_from_json(options_to_json(original)) == original
    version_2 = json.loads(options_to_json(options()))
    for name in ("guards", "strip_openings"):
        del version_2[name]
    version_2["version"] = 2
    read = options_from_json(json.dumps(version_2))
    assert (read.guards, read.strip_openings) == (True, False) and read == options()


@pytest.mark.parametrize("given, guards, strip", [
    ([], True, False), (["--no-guards", "--strip-openings"], False, True)])
def test_the_command_line_turns_the_guards_off_and_strips_openings(given: list[str], guards: bool, strip: bool) -> None:
    parser = argparse.ArgumentParser()
    arguments.add_prompt_options(parser)
    arguments.add_model_options(parser)
    arguments.add_output_options(parser, new_run=True)
    arguments.add_generation_options(parser)
    arguments.add_image_options(parser)
    run_options = arguments.settings_from_args(parser.parse_args(given)).job_options("m")
    assert (run_options.guards, run_options.strip_openings) == (guards, strip)
