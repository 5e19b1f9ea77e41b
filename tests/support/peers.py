"""Stand-in engine processes for testing the client's waiting: they load at once, then reply late or die without
a word. Each is an ``EngineClient(process_main=...)``: it gets its end of the pipe and a log path, as the real
engine process does."""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing.connection import Connection

from caprl_desktop.core.engine.protocol import Caption, Load, Loaded, Piece
from tests.support.fake_engines import engine_info


def _load_and_take_a_caption(conn: Connection) -> Caption:
    load = conn.recv()
    assert isinstance(load, Load)
    conn.send(Loaded(engine_info(load.config)))
    caption = conn.recv()
    assert isinstance(caption, Caption)
    return caption


def reply_after(conn: Connection, log_path: str, *, seconds: float) -> None:
    caption = _load_and_take_a_caption(conn)
    time.sleep(seconds)
    conn.send(Piece(caption.request_id, "late"))
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # the client's Shutdown, or its end


def die_after(conn: Connection, log_path: str, *, seconds: float) -> None:
    """Exit without a reply, as llama.cpp's abort() ends the engine."""
    _load_and_take_a_caption(conn)
    time.sleep(seconds)
    os._exit(3)

