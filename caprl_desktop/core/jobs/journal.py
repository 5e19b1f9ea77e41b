"""The job journal: every captioning run recorded on disk, image by image, so a killed run can be resumed.

SQLite in the app's data folder (``jobs.sqlite3``), WAL with full sync: a row committed is on disk, and a
power cut leaves the last committed state, never a torn one. An image is recorded as done only after
its sidecar has been written (atomically, by the job), in one transaction with its caption, so nothing
half-written is ever read back as done.

A job whose process is gone while it was still running (killed, crashed, power lost) shows as
interrupted; ``pending()`` gives the images it had not finished, in order, for ``resume``.

Each finished image keeps its caption's provenance (``items.provenance``, the ``Provenance`` as JSON), so an
export of a resumed run describes every caption as the run that made it did. Schema 2 added that column;
a version-1 journal gets it on opening, its earlier rows without provenance.

Schema 3 added ``replaced_descriptions``: each human description that ``--metadata-existing replace`` replaced
inside an image (the ``FieldSnapshot`` as JSON, bytes as base64), kept apart from the jobs so that forgetting
or pruning a run never loses what ``caprl-desktop metadata restore`` needs; the newest row per file counts.

``caption_edits`` (added without a schema version; made by the first edit) keeps each caption a person saved in
the window, with the model's caption it changed, apart from the runs: with the runs' captions (``written``) it
is each image's history (``history.py``), and what tells a caption edited by hand from the model's.

When the file fails (``journal_rescue.py`` does the work): a damaged journal is set aside, the replaced
descriptions SQLite can still read in it are carried over, and ``set_aside_journals`` notes whether that was all
of them; while one set aside could not be read in full, ``replaced_description`` refuses to answer "none" for a
file it has no row for, so a restore never removes what it could not put back. A journal deleted while open is
written again from the open connection before the next write (the run so far, a resume after a kill works). A
finished image whose row cannot be written (a journal busy past the wait) is kept beside the journal and
written by the next write that gets through, by this process or another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import glob
import json
import logging
import os
import secrets
import socket
import sqlite3
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from caprl_desktop import __version__
from caprl_desktop.core import paths
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.export.writers import SOURCE_DISK, SOURCE_MODEL, CaptionRecord
from caprl_desktop.core.jobs import journal_rescue
from caprl_desktop.core.jobs.descriptions import snapshot_from_json, snapshot_to_json
from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.events import ItemFinished, ItemSkipped, JobEvent, JobFinished
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.metadata.fields import FieldSnapshot
from caprl_desktop.core.params import GenerationParams, ImageBudget
from caprl_desktop.core.prompts import PromptSpec

SCHEMA_VERSION = 3  # 2: items.provenance; 3: replaced_descriptions
# "unsaved": the caption was made and is kept here, but its sidecar could not be written; resuming saves it.
ItemState = Literal["pending", "done", "failed", "skipped", "unsaved"]
JobStatus = Literal["running", "stopped", "finished", "interrupted"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER,
    pid_started REAL,
    host TEXT,
    roots TEXT NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    root TEXT NOT NULL,
    state TEXT NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    seconds REAL,
    output_tokens INTEGER,
    sidecar TEXT,
    provenance TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS items_by_path ON items (job_id, path);
CREATE TABLE IF NOT EXISTS replaced_descriptions (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS replaced_descriptions_by_path ON replaced_descriptions (path, id);
""" + journal_rescue.SET_ASIDE_TABLE  # (added without a schema version: absent, it reads as "none set aside")

# Captions a person saved in the window, kept apart from the runs (forgetting a run keeps them). Added without
# a schema version, as the table above: made by the first edit, absent it reads as "no edits", and a journal
# that has it still opens in a version of the app that knows nothing of it.
EDITS_TABLE = """
CREATE TABLE IF NOT EXISTS caption_edits (
    id INTEGER PRIMARY KEY,
    sidecar TEXT NOT NULL,
    image TEXT NOT NULL,
    caption TEXT NOT NULL,
    kind TEXT NOT NULL,
    model_job INTEGER,
    model_caption TEXT,
    written_at TEXT NOT NULL
)"""
EDITS_INDEX = "CREATE INDEX IF NOT EXISTS caption_edits_by_sidecar ON caption_edits (sidecar, id)"
# Typed; the model's caption put back; an earlier one put back; a caption nothing recorded, found on disk and
# kept before a re-caption replaced it.
EditKind = Literal["edit", "revert", "undo", "disk"]


BUSY_TIMEOUT_S = 15.0  # how long a write waits for another process's write to end

_log = logging.getLogger(__name__)


class JournalError(CaprlError):
    pass


class JournalBusyError(JournalError):
    """Another process holds the journal for writing: nothing is wrong with it; try again later."""


