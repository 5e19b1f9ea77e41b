"""Caption exports: CSV that Excel opens with Japanese intact (UTF-8 with BOM), and JSON Lines.

Rows are written as captions finish, to ``<name>.partial`` beside the target, flushed each time; the
file takes its real name only when the run ends.  A killed run therefore keeps every row made so far
and never replaces an earlier export with half of a new one.  ``file_name`` follows Hugging Face's
ImageFolder convention (relative to the folder given, forward slashes).

Each exporter counts what it wrote and what it left out with the reason (``ExportReport``), so a caller
reports the rows that are in the file, not the rows it handed over.

A record carries its caption's ``Provenance`` (model and checksums, device, prompt, sampling, the seed used,
timings). JSON Lines always holds it, nested under ``"provenance"``; CSV holds it with the "full" column set
(``COLUMNS + PROVENANCE_COLUMNS``, flat), and today's columns by default.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, TypeVar

from caprl_desktop.core.atomic import WriteError, explain_os_error
from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance

T = TypeVar("T")


@dataclass(frozen=True)
class CaptionRecord:
    """One exported row; ``error`` is empty when the caption worked."""

    file_name: str
    caption: str
    language: str
    prompt: str
    model: str
    seconds: float | None
    output_tokens: int | None
    error: str
    path: str
    provenance: Provenance | None = None  # None: not made by this app's run (an existing sidecar), or unknown


COLUMNS = tuple(f.name for f in fields(CaptionRecord) if f.name != "provenance")
FULL_COLUMNS = COLUMNS + PROVENANCE_COLUMNS
CSV_COLUMN_SETS = ("default", "full")


class LeftOutReason(enum.Enum):
    NOT_CAPTIONED = "not captioned"  # no caption yet (the caller knows; the writers only see records)
    FAILED = "failed"  # metadata.jsonl holds captions only; CSV and JSON Lines keep failures with their error
    OUTSIDE_FOLDER = "outside the folder"  # metadata.jsonl describes only its own folder and those below


@dataclass(frozen=True)
class LeftOut:
    path: str
    reason: LeftOutReason


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: ``written`` rows (``with_errors`` of them failures, with their error) and the
    rows left out with the reason. ``target`` is None when nothing was written (no file made or replaced)."""

    target: Path | None
    written: int
    with_errors: int = 0
    left_out: tuple[LeftOut, ...] = ()

    def left_out_by_reason(self) -> dict[LeftOutReason, int]:
        counts: dict[LeftOutReason, int] = {}
        for left in self.left_out:
            counts[left.reason] = counts.get(left.reason, 0) + 1
        return counts

    def plus_left_out(self, paths: Iterable[str], reason: LeftOutReason) -> ExportReport:
        more = tuple(LeftOut(path, reason) for path in paths)
        return ExportReport(self.target, self.written, self.with_errors, self.left_out + more)


def metadata_folder(target: Path) -> Path:
    """The folder a ``metadata.jsonl`` describes: its own."""
    return target.parent.resolve()


def metadata_left_out(record: CaptionRecord, folder: Path) -> LeftOutReason | None:
    """Why ``metadata.jsonl`` in ``folder`` (resolved) cannot hold this record, or None when it can."""
    if record.error:
        return LeftOutReason.FAILED
    if not Path(record.path).resolve().is_relative_to(folder):
        return LeftOutReason.OUTSIDE_FOLDER  # the dataset loader resolves names inside the file's folder only
    return None


def plan_export(target: Path, kind: str, records: Iterable[CaptionRecord]) -> ExportReport:
    """What ``write_records`` would write, without writing (the export dialog's preview)."""
    written = with_errors = 0
    left_out: list[LeftOut] = []
    folder = metadata_folder(target) if kind == "metadata" else None
    for record in records:
        reason = metadata_left_out(record, folder) if folder is not None else None
        if reason is not None:
            left_out.append(LeftOut(record.path, reason))
        else:
            written += 1
            with_errors += bool(record.error)
    return ExportReport(target if written else None, written, with_errors, tuple(left_out))


