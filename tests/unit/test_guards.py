"""The streaming guards on recorded streams: loops of characters, words, sentences and Japanese text are caught
within a few copies; real captions (tables of charts included) never are, at any point of their stream; the
language share tells a caption in the wrong language from one that quotes the other."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pytest

from caprl_desktop.core.quality.guards import (
    LoopWatch,
    copies_needed,
    find_loop,
    language_problem,
    language_share,
    strip_opening,
)

ENGLISH = (
    "The image is a bar chart titled \"Quarterly Revenue by Region, 2023\". The horizontal axis lists the four "
    "quarters (Q1, Q2, Q3 and Q4) and the vertical axis shows revenue in millions of US dollars, from 0 to 120. "
    "Each quarter has three bars: blue for North America, orange for Europe and grey for Asia-Pacific. North "
    "America leads in every quarter, rising from 82 in Q1 to 104 in Q4. Europe stays between 55 and 61, while "
    "Asia-Pacific grows fastest, from 31 to 58. A note under the chart reads \"Source: company filings\".\n\n"
    "| Quarter | North America | Europe | Asia-Pacific |\n|---|---|---|---|\n| Q1 | 82 | 55 | 31 |\n"
    "| Q2 | 88 | 58 | 39 |\n| Q3 | 97 | 61 | 47 |\n| Q4 | 104 | 60 | 58 |\n\n"
    "In the lower right corner a small sign in Japanese reads 「社外秘」 (confidential)."
)
JAPANESE = (
    "この画像は、東京の商店街の夕方の風景を写した写真です。通りの両側には小さな店が並び、赤い提灯と「営業中」と"
    "書かれた看板が見えます。手前には自転車が三台止められていて、そのうち一台には青いかごが付いています。"
    "奥のコンビニの看板には「FamilyMart」とあり、その隣の薬局には「マツモトキヨシ」と書かれています。"
    "通りを歩く人は十人ほどで、傘を差している人もいるため、少し前まで雨が降っていたようです。\n\n"
    "| 店 | 看板の文字 |\n|---|---|\n| コンビニ | FamilyMart |\n| 薬局 | マツモトキヨシ |\n| 食堂 | 営業中 |"
)
MONTHS_TABLE = (
    "The table lists monthly rainfall in millimetres:\n\n"
    "| Jan | Feb | Mar | Apr | May | Jun | Jul | Aug | Sep | Oct | Nov | Dec |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    "| 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 12 | 40 |\n"
)


def tokens(text: str) -> Iterator[str]:
    """A stream as a model sends it: words with their spaces, Japanese a character or two at a time."""
    yield from re.findall(r"\s*[A-Za-z]+|\s*\d+|[\u3000-\u9fff\uff00-\uffef]{1,2}|\s*[^\sA-Za-z\d]", text)


def first_loop(pieces: Iterable[str]) -> tuple[int, str] | None:
    """How many pieces were streamed when the watch saw a loop, and the text it keeps."""
    watch = LoopWatch()
    for count, piece in enumerate(pieces, start=1):
        loop = watch.feed(piece)
        if loop is not None:
            return count, watch.text[: loop.keep].rstrip()
    return None


@pytest.mark.parametrize("caption", [ENGLISH, JAPANESE, MONTHS_TABLE], ids=["english", "japanese", "months-table"])
def test_real_captions_are_never_taken_for_loops_at_any_point_of_their_stream(caption: str) -> None:
    assert first_loop(tokens(caption)) is None
    assert first_loop(caption) is None  # a character at a time too


@pytest.mark.parametrize("intro, block", [
    ("The chart shows", "?"),  # llama.cpp#17534's endless "?"
    ("A street at night with", " lights and"),
    ("On the door:", " The sign says hello."),
    ("通りには店が並んでいます。", "赤い提灯が見えます。"),
    ("A list of items:\n", "- item\n"),
])
def test_a_loop_is_caught_within_a_few_copies_and_the_first_copy_is_kept(intro: str, block: str) -> None:
    stream = list(tokens(intro + block * 200))
    found = first_loop(stream)
    assert found is not None
    count, kept = found
    needed = copies_needed(len(block), block)
    assert count <= len(list(tokens(intro + block * (needed + 1))))  # stopped by the copy after those needed
    assert kept == (intro + block).rstrip()


def test_a_loop_of_a_long_paragraph_is_caught_at_its_third_copy() -> None:
    paragraph = " It then repeats the whole description of the bar chart and its three regions once more."
    stream = list(tokens("The image is a chart." + paragraph * 3))
    found = first_loop(stream)
    assert found is not None and found[1] == "The image is a chart." + paragraph


def test_a_loop_says_what_repeats() -> None:
    loop = find_loop("Result: " + "na " * 30)
    assert loop is not None and loop.period == 3 and loop.describe().startswith("repeated ")
    assert "'na'" in loop.describe()


@pytest.mark.parametrize("text, language", [(ENGLISH, "en"), (JAPANESE, "ja")])
def test_a_caption_in_its_language_passes_whatever_it_quotes(text: str, language: str) -> None:
    assert language_problem(text, language) is None  # type: ignore[arg-type]


def test_the_other_language_is_caught_even_with_a_few_words_of_the_asked_one() -> None:
    english_with_a_quote = ENGLISH  # (it quotes 「社外秘」)
    problem = language_problem(english_with_a_quote, "ja")
    assert problem is not None and problem.startswith("written in English, not Japanese")
    problem = language_problem(JAPANESE, "en")  # (it names FamilyMart)
    assert problem is not None and problem.startswith("written in Japanese, not English")


def test_short_texts_numbers_and_marks_are_not_judged() -> None:
    assert language_problem("Q1 82 55 31", "ja") is None
    assert language_problem("A red umbrella.", "ja") is None
    assert language_problem("| 12 | 40 | 3.5% |" * 10, "en") is None
    share = language_share("赤い傘 red")
    assert (share.japanese, share.latin) == (6, 3)


@pytest.mark.parametrize("text, stripped", [
    ("This image shows a red umbrella on a bench.", "A red umbrella on a bench."),
    ("The image depicts: a chart of sales.", "A chart of sales."),
    ("In this image, two cats sleep.", "Two cats sleep."),
    ("この画像は、夕方の商店街の写真です。", "夕方の商店街の写真です。"),
    ("この画像には赤い傘が写っています。", "赤い傘が写っています。"),
    ("A red umbrella.", "A red umbrella."),
    ("This image shows", "This image shows"),
])
def test_stock_openings_are_stripped(text: str, stripped: str) -> None:
    assert strip_opening(text) == stripped