class OptionsUnreadableError(JournalError):
    """A run's stored options do not fit this version's (written by another version of the app)."""


class DescriptionUnknownError(JournalError):
    """Whether the app replaced a file's description, and what it was, cannot be read: nothing may be removed."""


@dataclass(frozen=True)
class JobSummary:
    id: int
    created: str
    updated: str
    status: JobStatus
    roots: tuple[Path, ...]
    counts: dict[str, int]  # by item state
    options: JobOptions | None  # None: stored by a version of the app whose options this one cannot read
    unreadable: str = ""  # why ``options`` is None

    @property
    def resumable(self) -> bool:
        return self.options is not None and self.status in ("stopped", "interrupted") and self.left > 0

    @property
    def left(self) -> int:
        """Images still to caption or to save."""
        return self.counts.get("pending", 0) + self.counts.get("unsaved", 0)

    def describe(self) -> str:
        roots = ", ".join(str(r) for r in self.roots)
        parts = [f"{self.counts.get(s, 0)} {s}" for s in ("done", "skipped", "failed", "unsaved", "pending")
                 if self.counts.get(s)]
        text = f"job {self.id} ({self.status}, {self.created[:16].replace('T', ' ')}): {roots} · {', '.join(parts)}"
        return text + (f" · cannot resume ({self.unreadable})" if self.unreadable else "")


@dataclass(frozen=True)
class Written:
    """A caption a run of the app wrote to a sidecar, as recorded: its record (the run's language, prompt and
    model, the caption's provenance) and the run."""

    job_id: int
    started: str  # when the run started (ISO)
    record: CaptionRecord


@dataclass(frozen=True)
class CaptionEdit:
    """A caption a person saved in the window: typed, or put back from the image's history."""

    caption: str
    kind: EditKind
    written_at: str  # ISO time
    model_job: int | None  # the run whose caption was the sidecar's model caption then (None: none recorded)
    model_caption: str | None  # that caption, kept with the edit (the run may be forgotten later)


def default_path() -> Path:
    return paths.data_dir() / "jobs.sqlite3"


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _process_started(pid: int) -> float | None:
    import psutil  # (when a run starts or a running one is checked, not when the window starts)

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


# The stored form of a run's options. Version 0 (no "version" key) is the same layout as 1; a later version
# may add or rename fields, so a reader never trusts the layout blindly (see ``options_from_json``).
OPTIONS_VERSION = 3  # 2: metadata, metadata_existing (absent in 1: "off", "keep"); 3: guards, strip_openings
# (absent in 2: on, off)


def options_to_json(options: JobOptions) -> str:
    return json.dumps({"version": OPTIONS_VERSION, "app": __version__, **dataclasses.asdict(options)},
                      ensure_ascii=False)


def options_from_json(text: str) -> JobOptions:
    """The options as stored; ``OptionsUnreadableError`` names the version that wrote what this one cannot read."""
    writer = "an unknown version"
    try:
        data: dict[str, Any] = json.loads(text)
        writer = f"version {data.pop('app', 'before 0.1')}"
        stored = data.pop("version", 0)
        if stored > OPTIONS_VERSION:
            raise ValueError(f"options format {stored}")
        return JobOptions(
            prompt=PromptSpec(**data.pop("prompt")),
            params=GenerationParams(**data.pop("params")),
            image_budget=ImageBudget(**data.pop("image_budget")),
            **data,
        )
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise OptionsUnreadableError(f"written by CapRL Desktop {writer}") from exc


def _busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (getattr(sqlite3, "SQLITE_BUSY", 5), getattr(sqlite3, "SQLITE_LOCKED", 6))
    return any(word in str(exc).lower() for word in ("locked", "busy"))


