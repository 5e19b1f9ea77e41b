"""Guards a caption passes as it streams: a repeating tail, the wrong language, a stock opening.

Each is a pure function of the text so far, so the built-in engine, a runtime and a remote server are watched
alike, and each is tested on recorded streams (``tests/unit/test_guards.py``).

- **Repetition** (``LoopWatch``): Qwen-VL models fall into loops (QwenLM/Qwen3-VL#1611, #1735; llama.cpp#17534:
  endless "?" from Qwen2.5-VL-3B, CapRL-3B's base). A loop is a tail made of copies of one block. How many copies
  make a loop depends on the block's length: three copies of a paragraph are never meant, but a markdown table
  of a chart can hold ten empty cells (``| 0 ``) or a separator row of twelve months (``|---``) in a row, so short
  blocks need many copies (``COPIES_NEEDED``). The caption keeps its text up to the end of the first copy.
- **Language** (``language_problem``): the share of Japanese script (kana and kanji) against Latin letters. One
  Japanese character carries about what two Latin letters do, so kana and kanji count twice; a Japanese caption
  naming English products, or an English one quoting a Japanese sign, stays well inside its own language
  (``tests/unit/test_guards.py`` has such captions), while an answer in the other language is far outside.
  Nothing is judged before ``MIN_LETTERS`` weighted letters.
- **Opening phrases** (``strip_opening``): "This image shows …", 「この画像は…」, which dataset builders strip by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from caprl_desktop.core.prompts import Language

MAX_PERIOD = 600  # characters: a block longer than this repeating is not looked for (a page of text)
# (shortest block, copies needed) from the longest blocks down; see the module's docstring for why.
COPIES_NEEDED: tuple[tuple[int, int], ...] = ((60, 3), (16, 6), (5, 10), (1, 16))
_TABLE_RULE = frozenset("|-: ")  # a markdown table's separator row: legitimately long
_TABLE_RULE_COPIES = 40


def copies_needed(period: int, block: str) -> int:
    if set(block) <= _TABLE_RULE:
        return _TABLE_RULE_COPIES
    return next(copies for shortest, copies in COPIES_NEEDED if period >= shortest)


@dataclass(frozen=True)
class Loop:
    """A tail of ``copies`` copies of one block of ``period`` characters; the text keeps ``keep`` characters."""

    keep: int
    period: int
    copies: int
    block: str

    def describe(self) -> str:
        shown = self.block.strip() or repr(self.block)
        shown = shown if len(shown) <= 40 else shown[:37] + "…"
        return f"repeated {self.copies} times: {shown!r}"


def find_loop(text: str, start: int = 0) -> Loop | None:
    """The loop ``text`` ends in, looking no further back than ``start``; None when its tail does not repeat."""
    tail = text[start:]
    n = len(tail)
    last = tail[-1:] if n else ""
    for period in range(1, min(MAX_PERIOD, n // 2) + 1):
        if tail[n - 1 - period] != last:  # (a character compared before a block is sliced: most periods end here)
            continue
        block = tail[n - period:]
        if tail[n - 2 * period:n - period] != block or not block.strip():
            continue
        copies = 2
        while (copies + 1) * period <= n and tail[n - (copies + 1) * period:n - copies * period] == block:
            copies += 1
        if copies >= copies_needed(period, block):
            first = _first_copy(text, start + n - copies * period, period)
            return Loop(first + period, period, copies, text[first:first + period])
    return None


_ENDS = frozenset(".。!?！？\n")


def _first_copy(text: str, first: int, period: int) -> int:
    """Where the first copy starts. The stream may stop inside a copy, so which rotation of the block is "the"
    copy is open: the repeats may have begun up to a block earlier (wherever the text matches itself a block
    later), and any start within one block keeps one copy. The first start whose copy ends a sentence (or a line)
    is taken, so that the caption is cut where a sentence ends; else the earliest."""
    earliest = first
    while first - earliest < period - 1 and earliest > 0 and text[earliest - 1] == text[earliest - 1 + period]:
        earliest -= 1
    last = min(first + period - 1, len(text) - period)
    return next((s for s in range(earliest, last + 1) if text[s + period - 1] in _ENDS), earliest)


class LoopWatch:
    """``find_loop`` over a stream, looking only at the tail a loop could fill, so each piece costs the same."""

    _WINDOW = MAX_PERIOD * 3 + 64  # the most a loop needs to be seen: three copies of the longest block

    def __init__(self) -> None:
        self.text = ""

    def feed(self, piece: str) -> Loop | None:
        self.text += piece
        return find_loop(self.text, max(0, len(self.text) - self._WINDOW))


# --- language --------------------------------------------------------------------------------------------------

_JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                       r"\uff66-\uff9d]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
JAPANESE_WEIGHT = 2  # a kana or kanji carries about what two Latin letters do
MIN_LETTERS = 60  # weighted letters before a caption's language is judged
MIN_SHARE: dict[Language, float] = {"ja": 0.2, "en": 0.5}  # of its weighted letters in the language asked for


@dataclass(frozen=True)
class LanguageShare:
    japanese: int  # kana and kanji, each counted ``JAPANESE_WEIGHT`` times
    latin: int

    @property
    def letters(self) -> int:
        return self.japanese + self.latin

    def share(self, language: Language) -> float:
        own = self.japanese if language == "ja" else self.latin
        return own / self.letters if self.letters else 1.0


def language_share(text: str) -> LanguageShare:
    return LanguageShare(JAPANESE_WEIGHT * len(_JAPANESE.findall(text)), len(_LATIN.findall(text)))


def language_problem(text: str, language: Language) -> str | None:
    """Why ``text`` is not in ``language``; None when it is, or when there is too little to say (digits, marks
    and short texts are never judged)."""
    return share_problem(language_share(text), language)


class LetterCount:
    """``language_share`` of a stream, counted a piece at a time: each letter is looked at once, however long the
    caption grows."""

    def __init__(self) -> None:
        self.share = LanguageShare(0, 0)

    def feed(self, piece: str) -> LanguageShare:
        more = language_share(piece)
        self.share = LanguageShare(self.share.japanese + more.japanese, self.share.latin + more.latin)
        return self.share

    def problem(self, language: Language) -> str | None:
        return share_problem(self.share, language)


def share_problem(share: LanguageShare, language: Language) -> str | None:
    """``language_problem`` of a text whose letters were counted already."""
    if share.letters < MIN_LETTERS or share.share(language) >= MIN_SHARE[language]:
        return None
    asked, other = ("Japanese", "English") if language == "ja" else ("English", "Japanese")
    return f"written in {other}, not {asked} ({share.share(language):.0%} {asked})"


# --- stock openings --------------------------------------------------------------------------------------------

# The openings dataset builders strip by hand (the window's Settings can add to them); longest first, so "The
# image shows a" goes whole before "The image shows" would.
STOCK_OPENINGS: tuple[str, ...] = (
    "This image shows", "This image depicts", "This image features", "This image is", "This is an image of",
    "The image shows", "The image depicts", "The image features", "The image presents", "The image displays",
    "The image is", "In this image,", "In the image,", "The picture shows", "This picture shows",
    "この画像には", "この画像は", "この画像では", "画像には", "画像は", "この写真には", "この写真は",
)


def strip_opening(text: str, openings: tuple[str, ...] = STOCK_OPENINGS) -> str:
    """``text`` without the first stock opening it starts with (case-insensitive, then a comma or colon); an
    English remainder starts with a capital. Text that is only the opening is left as it is."""
    for opening in sorted(openings, key=len, reverse=True):
        if text[:len(opening)].casefold() != opening.casefold():
            continue
        rest = text[len(opening):].lstrip(" \u3000,:、：").lstrip()
        if not rest:
            return text
        return rest[0].upper() + rest[1:] if rest[0].isascii() else rest
    return text
