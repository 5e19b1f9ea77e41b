"""Stand-in engine processes for testing the client's waiting: they reply late, or die without a word."""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing.connection import Connection

from caprl_desktop.core.engine.protocol import Piece


def reply_after(conn: Connection, seconds: float) -> None:
    time.sleep(seconds)
    conn.send(Piece(1, "late"))
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # the client's Shutdown, or its end


def die_after(conn: Connection, seconds: float) -> None:
    """Exit without a reply, as llama.cpp's abort() ends the engine."""
    time.sleep(seconds)
    os._exit(3)
