"""How many captions a caption server takes at a time, and how long a caption may take there.

Pure bookkeeping for one server, fed with what became of each of its captions (started, first piece,
finished, answered busy, cut short) and the times measured: no threads, sockets or clocks of its own, so it is
tested by feeding it events. The remote engine calls it under its lock.

**Captions at a time** are given (``#N``: never changed), said by the server (llama-server's ``/props``), or
measured: from ``MEASURE_START``, doubled while the captions sent side by side streamed side by side, until
captions wait in the server's queue (their first piece comes most of a caption's time late) or the server
turns one away while holding others: a 429, or a stream cut short (llama-cpp-python's server ends one stream
when the next request arrives). Then the number settles at what the server was seen to take. A number is
raised only by what that server itself was seen doing: captions sent to it because another server failed
cannot raise it (they started with it full, but a server that cut them short never streamed them together).

**Deadlines** follow from the caption's size and the server's pace: a caption may go without a reply (its
first piece, or the next one) for ``factor`` times the slowest first piece seen on that server, scaled up for a
larger image (an image's encoding grows with the square of its tokens), and take in all that plus its tokens at
``factor`` times the slowest pace seen. Before a server has made a caption, a generous allowance for the
image's size stands in; a fixed ``reply_s`` (``engines add --reply-timeout``) overrides the measured one.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)

MEASURE_START = 2  # captions at a time a server starts with while its number is measured
MEASURE_CEILING = 64  # the most measuring reaches (vLLM takes more: give it with #N)
QUEUED_TO_SETTLE = 2  # captions seen waiting in a server's queue before its number is settled
MIN_QUEUE_WAIT_S = 0.05  # a wait shorter than this is a busy machine's hiccup, whatever the captions' length
PIXELS_PER_IMAGE_TOKEN = 28 * 28  # the smaller of the two models' token squares: more tokens, more time allowed
PACE_KEPT = 16  # captions whose times the deadlines follow (the latest)


@dataclass(frozen=True)
class Deadlines:
    """How long a caption may wait for a server's reply, and take in all (seconds)."""

    reply_s: float | None = None  # fixed: no piece for this long ends the try; None: from the server's pace
    factor: float = 4.0  # a caption may be this many times slower than the slowest the server has been
    floor_s: float = 15.0  # the least wait allowed for a reply (a busy machine's hiccups)
    unmeasured_s: float = 60.0  # before a server has made a caption: the wait for a reply, plus ...
    unmeasured_per_image_token_s: float = 0.05  # ... this for each token of the image (a CPU server's encoding)
    unmeasured_per_token_s: float = 0.5  # the pace assumed for a caption's tokens before one was measured

    def __post_init__(self) -> None:
        if self.reply_s is not None and self.reply_s <= 0:
            raise ValueError("a server's reply time-out must be more than 0 seconds")


@dataclass
class _Flight:
    """A caption on the server, from its request to its end (times on the caller's clock)."""

    started_with: int  # captions on the server when it started, itself included
    pixels: int
    started: float
    reply_s: float  # the longest it may wait for a piece
    total_s: float  # the longest it may take in all
    last_reply: float  # when it started, then when its last piece came
    streaming: bool = False  # its first piece came and it has not ended
    peak: int = 0  # the most captions seen streaming at once on the server while this one streamed
    overdue: str = ""  # why its time is up ("no reply for 40 s")


@dataclass
class _Pace:
    first_s: float  # from the request to the first piece
    pixels: int
    per_token_s: float  # from the first piece to the end, per token after the first