class Journal:
    """One connection to the journal; use from one thread at a time."""

    def __init__(self, path: Path | None = None, *, busy_timeout: float | None = None) -> None:
        self.path = path or default_path()
        self.busy_timeout = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
        self.set_aside: Path | None = None  # a damaged journal moved out of the way on opening
        self.set_aside_note = ""  # what to tell the user about it (every face says it): "" when none
        self._kept = self.path.with_name(f"{self.path.name}.unrecorded")  # rows waiting for a busy journal
        self._ids: dict[int, int] = {}  # runs renumbered when the file was made anew by another process
        self._set_aside_read = False  # journals set aside (by any version) looked at for replaced descriptions
        self._unmerged: Path | None = None  # a copy of a deleted journal still to add to the one made anew
        self.path.parent.mkdir(parents=True, exist_ok=True)
        damaged: Path | None = None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if _busy(exc):
                raise self._busy_error() from exc
            if not self._damaged():
                raise JournalError(f"The job journal {self.path} cannot be opened: {exc}") from exc
            # Damaged (a disk error, a truncated copy): keep it for inspection, start a new one. Captions
            # themselves are in the sidecars, which a new run skips.
            damaged = self._set_aside()
            self._db = self._open()
        self._identity = _identity(self.path)
        try:
            if damaged is not None:
                self.set_aside_note = self._carry_over(damaged)
            self._record_kept_now()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # a no-op read once the file is in WAL mode
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(f"{self.path} was written by a newer CapRL Desktop; update the app.")
            if version < SCHEMA_VERSION:
                # Writes only for a new (or older) journal: opening one to read must not wait on a writer.
                db.executescript(_SCHEMA)
                _migrate(db)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            # Reads the tables' first pages (an index, then each table): a damaged file fails here.
            db.execute("SELECT count(*) FROM items").fetchone()
            db.execute("SELECT max(rowid) FROM items").fetchone()
            db.execute("SELECT max(id) FROM jobs").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _damaged(self) -> bool:
        """Whether SQLite's own check finds the file damaged; busy or merely unreadable for now is not damage."""
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout)
            try:
                rows = db.execute("PRAGMA quick_check").fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            return not _busy(exc)  # "file is not a database", a torn header: damaged
        return rows != [("ok",)]

    def _set_aside(self) -> Path:
        """Move the damaged journal and its WAL files aside together (the WAL may hold what a reader needs)."""
        stamp = f"{datetime.datetime.now():%Y%m%d-%H%M%S}"
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        if aside.exists():  # one set aside in the same second is kept too
            aside = aside.with_name(f"{aside.name}-{secrets.token_hex(2)}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{self.path}{suffix}")
            if companion.exists():
                companion.replace(Path(f"{aside}{suffix}"))
        self.set_aside = aside
        return aside

    def _carry_over(self, damaged: Path) -> str:
        """Carry the replaced descriptions over from ``damaged`` (just set aside); the sentence that says so."""
        self._read_set_aside()
        noted = {Path(path): (recovered, complete) for path, recovered, complete in self._set_aside_rows()}
        recovered, complete = noted.get(damaged, (0, False))
        said = (f"The job journal was damaged: it was set aside as {damaged} and a new one was started (captions "
                "are in their sidecars; the list of earlier runs is lost).")
        if not complete:
            return said + (" The descriptions that `--metadata-existing replace` replaced could not all be read "
                           "from it, so `metadata restore` leaves the app's descriptions as they are while that "
                           "file is there.")
        if recovered:
            return said + f" {recovered} replaced description{' was' if recovered == 1 else 's were'} carried over."
        return said

    def _damaged_journals(self) -> list[Path]:
        """Journals set aside beside this one, by this version or an earlier one (their WAL files aside)."""
        found = self.path.parent.glob(f"{glob.escape(self.path.name)}.damaged-*")
        return sorted(p for p in found if not p.name.endswith(("-wal", "-shm", "-journal")))

    def _set_aside_rows(self) -> list[tuple[str, int, int]]:
        try:
            return self._db.execute("SELECT path, recovered, complete FROM set_aside_journals").fetchall()
        except sqlite3.OperationalError:  # a journal made before the table: none noted in it
            return []

    def _read_set_aside(self) -> None:
        """Carry over the replaced descriptions of every journal set aside that this one has not read yet."""
        self._set_aside_read = True
        noted = {Path(row[0]) for row in self._set_aside_rows()}
        for damaged in self._damaged_journals():
            if damaged in noted:
                continue
            rows, complete = journal_rescue.read_replaced(damaged)
            with self._transaction() as db:
                db.execute(journal_rescue.SET_ASIDE_TABLE)
                if db.execute("SELECT 1 FROM set_aside_journals WHERE path=?", (str(damaged),)).fetchone():
                    continue  # another process carried it over meanwhile
                journal_rescue.add_replaced(db, rows)
                db.execute("INSERT INTO set_aside_journals (path, noted, recovered, complete) VALUES (?, ?, ?, ?)",
                           (str(damaged), _now(), len(rows), int(complete)))

    def _follow_file(self) -> None:
        """Before a write: if the file was deleted or replaced under this connection (a cleaner, a user), write
        what the connection still reads (every run, the one going on included) to the path again, or add it
        to the journal another process made there meanwhile. Otherwise a run writes on into a file nobody
        can open, and a resume after a kill finds nothing."""
        if self._unmerged is not None:
            self._merge(self._unmerged)  # the journal was busy the last time
        if _identity(self.path) == self._identity:
            return
        _log.warning("the job journal %s was deleted or replaced while in use; writing it again", self.path)
        copy = self.path.with_name(f"{self.path.name}.rescued-{os.getpid()}-{secrets.token_hex(3)}")
        placed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            journal_rescue.copy_open(self._db, copy)
            self._db.close()
            if not self.path.exists():
                # The deleted journal's own WAL files, if left, must not be read as the new file's.
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                placed = _place(copy, self.path)
            self._db = self._open()
            self._identity = _identity(self.path)
        except (OSError, sqlite3.Error, JournalError) as exc:
            # Later writes go to whatever journal is at the path now (an empty stand-in if none opens).
            with contextlib.suppress(sqlite3.ProgrammingError):
                self._db.close()
            try:
                self._db = self._open()
                self._identity = _identity(self.path)
            except (OSError, sqlite3.Error, JournalError):
                self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            raise JournalError(f"The job journal {self.path} was deleted while in use and could not be written "
                               f"again ({exc}); what this run had recorded is kept in {copy}.") from exc
        if placed:
            copy.unlink(missing_ok=True)
        else:
            self._merge(copy)

    def _merge(self, copy: Path) -> None:
        """Add the copy of the deleted journal to the one another process made at the path meanwhile."""
        self._db.execute("ATTACH DATABASE ? AS rescued", (str(copy),))
        try:
            with self._transaction(merging=True) as db:
                moved = journal_rescue.merge_copy(db, "rescued", os.getpid())
        except JournalBusyError:
            self._unmerged = copy  # tried again before the next write
            raise
        except (JournalError, sqlite3.Error) as exc:
            self._unmerged = None
            raise JournalError(f"The job journal {self.path} was made anew while in use, and what this run had "
                               f"recorded could not be added to it ({exc}); it is kept in {copy}.") from exc
        finally:
            self._db.execute("DETACH DATABASE rescued")
        self._unmerged = None
        copy.unlink(missing_ok=True)
        self._ids = {old: moved.get(new, new) for old, new in self._ids.items()} | moved

    def _job(self, job_id: int) -> int:
        """The run's number in the file now (another run may have taken it, see ``_follow_file``)."""
        return self._ids.get(job_id, job_id)

    def _record_kept_now(self) -> None:
        """Write the rows kept for a busy journal, if it is free now: opening never waits on a writer."""
        if not self._kept.is_dir():
            return
        self._db.execute("PRAGMA busy_timeout=0")
        try:
            with contextlib.suppress(JournalBusyError):
                self.record_kept()
        finally:
            self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")

    def record_kept(self) -> None:
        """Write the rows that runs kept while the journal could not take them; waits as every write does."""
        with self._transaction():
            pass  # (every write transaction writes them first)

    def _write_kept(self, db: sqlite3.Connection) -> list[Path]:
        written = []
        for path, entry in journal_rescue.kept_unrecorded(self._kept):
            try:
                if entry.get("pid") == os.getpid():  # this process's run may have been renumbered since
                    entry["job_id"] = self._job(entry["job_id"])
                _write_entry(db, entry, kept=True)
            # Not this version's layout: left for a person to read, never in the way of every later write.
            except (KeyError, TypeError, ValueError, AttributeError, sqlite3.InterfaceError):
                continue
            written.append(path)
        return written

    def _busy_error(self) -> JournalBusyError:
        return JournalBusyError(f"The job journal {self.path} is busy: another CapRL Desktop process (a run, or "
                                f"the window) kept it locked for {self.busy_timeout:.0f} s. Nothing is wrong with "
                                "it; run the command again in a moment.")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self, *, merging: bool = False) -> Iterator[sqlite3.Connection]:
        """One write; first the file is checked (``_follow_file``) and the rows kept for a busy journal are
        written, except in the transaction that merges a deleted journal's copy (they may need its numbers)."""
        kept: list[Path] = []
        try:
            if not merging:
                self._follow_file()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                kept = [] if merging else self._write_kept(self._db)
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # Also when COMMIT itself failed (a full disk: WAL frames are written then); a connection
                # left inside a transaction would refuse every later write.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:  # disk full, read-only folder, locked for too long
            if _busy(exc):
                raise self._busy_error() from exc
            raise JournalError(f"The job journal {self.path} cannot be written: {exc}") from exc
        for path in kept:  # written: a second write of one would be harmless, but it is done
            with contextlib.suppress(OSError):
                path.unlink()
        if kept:
            with contextlib.suppress(OSError):  # gone when empty: opening the journal looks for it
                self._kept.rmdir()

    # --- writing ------------------------------------------------------------------------------

    def create(self, items: list[ImageItem], options: JobOptions) -> int:
        # Absolute, so that a resume from another working folder finds the same files.
        items = [ImageItem(i.path.absolute(), i.root.absolute()) for i in items]
        roots = sorted({str(i.root) for i in items})
        pid = os.getpid()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, updated, status, pid, pid_started, host, roots, options) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (_now(), _now(), pid, _process_started(pid), socket.gethostname(), json.dumps(roots),
                 options_to_json(options)),
            )
            job_id = cursor.lastrowid
            assert job_id is not None
            db.executemany(
                "INSERT INTO items (job_id, seq, path, root, state) VALUES (?, ?, ?, ?, 'pending')",
                ((job_id, seq, _stored(str(i.path)), _stored(str(i.root))) for seq, i in enumerate(items)),
            )
        return job_id

    def claim(self, job_id: int) -> None:
        """This process runs ``job_id`` now (a resume)."""
        pid = os.getpid()
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status='running', pid=?, pid_started=?, host=?, updated=? WHERE id=?",
                       (pid, _process_started(pid), socket.gethostname(), _now(), self._job(job_id)))

    def record(self, job_id: int, event: ItemFinished | ItemSkipped) -> None:
        """Record a finished image, after its sidecar was written. When the journal cannot take the row (busy
        past the wait, a full disk), the row is kept beside it for the next write, and the error says so."""
        self._write_or_keep(job_id, _record_entry(event), f"{event.item.file_name}'s caption is saved; it")

    def _write_or_keep(self, job_id: int, entry: dict[str, Any], what: str) -> None:
        try:
            with self._transaction() as db:
                entry["job_id"] = self._job(job_id)  # (the transaction may have found the run renumbered)
                _write_entry(db, entry)
        except JournalError as exc:
            entry["job_id"] = self._job(job_id)
            try:
                journal_rescue.keep_unrecorded(self._kept, entry)
            except OSError:
                raise exc from None
            raise type(exc)(f"{exc} {what} is recorded in the journal as soon as the journal can be written "
                            f"(kept meanwhile in {self._kept}).") from exc

    def replaced_description(self, path: Path) -> FieldSnapshot | None:
        """The description the app last replaced in ``path``; None when it replaced none.

        ``DescriptionUnknownError`` when that cannot be known: the row is in a journal set aside as damaged that
        SQLite could not read in full (while that file is there), or in a layout this version cannot read."""
        if not self._set_aside_read:
            self._read_set_aside()
        row = self._db.execute("SELECT snapshot FROM replaced_descriptions WHERE path=? ORDER BY id DESC LIMIT 1",
                               (_stored(str(path.absolute())),)).fetchone()
        if row is None:
            unread = [p for p, _, complete in self._set_aside_rows() if not complete and Path(p).exists()]
            if unread:
                raise DescriptionUnknownError(
                    f"the description the app replaced in {path.name} may be in the damaged job journal set aside "
                    f"as {', '.join(unread)}, which cannot be read in full; it was left as it is (once that file "
                    "is removed, restore removes the app's description, with nothing to put back)")
            return None
        try:
            return snapshot_from_json(json.loads(row[0]))
        except (ValueError, TypeError, AttributeError) as exc:  # another version's layout
            raise DescriptionUnknownError(
                f"the description the app replaced in {path.name} was recorded by another version of CapRL "
                "Desktop in a form this one cannot read; it was left as it is") from exc

    def forget_replaced(self, path: Path) -> None:
        """``path``'s replaced descriptions were put back: a second restore must not apply an older one."""
        with self._transaction() as db:
            db.execute("DELETE FROM replaced_descriptions WHERE path=?", (_stored(str(path.absolute())),))

    def set_status(self, job_id: int, status: Literal["running", "stopped", "finished"]) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status=?, updated=? WHERE id=?", (status, _now(), self._job(job_id)))

    def stop_if_running(self, job_id: int) -> None:
        """This process is done with ``job_id``: if nothing recorded its end (it never ran), it is stopped."""
        self.end_run(job_id, "stopped", only_if_running=True)

    def end_run(self, job_id: int, status: Literal["stopped", "finished"], *, only_if_running: bool = False,
                ) -> None:
        """This process's run ``job_id`` ended; a journal that cannot take it now gets it with the next write
        (until then, once this process is gone, the run reads as interrupted)."""
        entry = {"kind": "end", "status": status, "pid": os.getpid(), "only_if_running": only_if_running}
        self._write_or_keep(job_id, entry, "The run's end")

    def forget(self, job_id: int) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM jobs WHERE id=?", (self._job(job_id),)).rowcount > 0

    # --- reading ------------------------------------------------------------------------------

    def jobs(self, job_id: int | None = None) -> list[JobSummary]:
        """Every recorded run, oldest first; or just ``job_id`` (reading only its items)."""
        where, args = ("WHERE id=?", (self._job(job_id),)) if job_id is not None else ("", ())
        rows = self._db.execute(
            f"SELECT id, created, updated, status, pid, pid_started, host, roots, options FROM jobs {where} "
            "ORDER BY id", args).fetchall()
        item_where = "WHERE job_id=?" if job_id is not None else ""
        counts: dict[int, dict[str, int]] = {}
        for row_id, state, n in self._db.execute(
                f"SELECT job_id, state, count(*) FROM items {item_where} GROUP BY job_id, state", args):
            counts.setdefault(row_id, {})[state] = n
        return [self._summary(row, counts.get(row[0], {})) for row in rows]

    def get(self, job_id: int) -> JobSummary | None:
        found = self.jobs(job_id)
        return found[0] if found else None

    def _summary(self, row: tuple[Any, ...], counts: dict[str, int]) -> JobSummary:
        job_id, created, updated, status, pid, pid_started, host, roots, stored = row
        if status == "running" and not _still_running(pid, pid_started, host):
            status = "interrupted"
        try:
            options: JobOptions | None = options_from_json(stored)
            unreadable = ""
        except OptionsUnreadableError as exc:  # another version's run: listed, not resumable, nothing else breaks
            options, unreadable = None, str(exc)
        return JobSummary(job_id, created, updated, status, tuple(Path(r) for r in json.loads(roots)), counts,
                          options, unreadable)

    def pending(self, job_id: int) -> list[ImageItem]:
        """What is left: images to caption, and those whose caption is made but not saved (``made``)."""
        rows = self._db.execute("SELECT path, root FROM items WHERE job_id=? AND state IN ('pending', 'unsaved') "
                                "ORDER BY seq", (self._job(job_id),))
        return [ImageItem(Path(_read(path)), Path(_read(root))) for path, root in rows]

    def made(self, job_id: int) -> dict[Path, str]:
        """Captions made but not saved (a read-only folder, a full disk), to save when the job resumes."""
        rows = self._db.execute("SELECT path, caption FROM items WHERE job_id=? AND state='unsaved'",
                                (self._job(job_id),))
        return {Path(_read(path)): caption for path, caption in rows}

    def written_captions(self, sidecars: Iterable[Path]) -> dict[Path, str]:
        """The last caption the app wrote to each of ``sidecars`` (absolute paths), where it recorded one.

        One pass over the captions made ("done"; a skipped image's caption was read, not written), newest
        run last, so the last one recorded wins; no index is needed for a few thousand sidecars at a time."""
        wanted = {str(s) for s in sidecars}
        found: dict[Path, str] = {}
        if not wanted:
            return found
        rows = self._db.execute("SELECT sidecar, caption FROM items WHERE state='done' AND sidecar IS NOT NULL "
                                "ORDER BY job_id")
        for sidecar, caption in rows:
            if _read(sidecar) in wanted:
                found[Path(_read(sidecar))] = caption
        return found

    def written(self, sidecars: Iterable[Path]) -> dict[Path, list[Written]]:
        """Every caption a run wrote to each of ``sidecars`` (absolute paths), oldest run first; sidecars with
        none are absent. One pass over the captions made, as ``written_captions``."""
        wanted = {str(s) for s in sidecars}
        found: dict[Path, list[Written]] = {}
        if not wanted:
            return found
        labels: dict[int, tuple[str, str, str]] = {}
        rows = self._db.execute(
            "SELECT i.job_id, j.created, j.options, i.sidecar, i.path, i.root, i.caption, i.seconds, "
            "i.output_tokens, i.provenance FROM items AS i JOIN jobs AS j ON j.id = i.job_id "
            "WHERE i.state='done' AND i.sidecar IS NOT NULL ORDER BY i.job_id, i.seq")
        for job_id, started, stored, sidecar, path, root, caption, seconds, tokens, provenance in rows:
            if _read(sidecar) not in wanted:
                continue
            if job_id not in labels:
                labels[job_id] = _labels(stored)
            language, prompt, model = labels[job_id]
            item = ImageItem(Path(_read(path)), Path(_read(root)))
            record = CaptionRecord(item.file_name, caption, language, prompt, model, seconds, tokens, "",
                                   str(item.path), _provenance_from_json(provenance))
            found.setdefault(Path(_read(sidecar)), []).append(Written(job_id, started, record))
        return found

    def record_edit(self, image: Path, sidecar: Path, caption: str, kind: EditKind) -> None:
        """A caption a person saved in the window to ``sidecar``, recorded with the model's caption it changed."""
        self.record_edits([(image, sidecar, caption, kind, _now())])

    def record_edits(self, edits: Iterable[tuple[Path, Path, str, EditKind, str]]) -> None:
        """Several at once, in one transaction: (image, sidecar, caption, kind, when as ISO time)."""
        with self._transaction() as db:
            db.execute(EDITS_TABLE)
            db.execute(EDITS_INDEX)
            for image, sidecar, caption, kind, when in edits:
                where = _stored(str(sidecar.absolute()))
                model = db.execute("SELECT job_id, caption FROM items WHERE state='done' AND sidecar=? "
                                   "ORDER BY job_id DESC LIMIT 1", (where,)).fetchone()
                db.execute("INSERT INTO caption_edits (sidecar, image, caption, kind, model_job, model_caption, "
                           "written_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (where, _stored(str(image.absolute())), caption, kind, model[0] if model else None,
                            model[1] if model else None, when))

    def edits(self, sidecars: Iterable[Path]) -> dict[Path, list[CaptionEdit]]:
        """The edits saved to each of ``sidecars`` (absolute paths), oldest first; sidecars with none are absent."""
        wanted = {str(s) for s in sidecars}
        found: dict[Path, list[CaptionEdit]] = {}
        if not wanted:
            return found
        try:
            rows = self._db.execute("SELECT sidecar, caption, kind, written_at, model_job, model_caption "
                                    "FROM caption_edits ORDER BY id").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # no edit was ever saved
                return found
            raise JournalError(f"The job journal {self.path} cannot be read: {exc}") from exc
        for sidecar, caption, kind, written_at, model_job, model_caption in rows:
            if _read(sidecar) in wanted:
                found.setdefault(Path(_read(sidecar)), []).append(
                    CaptionEdit(caption, kind, written_at, model_job, model_caption))
        return found

    def record_replaced(self, written: Path, previous: FieldSnapshot) -> None:
        """A human description replaced in ``written`` outside a run (descriptions written from the captions on
        disk), kept as a run's are, for ``caprl-desktop metadata restore``."""
        with self._transaction() as db:
            db.execute("INSERT INTO replaced_descriptions (path, snapshot, written_at) VALUES (?, ?, ?)",
                       (_stored(str(written.absolute())), json.dumps(snapshot_to_json(previous), ensure_ascii=False),
                        _now()))

    def set_options(self, job_id: int, options: JobOptions) -> None:
        """A resume changed the run's options (its captions go elsewhere, longer captions, another seed)."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET options=?, updated=? WHERE id=?",
                       (options_to_json(options), _now(), self._job(job_id)))

    def prune(self, keep: int) -> int:
        """Forget all but the newest ``keep`` runs, except any still running; returns how many were forgotten.

        The journal is a history (`jobs list`), not an archive: captions themselves live in the sidecars."""
        old = [row[0] for row in self._db.execute("SELECT id FROM jobs ORDER BY id DESC LIMIT -1 OFFSET ?", (keep,))]
        gone = [summary.id for summary in map(self.get, old) if summary is not None and summary.status != "running"]
        if gone:
            with self._transaction() as db:
                db.executemany("DELETE FROM jobs WHERE id=?", ((job_id,) for job_id in gone))
        return len(gone)

    def records(self, job_id: int) -> list[CaptionRecord]:
        """Everything finished so far (done, failed, skipped), in the job's order: for exports."""
        return [record for _, record in self.finished(job_id)]

    def finished(self, job_id: int) -> list[tuple[ImageItem, CaptionRecord]]:
        """The images the run finished so far (done, failed, skipped) with their records, in the job's order."""
        summary = self.get(job_id)
        if summary is None:
            return []
        language, prompt, model = _option_labels(summary.options)
        rows = self._db.execute(
            "SELECT path, root, state, caption, error, seconds, output_tokens, provenance FROM items "
            "WHERE job_id=? AND state NOT IN ('pending', 'unsaved') ORDER BY seq", (self._job(job_id),))
        records: list[tuple[ImageItem, CaptionRecord]] = []
        for stored_path, root, state, caption, error, seconds, tokens, provenance in rows:
            path = _read(stored_path)
            item = ImageItem(Path(path), Path(_read(root)))
            made = state != "skipped"  # a skipped image's caption was made by an earlier run
            records.append((item, CaptionRecord(
                item.file_name, caption, language if made else "", prompt if made else "", model if made else "",
                seconds, tokens, _read(error), path, _provenance_from_json(provenance),
                source=SOURCE_MODEL if made else SOURCE_DISK)))
        return records


