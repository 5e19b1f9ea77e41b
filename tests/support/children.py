"""Spawned children for ``core/child_answer``'s tests: one that answers, one that hangs, one that ends without a
word. Nothing imported beyond the standard library, so each starts quickly."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import Connection


def answer(conn: Connection, what: object) -> None:
    conn.send(what)


def hang(conn: Connection) -> None:
    time.sleep(60)


def exit_silently(conn: Connection, code: int) -> None:
    os._exit(code)