@dataclass
class Capacity:
    """One server's captions at a time and its pace. ``key``: a caption's try, unique for the engine's life."""

    name: str  # for the log
    slots: int
    measuring: bool = False
    fixed: bool = False  # given by the user (#N): what the server does never changes it
    deadlines: Deadlines = field(default_factory=Deadlines)
    most_streaming: int = 0  # the most seen streaming at once: what it takes at a time, once it was ever full
    _flights: dict[int, _Flight] = field(default_factory=dict)
    _fastest_first_s: float | None = None  # the quickest first piece seen: a caption that did not queue
    _shortest_caption_s: float | None = None  # the quickest whole caption: about what a queued one waits
    _queued_seen: int = 0  # captions seen waiting in its queue while measuring
    _pace: deque[_Pace] = field(default_factory=lambda: deque(maxlen=PACE_KEPT))
    _said_slow: bool = False  # ``newly_slow`` said so, and a caption has waited that long ever since

    # --- captions at a time ------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    @property
    def streaming(self) -> int:
        return sum(f.streaming for f in self._flights.values())

    def has_room(self) -> bool:
        return self.in_flight < self.slots

    def start(self, key: int, pixels: int = 0, max_tokens: int = 0, now: float = 0.0) -> float:
        """A caption of ``pixels`` and up to ``max_tokens`` is sent ``now``; gives how long it may wait for a
        reply (its request's own time-out: a stream not yet open cannot be closed when its time is up)."""
        reply_s = self.reply_allowance(pixels)
        self._flights[key] = _Flight(self.in_flight + 1, pixels, now, reply_s,
                                     self.total_allowance(pixels, max_tokens), last_reply=now)
        return reply_s

    def replied(self, key: int, now: float = 0.0) -> None:
        """A piece of the caption came; the first says it holds one of the server's places until it ends."""
        flight = self._flights.get(key)
        if flight is None:
            return
        flight.last_reply = now
        if flight.streaming:
            return
        flight.streaming = True
        streaming = self.streaming
        self.most_streaming = max(self.most_streaming, streaming)
        for other in self._flights.values():
            if other.streaming:
                other.peak = max(other.peak, streaming)

    def finished(self, key: int, first_s: float, decode_s: float, tokens: int) -> None:
        """The caption was made: its times feed the pace and, while measuring, the number.

        One that started beside others and waited for its first piece most of a caption longer than the
        quickest did was queued by the server: it waited for another caption to end. The second such caption
        settles the number at the most captions seen streaming at once (the server was full, so that is its
        number; which of a burst of requests gets queued depends on which reached it last, so the count the
        queued one started with says little). One that streamed beside as many others as the number allows,
        having started with the server that full, doubles it."""
        flight = self._flights.pop(key, None)
        if flight is None:
            return
        self._pace.append(_Pace(first_s, flight.pixels, decode_s / max(1, tokens - 1)))
        if not self.measuring:
            return
        fastest = self._fastest_first_s = min(self._fastest_first_s or first_s, first_s)
        shortest = self._shortest_caption_s = min(self._shortest_caption_s or first_s + decode_s,
                                                  first_s + decode_s)
        # Measured against a whole caption, not the first piece: on a CPU server the image's encoding is most
        # of a caption, so a queued caption's first piece comes only about twice as late as the quickest.
        if flight.started_with > 1 and first_s - fastest > max(0.75 * shortest, MIN_QUEUE_WAIT_S):
            self._queued_seen += 1
            if self._queued_seen >= QUEUED_TO_SETTLE:
                self._settle(self.most_streaming)
        elif flight.started_with >= self.slots and flight.peak >= self.slots:
            self.slots = min(MEASURE_CEILING, self.slots * 2)
            if self.slots == MEASURE_CEILING:
                self.measuring = False

    def turned_away(self, key: int) -> bool:
        """The server answered busy (429), or cut the caption's stream short before it ended. While it holds
        other captions that says it takes no more than those: the number is lowered to them (at any time, not
        only while measuring: a burst can settle one too high), and True says that this was not a failure of
        the server, nor of the caption. False: it held no other (or its number was given), so it failed."""
        self._flights.pop(key, None)
        if self.fixed or not self._flights:
            return False
        self._settle(len(self._flights))
        return True

    def ended(self, key: int) -> None:
        """The caption ended otherwise (failed, cancelled, abandoned)."""
        self._flights.pop(key, None)

    def _settle(self, slots: int) -> None:
        slots = max(1, min(self.slots, slots))
        if slots == self.slots and not self.measuring:
            return
        self.slots, self.measuring = slots, False
        LOG.warning("%s takes %d caption%s at a time (measured)", self.name, slots, "s" if slots != 1 else "")

    # --- deadlines ----------------------------------------------------------------------------

    def overdue(self, now: float) -> dict[int, str]:
        """The captions whose time is up, each with why: no piece for longer than it may wait, or longer in all
        than it may take. Once overdue, always (until it ends): its stream may open only later."""
        for flight in self._flights.values():
            waited, took = now - flight.last_reply, now - flight.started
            if not flight.overdue and waited > flight.reply_s:
                flight.overdue = f"no reply for {waited:.0f} s"
            elif not flight.overdue and took > flight.total_s:
                flight.overdue = f"not done after {took:.0f} s"
        return {key: f.overdue for key, f in self._flights.items() if f.overdue}

    def waiting(self, now: float) -> tuple[float, bool]:
        """The longest one of its captions has waited for a reply, and whether one has waited more than half
        of what it may (the server is slow)."""
        waits = [(now - f.last_reply, now - f.last_reply > f.reply_s / 2) for f in self._flights.values()]
        return max((w for w, _ in waits), default=0.0), any(slow for _, slow in waits)

    def newly_slow(self, now: float) -> float | None:
        """How long a caption has waited, when the server has just become slow (to say so once, until none of
        its captions waits that long); None otherwise."""
        waited, slow = self.waiting(now)
        news = slow and not self._said_slow
        self._said_slow = slow
        return waited if news else None


    def reply_allowance(self, pixels: int) -> float:
        """How long a caption of ``pixels`` may wait for a piece (the first, or the next) before its try ends."""
        rules = self.deadlines
        if rules.reply_s is not None:
            return rules.reply_s
        if not self._pace:
            return rules.unmeasured_s + rules.unmeasured_per_image_token_s * pixels / PIXELS_PER_IMAGE_TOKEN
        slowest = max(p.first_s * max(1.0, pixels / max(p.pixels, 1)) ** 2 for p in self._pace)
        return max(rules.floor_s, rules.factor * slowest)

    def total_allowance(self, pixels: int, max_tokens: int) -> float:
        """How long a caption of ``pixels`` and up to ``max_tokens`` may take in all."""
        rules = self.deadlines
        per_token = rules.factor * max(p.per_token_s for p in self._pace) if self._pace \
            else rules.unmeasured_per_token_s
        return self.reply_allowance(pixels) + max_tokens * per_token
