"""Asking a spawned process for one answer: the answer, or why there is none; the process never outlives it."""

from __future__ import annotations

import time

from caprl_desktop.core.child_answer import NoAnswer, ask_child
from tests.support import children


def test_the_answer_comes_back() -> None:
    assert ask_child(children.answer, {"gpus": 1}, name="t-answer", timeout=30) == {"gpus": 1}


def test_a_child_that_hangs_is_no_answer_and_is_ended_at_the_time_given() -> None:
    started = time.monotonic()
    assert ask_child(children.hang, name="t-hang", timeout=1) == NoAnswer(hung=True)
    assert time.monotonic() - started < 20  # killed, not waited for for its 60 s


def test_a_child_that_ends_without_a_word_says_how_it_ended() -> None:
    assert ask_child(children.exit_silently, 3, name="t-exit", timeout=30) == NoAnswer(hung=False, exitcode=3)
