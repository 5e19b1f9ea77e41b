"""A caption server's captions at a time and deadlines, measured from events fed in (no threads, no sockets)."""

from __future__ import annotations

import pytest

from caprl_desktop.core.engine.remote.capacity import MEASURE_CEILING, Capacity, Deadlines

PIXELS = 784 * 1024  # an image of 1,024 tokens of 28×28 pixels


def measuring(slots: int = 2) -> Capacity:
    return Capacity("box", slots, measuring=True)


def test_captions_that_streamed_side_by_side_double_the_number() -> None:
    box = measuring()
    box.start(1)
    box.start(2)
    box.replied(1)
    box.replied(2)
    box.finished(1, 0.1, 0.5, 8)
    assert (box.slots, box.measuring) == (2, True)  # it started alone
    box.finished(2, 0.1, 0.5, 8)
    assert (box.slots, box.measuring, box.most_streaming) == (4, True, 2)


def test_a_caption_sent_to_a_full_server_that_streamed_alone_raises_nothing() -> None:
    """What failover does: captions of a failed server fill this one; one of them is cut short for another
    reason (counted elsewhere), the other streams alone and quickly. It never streamed two at once."""
    box = measuring()
    box.start(1)
    box.start(2)
    box.replied(1)
    box.ended(1)
    box.replied(2)
    box.finished(2, 0.1, 0.5, 8)
    assert (box.slots, box.measuring) == (2, True)


def test_a_stream_cut_while_the_server_holds_another_settles_it_at_one() -> None:
    """llama-cpp-python's server ends the stream in progress when the next request comes."""
    box = measuring()
    box.start(1)
    box.replied(1)
    box.start(2)
    assert box.turned_away(1)  # not the server's failure, nor the caption's
    assert (box.slots, box.measuring, box.in_flight) == (1, False, 1)
    box.replied(2)
    box.finished(2, 0.1, 0.5, 8)
    box.start(3)
    assert box.has_room() is False and box.slots == 1  # settled: finished captions no longer raise it


def test_turned_away_alone_or_with_a_given_number_is_a_failure() -> None:
    alone = measuring()
    alone.start(1)
    assert not alone.turned_away(1) and alone.slots == 2
    given = Capacity("box", 8, fixed=True)
    given.start(1)
    given.start(2)
    assert not given.turned_away(2) and given.slots == 8
    said = Capacity("box", 5)  # said by the server (/props): a 429 beside others still lowers it
    for key in range(4):
        said.start(key)
    assert said.turned_away(3) and said.slots == 3


def test_turned_away_never_raises_a_number() -> None:
    box = Capacity("box", 2)
    for key in range(3):
        box.start(key)  # (more than its number: an engine never does this, but a number only goes down)
    assert box.turned_away(0) and box.slots == 2


def test_two_queued_captions_settle_the_number_at_the_most_seen_streaming() -> None:
    box = measuring(4)
    for key in range(1, 5):
        box.start(key)
    for key in (1, 2, 3):
        box.replied(key)
    for key in (1, 2, 3):
        box.finished(key, 0.1, 1.0, 10)  # three at once: each took 1.1 s
    box.replied(4)
    box.finished(4, 1.2, 1.0, 10)  # its first piece a caption late: it waited in the server's queue
    assert (box.slots, box.measuring) == (4, True)
    box.start(5)
    box.start(6)
    box.replied(5)
    box.finished(5, 0.1, 1.0, 10)
    box.replied(6)
    box.finished(6, 1.3, 1.0, 10)
    assert (box.slots, box.measuring) == (3, False)


def test_measuring_stops_at_its_ceiling() -> None:
    box = measuring(MEASURE_CEILING // 2)
    keys = range(MEASURE_CEILING // 2)
    for key in keys:
        box.start(key)
    for key in keys:
        box.replied(key)
    for key in keys:
        box.finished(key, 0.1, 0.5, 8)
    assert (box.slots, box.measuring) == (MEASURE_CEILING, False)


def test_deadlines_before_a_server_made_a_caption_follow_the_image_size() -> None:
    box = measuring()
    assert box.reply_allowance(PIXELS) == pytest.approx(60 + 0.05 * 1024)
    assert box.reply_allowance(PIXELS // 4) == pytest.approx(60 + 0.05 * 256)
    assert box.total_allowance(PIXELS, 2048) == pytest.approx(60 + 0.05 * 1024 + 0.5 * 2048)


def test_deadlines_follow_the_servers_pace_and_grow_with_the_square_of_a_larger_image() -> None:
    box = measuring()
    box.start(1, PIXELS)
    box.replied(1)
    box.finished(1, 6.0, 2.0, 21)  # 6 s to the first piece, then 0.1 s a token
    assert box.reply_allowance(PIXELS) == pytest.approx(4 * 6.0)
    assert box.reply_allowance(PIXELS // 4) == pytest.approx(4 * 6.0)  # a smaller image: never less
    assert box.reply_allowance(2 * PIXELS) == pytest.approx(4 * 6.0 * 4)
    assert box.total_allowance(PIXELS, 100) == pytest.approx(24.0 + 100 * 4 * 0.1)
    quick = measuring()
    quick.start(1, PIXELS)
    quick.finished(1, 0.2, 0.2, 10)
    assert quick.reply_allowance(PIXELS) == 15.0  # the floor: a busy machine's hiccups


def test_a_reply_time_out_given_for_the_server_overrides_its_pace() -> None:
    box = Capacity("box", 1, deadlines=Deadlines(reply_s=7.5))
    assert box.reply_allowance(PIXELS) == 7.5
    box.start(1, PIXELS)
    box.finished(1, 60.0, 1.0, 11)
    assert box.reply_allowance(4 * PIXELS) == 7.5
    with pytest.raises(ValueError, match="more than 0"):
        Deadlines(reply_s=0)


def test_a_caption_is_overdue_with_no_reply_for_its_allowance_or_past_its_whole_time() -> None:
    box = Capacity("box", 2, deadlines=Deadlines(reply_s=10.0, unmeasured_per_token_s=1.0))
    assert box.start(1, PIXELS, max_tokens=5, now=100.0) == 10.0  # its request's own time-out
    box.start(2, PIXELS, max_tokens=5, now=100.0)
    assert box.overdue(105.0) == {} and box.waiting(105.0) == (5.0, False)
    assert box.waiting(106.0) == (6.0, True)  # more than half of what it may: slow
    box.replied(1, 108.0)
    assert box.overdue(110.5) == {2: "no reply for 10 s"}  # the one that never replied
    for second in range(112, 116, 2):
        box.replied(1, float(second))  # a piece every 2 s: never a wait too long ...
    assert box.overdue(115.5) == {1: "not done after 16 s", 2: "no reply for 10 s"}  # ... but 10 + 5 s in all
    assert box.waiting(115.5) == (15.5, True)
    box.ended(2)
    box.ended(1)
    assert box.overdue(200.0) == {} and box.waiting(200.0) == (0.0, False)