def _option_labels(options: JobOptions | None) -> tuple[str, str, str]:
    """A run's language, prompt and model label for its records ("" each when its options cannot be read)."""
    return (options.prompt.language, options.prompt.user, options.model_label) if options else ("", "", "")


def _labels(stored: str) -> tuple[str, str, str]:
    try:
        return _option_labels(options_from_json(stored))
    except OptionsUnreadableError:
        return "", "", ""


def _record_entry(event: ItemFinished | ItemSkipped) -> dict[str, Any]:
    """A finished image's row as plain values (JSON, for keeping while the journal is busy)."""
    rec, sidecar = event.record, event.sidecar
    state: ItemState = ("skipped" if isinstance(event, ItemSkipped) else "unsaved" if event.unsaved
                        else "failed" if rec.error else "done")
    description = event.description if isinstance(event, ItemFinished) else None
    replaced = None
    if description is not None and description.previous is not None and description.written is not None:
        replaced = [str(description.written.absolute()), json.dumps(snapshot_to_json(description.previous),
                                                                    ensure_ascii=False), _now()]
    # The sidecar absolute, as the image: ``written_captions`` finds it from any working folder.
    return {"kind": "record", "pid": os.getpid(), "path": str(event.item.path.absolute()), "state": state,
            "caption": rec.caption, "error": rec.error, "seconds": rec.seconds, "output_tokens": rec.output_tokens,
            "sidecar": str(sidecar.absolute()) if sidecar is not None else None,
            "provenance": _provenance_json(rec.provenance), "replaced": replaced}


