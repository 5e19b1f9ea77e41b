"""What the journal saves when its file fails it: a damaged file, a deleted one, one too busy to write.

* Damaged: the descriptions that ``--metadata-existing replace`` replaced are the one thing in the journal that
  exists nowhere else, so ``read_replaced`` reads what SQLite can still read of them from the file set aside,
  and says whether that was all of them.
* Deleted while open (a cleaner, a user): the open connection still reads the unlinked file, so
  ``copy_open`` writes all of it to a new file; ``merge_copy`` adds it to a journal that another process made
  at the same path meanwhile.
* Busy for longer than a write waits: a finished image's row, or a run's end, is kept in a small JSON file
  (``keep_unrecorded``) and written into the journal by the next write that gets through (``kept_unrecorded``).

Plain functions over connections and paths; ``journal.Journal`` decides when each is needed.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

from caprl_desktop.core.atomic import atomic_write_text

_JOB_COLUMNS = "created, updated, status, pid, pid_started, host, roots, options"
_ITEM_COLUMNS = "seq, path, root, state, caption, error, seconds, output_tokens, sidecar, provenance"

SET_ASIDE_TABLE = """
CREATE TABLE IF NOT EXISTS set_aside_journals (
    path TEXT PRIMARY KEY,
    noted TEXT NOT NULL,
    recovered INTEGER NOT NULL,
    complete INTEGER NOT NULL
);
"""

ReplacedRow = tuple[str, str, str]  # path, snapshot (JSON), written_at


def read_replaced(damaged: Path) -> tuple[list[ReplacedRow], bool]:
    """The replaced descriptions SQLite can still read from ``damaged``, oldest first, and whether that is all.

    Opened read-only and immutable: nothing is written to a file kept for inspection (its WAL, moved beside it
    under the matching name, is read where SQLite can)."""
    rows: list[ReplacedRow] = []
    try:
        db = sqlite3.connect(f"{damaged.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows, False
    try:
        for path, snapshot, written_at in db.execute(
                "SELECT path, snapshot, written_at FROM replaced_descriptions ORDER BY id"):
            rows.append((str(path), str(snapshot), str(written_at)))
    except sqlite3.OperationalError as exc:
        # A journal from before schema 3 never had the table: nothing was replaced, all of it was read.
        return rows, "no such table" in str(exc) and not rows
    except sqlite3.Error:  # "malformed", "not a database": the rest is beyond SQLite's reach
        return rows, False
    finally:
        db.close()
    return rows, True


def add_replaced(db: sqlite3.Connection, rows: list[ReplacedRow]) -> None:
    """Insert ``rows`` (from an older journal) as older than every row already there: the newest per file counts."""
    lowest = db.execute("SELECT min(id) FROM replaced_descriptions").fetchone()[0]
    first = min(lowest if lowest is not None else 1, 1) - len(rows)
    db.executemany("INSERT INTO replaced_descriptions (id, path, snapshot, written_at) VALUES (?, ?, ?, ?)",
                   ((first + n, *row) for n, row in enumerate(rows)))


def copy_open(db: sqlite3.Connection, to: Path) -> None:
    """Everything ``db`` reads (its file may be gone) into the new file ``to``, in rollback mode: one file."""
    copy = sqlite3.connect(to)
    try:
        db.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()


def merge_copy(db: sqlite3.Connection, schema: str, pid: int) -> dict[int, int]:
    """Add the runs and replaced descriptions of the attached copy ``schema`` to ``db``'s main journal.

    Inside the caller's transaction. A run only in the copy is added; this process's own runs (``pid``) replace
    the journal's rows of the same run, being newer; another process's run already there is left to that
    process. A run whose number another run took meanwhile is added under a new number: returned, for this
    process's runs, as {old: new}."""
    renumbered: dict[int, int] = {}
    copied = db.execute(f"SELECT id, created, pid, roots FROM {schema}.jobs ORDER BY id").fetchall()
    for job_id, *run in copied:
        job_pid = run[1]
        here = db.execute("SELECT created, pid, roots FROM main.jobs WHERE id=?", (job_id,)).fetchone()
        target = job_id
        if here is not None and list(here) == run:  # the same run (started in that second, by that process)
            if job_pid != pid:
                continue
            db.execute("DELETE FROM main.jobs WHERE id=?", (job_id,))  # its items go with it (ON DELETE CASCADE)
        elif here is not None:
            target = db.execute("SELECT max(id) + 1 FROM main.jobs").fetchone()[0]
            if job_pid == pid:
                renumbered[job_id] = target
        db.execute(f"INSERT INTO main.jobs (id, {_JOB_COLUMNS}) SELECT ?, {_JOB_COLUMNS} FROM {schema}.jobs "
                   "WHERE id=?", (target, job_id))
        db.execute(f"INSERT INTO main.items (job_id, {_ITEM_COLUMNS}) SELECT ?, {_ITEM_COLUMNS} "
                   f"FROM {schema}.items WHERE job_id=?", (target, job_id))
    db.execute(f"INSERT INTO main.replaced_descriptions (path, snapshot, written_at) "
               f"SELECT path, snapshot, written_at FROM {schema}.replaced_descriptions AS r WHERE NOT EXISTS "
               "(SELECT 1 FROM main.replaced_descriptions AS m "
               " WHERE m.path=r.path AND m.snapshot=r.snapshot AND m.written_at=r.written_at) ORDER BY r.id")
    if db.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE name='set_aside_journals'").fetchone():
        db.execute(SET_ASIDE_TABLE)
        db.execute(f"INSERT OR IGNORE INTO main.set_aside_journals SELECT * FROM {schema}.set_aside_journals")
    return renumbered


# --- rows kept while the journal cannot be written -------------------------------------------------


def keep_unrecorded(folder: Path, entry: dict[str, Any]) -> Path:
    """Keep ``entry`` (an image's row, a run's end) in ``folder`` until the journal takes it; ``OSError`` if not."""
    folder.mkdir(parents=True, exist_ok=True)
    # Named so that they sort in the order they were made, whichever process made them.
    path = folder / f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.json"
    atomic_write_text(path, json.dumps(entry))  # ASCII: a file name that is not UTF-8 survives as its escapes
    return path


def kept_unrecorded(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The rows kept in ``folder``, oldest first; a file that cannot be read stays for a person to look at."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict):
            found.append((path, entry))
    return found

