"""One caption's guards over its tries: what stops a try as it streams, what the one further try changes, and the
marks the caption keeps.

The job's scheduler (``core/jobs/scheduler.py``) holds a ``CaptionGuard`` per image and hands it every piece any
engine streams (the built-in one, a runtime, a server), so every caption is guarded alike. A first try that loops
or turns out to be in the other language is stopped at once (``feed`` returns what it found; the engine's
``stop_caption`` ends that caption alone) and tried once more (``retry``): with a repeat penalty, and a new seed when
sampling, after a loop; with the language said again in the system prompt after the wrong language. The second
try is stopped only by a loop, and then keeps the text up to the end of the loop's first copy; its language is
judged once it ends. ``finish`` gives the caption as kept and a ``GuardReport`` of what happened, for its record.

The findings themselves are the pure functions of ``guards``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from caprl_desktop.core.engine.reports import CaptionOutput
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import Language, PromptSpec
from caprl_desktop.core.quality.guards import LetterCount, LoopWatch, language_problem, strip_opening

FindingKind = Literal["repetition", "wrong-language"]
MarkKind = Literal["repetition", "wrong-language", "cut-off", "retried"]
MARK_KINDS: tuple[MarkKind, ...] = ("repetition", "wrong-language", "cut-off", "retried")
# How a run's summary names each kind it counts ("3 repetition cut · 1 wrong language"); a caption that came out
# right when tried again is not counted there (its record says it was retried).
SUMMARY_WORDS: dict[MarkKind, str] = {"repetition": "repetition cut", "wrong-language": "wrong language",
                                      "cut-off": "cut off"}

RETRY_REPEAT_PENALTY = 1.1  # the second try's repeat penalty after a loop, unless the run asked for more
# Said again at the end of the system prompt when a caption came in the other language.
RESTATED: dict[Language, str] = {"en": "Answer in English only.", "ja": "必ず日本語で答えてください。"}
REPETITION_FINISH = "repetition"  # the finish reason recorded for a caption cut at a loop
SEED_RANGE = 2**31


@dataclass(frozen=True)
class Finding:
    """Why a try was stopped; ``keep``: for a loop, the characters of the streamed text that are kept."""

    kind: FindingKind
    detail: str  # "repeated 23 times: '?'", "written in English, not Japanese (3% Japanese)"
    keep: int | None = None

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class GuardReport:
    """What the guards did to one caption: its marks, the same in words, the text before it was cut (only when
    it was), and what the try kept was asked (a second try's prompt and sampling differ from the run's)."""

    marks: tuple[MarkKind, ...]
    notes: str  # "repetition: repeated 23 times: '?'; retried with repeat penalty 1.1"; "" when nothing happened
    raw_caption: str | None
    prompt: PromptSpec
    params: GenerationParams


def restated(prompt: PromptSpec) -> PromptSpec:
    """``prompt`` with its language said again at the end of the system prompt."""
    sentence = RESTATED[prompt.language]
    joint = "" if prompt.language == "ja" or not prompt.system else " "
    return dataclasses.replace(prompt, system=prompt.system + joint + sentence)


def with_repeat_penalty(params: GenerationParams) -> GenerationParams:
    """``params`` for a try after a loop: a repeat penalty of at least ``RETRY_REPEAT_PENALTY``, and, when
    sampling with a fixed seed, the next seed (a fresh one is drawn anyway when none is fixed)."""
    seed = params.seed
    if params.temperature > 0 and seed is not None:
        seed = (seed + 1) % SEED_RANGE
    return dataclasses.replace(params, repeat_penalty=max(RETRY_REPEAT_PENALTY, params.repeat_penalty), seed=seed)


class CaptionGuard:
    """The guards of one image's caption, over its first try and at most one more.

    ``watch`` False (the run's guards are off): nothing is stopped or tried again; a caption cut at the token
    limit is still marked so, and stock openings are still stripped when asked for."""

    def __init__(self, prompt: PromptSpec, params: GenerationParams, *, watch: bool = True,
                 strip_openings: bool = False) -> None:
        self.prompt, self.params = prompt, params  # what the try going on (or the next) is asked
        self._run_prompt, self._run_params = prompt, params
        self._watch = watch
        # The "text" preset transcribes the image's own text, whatever its language: its language is right.
        self._language: Language | None = prompt.language if prompt.preset != "text" else None
        self._strip = strip_openings
        self.halted: Finding | None = None  # the try going on was stopped for this; its end is still to come
        self._first: Finding | None = None  # what stopped the first try, once there is a second
        self._retry_note = ""
        self._loops = LoopWatch()
        self._letters = LetterCount()

    @property
    def retried(self) -> bool:
        return self._first is not None

    def begin(self) -> None:
        """A try starts, or starts again from nothing (after an engine crash, or on another server)."""
        self.halted = None
        self._loops, self._letters = LoopWatch(), LetterCount()

    def feed(self, piece: str) -> Finding | None:
        """Hear the next piece of the try. A finding says: stop this try now (it is returned once; what the try
        streams after it is not heard)."""
        if not self._watch or self.halted is not None:
            return None
        loop = self._loops.feed(piece)
        if loop is not None:
            self.halted = Finding("repetition", loop.describe(), loop.keep)
            return self.halted
        if self._language is not None and not self.retried:
            self._letters.feed(piece)
            problem = self._letters.problem(self._language)
            if problem is not None:
                self.halted = Finding("wrong-language", problem)
                return self.halted
        return None

    def retry(self) -> bool:
        """After a try was stopped: True when it is tried once more (``prompt`` and ``params`` now ask for that
        try), False when it was the second (``finish`` keeps what it made)."""
        found = self.halted
        if found is None or self.retried:
            return False
        self._first = found
        if found.kind == "repetition":
            self.params = with_repeat_penalty(self.params)
            seed = " and a new seed" if self.params.temperature > 0 else ""
            self._retry_note = f"retried with repeat penalty {self.params.repeat_penalty:g}{seed}"
        else:
            self.prompt = restated(self.prompt)
            self._retry_note = "retried with the language restated in the system prompt"
        self.begin()
        return True

    def finish(self, output: CaptionOutput) -> tuple[CaptionOutput, GuardReport]:
        """The caption as it is kept, from the last try's output, and the report for its record."""
        marks: set[MarkKind] = set()
        notes: list[str] = []
        if self._first is not None:
            marks.add("retried")
            notes += [self._first.describe(), self._retry_note]
        again = " again" if self.retried else ""
        text, stats, raw = output.text, output.stats, None
        found = self.halted
        if found is not None and found.keep is not None:  # a loop: the text up to the end of its first copy
            raw = self._loops.text.strip()
            text = self._loops.text[:found.keep].strip()
            stats = dataclasses.replace(stats, finish_reason=REPETITION_FINISH)
            marks.add("repetition")
            notes.append(f"repetition{again}: {found.detail}; cut after its first copy")
        elif found is not None:  # (only a first try stops for its language, and that one is tried again)
            text = self._loops.text.strip()
            marks.add("wrong-language")
            notes.append(f"wrong-language{again}: {found.detail}")
        elif self._watch and self._language is not None:
            problem = language_problem(text, self._language)
            if problem is not None:
                marks.add("wrong-language")
                notes.append(f"wrong-language{again}: {problem}")
        if stats.finish_reason == "length":
            marks.add("cut-off")
            notes.append(f"cut off at {stats.output_tokens} tokens")
        if self._strip:
            text = strip_opening(text)
        report = GuardReport(tuple(kind for kind in MARK_KINDS if kind in marks), "; ".join(notes), raw,
                             self.prompt, self.params)
        return dataclasses.replace(output, text=text, stats=stats), report


def marks_summary(counts: Mapping[MarkKind, int]) -> str:
    """The marks a run's summary counts: "3 repetition cut · 1 wrong language"; "" when there are none."""
    return " · ".join(f"{counts[kind]} {words}" for kind, words in SUMMARY_WORDS.items() if counts.get(kind))