def _write_entry(db: sqlite3.Connection, entry: dict[str, Any], *, kept: bool = False) -> None:
    """Write ``entry`` (an image's record, or a run's end); ``kept`` (written late): never undo what was
    written since, an image recorded by a resume, a run taken up again."""
    if entry["kind"] == "end":
        guard = " AND status='running' AND pid=?" if kept or entry["only_if_running"] else ""
        db.execute(f"UPDATE jobs SET status=?, updated=? WHERE id=?{guard}",
                   (entry["status"], _now(), entry["job_id"], *((entry["pid"],) if guard else ())))
        return
    sidecar = entry["sidecar"]
    db.execute(
        "UPDATE items SET state=?, caption=?, error=?, seconds=?, output_tokens=?, sidecar=?, provenance=? "
        "WHERE job_id=? AND path=?" + (" AND state IN ('pending', 'unsaved')" if kept else ""),
        (entry["state"], entry["caption"], _stored(entry["error"]), entry["seconds"], entry["output_tokens"],
         _stored(sidecar) if sidecar is not None else None, entry["provenance"], entry["job_id"],
         _stored(entry["path"])),
    )
    db.execute("UPDATE jobs SET updated=? WHERE id=?", (_now(), entry["job_id"]))
    if entry["replaced"] is not None:
        # In the same transaction as the image's record: a description replaced is never unrecorded.
        written, snapshot, written_at = entry["replaced"]
        db.execute("INSERT INTO replaced_descriptions (path, snapshot, written_at) VALUES (?, ?, ?)",
                   (_stored(written), snapshot, written_at))


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` now (None: none): a journal deleted or replaced under a connection differs."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _place(copy: Path, path: Path) -> bool:
    """Put ``copy`` at ``path`` unless a file appeared there meanwhile; whether it was put there."""
    try:
        os.link(copy, path)  # fails where a file is: another process's new journal is never replaced
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links
        if path.exists():
            return False
        copy.replace(path)
    return True


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older journal's tables up to this schema (a new one already has every column)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
    if "provenance" not in columns:  # schema 1
        try:
            db.execute("ALTER TABLE items ADD COLUMN provenance TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # another process opening it at once added it first
                raise


def _stored(text: str) -> str | bytes:
    """``text`` as SQLite can hold it: a name with bytes that are not UTF-8 (``os.fsdecode``'s surrogates) goes
    in as bytes that ``_read`` turns back into the same text; anything else as text, as before."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def _read(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def _provenance_json(provenance: Provenance | None) -> str | None:
    return json.dumps(provenance.to_dict(), ensure_ascii=False) if provenance is not None else None


def _provenance_from_json(text: str | None) -> Provenance | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return Provenance.from_dict(data) if isinstance(data, dict) else None
    except (ValueError, TypeError):  # another version's layout: the record stands without it
        return None


def _still_running(pid: int | None, started: float | None, host: str | None) -> bool:
    if pid is None:
        return False
    if host != socket.gethostname():
        return True  # a data folder shared with another machine: its processes cannot be seen from here
    current = _process_started(pid)
    # The same pid with another start time is another program that reused the number.
    return current is not None and (started is None or abs(current - started) < 1.0)


def journaled(job: Generator[JobEvent, None, None], journal: Journal, job_id: int,
              ) -> Generator[JobEvent, None, None]:
    """Pass ``job``'s events through, recording each finished image before the caller sees it."""
    finished = False
    try:
        for event in job:
            if isinstance(event, ItemFinished | ItemSkipped):
                journal.record(job_id, event)
            elif isinstance(event, JobFinished):
                finished = event.complete
            yield event
    finally:
        job.close()
        # Cancelled, interrupted by the caller, or an error: resumable; so is a run of which only some
        # images were resumed (the rest still pending), or one with captions made and not yet saved. A kill
        # never gets here: the job then stays "running" with a dead process, which reads as interrupted.
        with contextlib.suppress(JournalError):
            summary = journal.get(job_id) if finished else None
            done = summary is not None and summary.left == 0
            journal.end_run(job_id, "finished" if done else "stopped")