def _stdout_for_export() -> IO[str]:
    """Standard output for an export: UTF-8 whatever the console's code page (Japanese through a pipe on Windows
    would turn into "?"), and no newline translation (Windows text mode would make the CSV's \\r\\n \\r\\r\\n)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a stream without bytes underneath (a test's StringIO): as it is
        return sys.stdout
    return io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)


def _release_stdout(stream: IO[str]) -> None:
    """Let go of the wrapper without closing standard output underneath it."""
    if stream is not sys.stdout and isinstance(stream, io.TextIOWrapper):
        stream.detach()


class _Exporter:
    encoding = "utf-8"

    def __init__(self, target: Path | None) -> None:
        """``target`` None writes to standard output."""
        self.target = target
        self.written = 0
        self.with_errors = 0
        self.left_out: list[LeftOut] = []
        self._partial = target.with_name(target.name + ".partial") if target is not None else None
        self._file: IO[str]
        try:
            if self._partial is not None:
                self._file = open(self._partial, "w", encoding=self.encoding, newline="")  # noqa: SIM115
            else:
                self._file = _stdout_for_export()
        except OSError as exc:
            raise WriteError(explain_os_error(exc, target or Path("-"))) from exc
        self._guard(self._begin)

    def _guard(self, action: Callable[[], T]) -> T:
        try:
            result = action()
            self._file.flush()
            return result
        except OSError as exc:
            raise WriteError(explain_os_error(exc, self.target or Path("-"))) from exc

    def _begin(self) -> None:
        pass

    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        """Write the row, or say why it is left out."""
        raise NotImplementedError

    def write(self, record: CaptionRecord) -> LeftOutReason | None:
        """Write one row; returns why it was left out, None when it was written."""
        reason = self._guard(lambda: self._write(record))
        if reason is not None:
            self.left_out.append(LeftOut(record.path, reason))
        else:
            self.written += 1
            self.with_errors += bool(record.error)
        return reason

    def report(self, target: Path | None) -> ExportReport:
        return ExportReport(target, self.written, self.with_errors, tuple(self.left_out))

    def close(self) -> Path | None:
        """Give the file its real name; returns it (None for standard output)."""
        if self._partial is None or self.target is None:
            self._file.flush()
            _release_stdout(self._file)
            return None
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._partial.replace(self.target)
        except OSError as exc:
            raise WriteError(explain_os_error(exc, self.target)) from exc
        return self.target

    def abandon(self) -> Path | None:
        """Keep what was written under the ``.partial`` name (after a failure); returns that path."""
        if self._partial is None:
            with contextlib.suppress(OSError, ValueError):
                self._file.flush()
                _release_stdout(self._file)
            return None
        with contextlib.suppress(OSError):
            self._file.close()
        return self._partial


class CsvExporter(_Exporter):
    # The BOM is what makes Excel read the file as UTF-8 instead of the system code page.
    encoding = "utf-8-sig"

    def __init__(self, target: Path | None, columns: str = "default") -> None:
        if columns not in CSV_COLUMN_SETS:
            raise ValueError(f"unknown CSV column set {columns!r} (known: {', '.join(CSV_COLUMN_SETS)})")
        self.columns = FULL_COLUMNS if columns == "full" else COLUMNS
        super().__init__(target)

    def _begin(self) -> None:
        self._writer = csv.writer(self._file, lineterminator="\r\n")
        self._writer.writerow(self.columns)

    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        row = flat_row(record)
        self._writer.writerow(["" if row.get(c) is None else row[c] for c in self.columns])
        return None


def flat_row(record: CaptionRecord) -> dict[str, object]:
    """The record's columns and its provenance's side by side (a record without one has none of the latter)."""
    row = asdict(record)
    provenance = row.pop("provenance")
    return {**row, **(provenance or {})}


class JsonlExporter(_Exporter):
    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        self._file.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
        return None


class MetadataExporter(_Exporter):
    """Hugging Face ImageFolder's ``metadata.jsonl``: ``file_name`` relative to the file's own folder, ``text``.

    Images outside that folder cannot be described by it (the dataset loader resolves names inside it),
    so they are left out; failed captions are left out too. Standard output describes the current folder.
    """

    def _begin(self) -> None:
        self._folder = metadata_folder(self.target if self.target is not None else Path.cwd() / "metadata.jsonl")

    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        reason = metadata_left_out(record, self._folder)
        if reason is not None:
            return reason
        name = Path(record.path).resolve().relative_to(self._folder).as_posix()
        self._file.write(json.dumps({"file_name": name, "text": record.caption}, ensure_ascii=False) + "\n")
        return None


EXPORT_KINDS = ("csv", "jsonl", "metadata")


def open_exporter(path: str, kind: str, *, csv_columns: str = "default") -> _Exporter:
    """``kind`` is "csv", "jsonl" or "metadata"; ``path`` "-" means standard output; ``csv_columns`` is one
    of ``CSV_COLUMN_SETS``."""
    target = None if path == "-" else Path(path).expanduser()
    if kind == "metadata":
        return MetadataExporter(target)
    return CsvExporter(target, csv_columns) if kind == "csv" else JsonlExporter(target)


def write_records(target: Path, kind: str, records: Iterable[CaptionRecord], *,
                  csv_columns: str = "default") -> ExportReport:
    """Write a whole export at once (the GUI's File → Export); the old file stays until the new one is complete.

    An export with no row to write makes no file and replaces none (an empty ``metadata.jsonl`` saved in the
    wrong folder would otherwise stand in for a good one)."""
    exporter = open_exporter(str(target), kind, csv_columns=csv_columns)
    try:
        for record in records:
            exporter.write(record)
    except WriteError:
        _discard(exporter, target)
        raise
    if not exporter.written:
        _discard(exporter, target)
        return exporter.report(None)
    written = exporter.close()
    assert written is not None
    return exporter.report(written)


def _discard(exporter: _Exporter, target: Path) -> None:
    exporter.abandon()
    with contextlib.suppress(OSError):
        target.with_name(target.name + ".partial").unlink()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def record_from_json(data: dict[str, object]) -> CaptionRecord:
    """A JSON Lines row read back (``read_jsonl``) as a record; ``ValueError`` when it is not one of ours."""
    try:
        provenance = data.get("provenance")
        values = {c: data[c] for c in COLUMNS}
        return CaptionRecord(**values,  # type: ignore[arg-type]
                             provenance=Provenance.from_dict(provenance) if isinstance(provenance, dict) else None)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a CapRL Desktop caption record ({exc})") from exc
