"""How far the window's queue has got: the count, time left and speed of a *go*.

A go lasts from the moment captioning starts until nothing is left to start. Its count and time left cover
every image queued in that go, whatever list slices or job batches lie underneath; images added while it runs
extend it, and images cancelled or held stay part of it. Skipped images (a caption on disk already) count as
done but took no time, so they are left out of the pace. Plain Python: ``QueueController`` feeds it events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.ui.queue_model import State

UNFINISHED = (State.QUEUED, State.WAITING, State.CAPTIONING)
SPEED_AFTER_S = 0.5  # a caption's speed is counted once its first token is this old (before, it is noise)


@dataclass(frozen=True)
class Progress:
    """How far the current (or last) go has got."""

    done: int  # finished in this go, failed and skipped ones included
    total: int  # everything queued in this go
    seconds_left: float | None  # None until there is something to go by, and once it is over
    running: bool  # the go is under way
    failed: int = 0
    skipped: int = 0  # had a caption already: no time spent on them

    @property
    def captioned(self) -> int:
        return self.done - self.failed - self.skipped


def seconds_left(done: int, skipped: int, total: int, elapsed: float) -> float | None:
    """Time left at the pace of the captions made so far; None until one is made or once all are done.

    Skipped images (captioned before) took no time: counted in the pace, a folder mostly captioned before
    would say "about 0 s left" with captions still being made."""
    made = done - skipped
    if made <= 0 or done >= total:
        return None
    return max(1.0, elapsed / made * (total - done))


class GoProgress:
    """One go's count, the images it skipped, and the pace of the captions in flight."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.active = False
        self._started = 0.0
        self.done = self.total = self.failed = self.skipped = 0
        self.skipped_paths: list[Path] = []  # what this go skipped for its caption on disk (re-captioned in a click)
        self._first_token: dict[Path, float] = {}  # each caption in flight (several side by side)

    def begin(self) -> bool:
        """A go starts, unless one is under way; True when this one is new."""
        if self.active:
            return False
        self.active, self._started = True, self._clock()
        self.done = self.total = self.failed = self.skipped = 0
        self.skipped_paths.clear()
        return True

    def end(self) -> bool:
        """The go is over; True when it was under way until now."""
        was, self.active = self.active, False
        return was

    def finished(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed

    def skipped_one(self, path: Path) -> None:
        self.done += 1
        self.skipped += 1
        self.skipped_paths.append(path)

    def cover(self, unfinished: int) -> None:
        """The go counts ``unfinished`` images still to do; it never shrinks by itself (images cancelled or held
        in this go are still part of it)."""
        if self.active:
            self.total = max(self.total, self.done + unfinished)

    def removed(self, unfinished: int) -> None:
        """Rows were taken off the list: they are no longer part of the go."""
        if self.active:
            self.total = self.done + unfinished

    @property
    def progress(self) -> Progress:
        left = seconds_left(self.done, self.skipped, self.total, self._clock() - self._started) if self.active \
            else None
        return Progress(self.done, self.total, left, self.active, self.failed, self.skipped)

    # --- the pace of the captions in flight ---------------------------------------------------------

    def caption_started(self, path: Path) -> None:
        self._first_token.pop(path, None)  # (again, after a crash: counted afresh)

    def token(self, path: Path) -> None:
        self._first_token.setdefault(path, self._clock())

    def caption_ended(self, path: Path) -> None:
        self._first_token.pop(path, None)

    def captions_in_flight(self) -> bool:
        return bool(self._first_token)

    def run_ended(self) -> None:
        self._first_token.clear()

    def speed(self, tokens_of: Callable[[Path], int | None]) -> float:
        """Tokens per second of all captions in flight together, each counted from its own first token;
        ``tokens_of`` says how many a caption has (None: its row is gone)."""
        now = self._clock()
        total = 0.0
        for path, started in self._first_token.items():
            tokens = tokens_of(path)
            if tokens is not None and now - started > SPEED_AFTER_S:
                total += tokens / (now - started)
        return total
