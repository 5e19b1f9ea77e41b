"""Caption exports: CSV that Excel opens with Japanese intact (UTF-8 with BOM), and JSON Lines.

Rows are written as captions finish, to ``<name>.partial`` beside the target, flushed each time; the
file takes its real name only when the run ends.  A killed run therefore keeps every row made so far
and never replaces an earlier export with half of a new one.

``file_name`` has one rule in every export (``export_file_name``), Hugging Face ImageFolder's: the image's path
relative to the folder the export file is in, with forward slashes, so a CSV and a ``metadata.jsonl`` saved side by
side name an image alike (``trip/IMG_0000.jpg``). An image outside that folder (or an export to standard output)
is named relative to the folder it was added with, as the record has it; ``metadata.jsonl`` leaves such images out.

Each exporter counts what it wrote and what it left out with the reason (``ExportReport``), so a caller
reports the rows that are in the file, not the rows it handed over.

Hostile content and targets: a CSV cell that a spreadsheet would take as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return: a photo of a sign reading ``=HYPERLINK(...)``) gets a leading ``'``, as
OWASP advises; JSON Lines keeps every text as it is. A name with bytes that are not UTF-8 (``os.fsdecode``'s
surrogates) goes into JSON as its ``\\udcXX`` escape and into CSV as those bytes, so both read back to the
same name. A target that is a link is written through to its file (the link stays); a named pipe or a device
(``/dev/null``, ``/dev/stdout``) is written to in place; anything else that is not a file is refused. A
terminal, given the export directly, is shown the text with its control characters made visible.

A record carries its caption's ``Provenance`` (model and checksums, device, prompt, sampling, the seed used,
timings). JSON Lines always holds it, nested under ``"provenance"``; CSV holds it with the "full" column set
(``COLUMNS + PROVENANCE_COLUMNS``, flat), and today's columns by default. Its ``source`` says whose words the
caption is: the model's, a person's edit of them (with when, and the model's words beside), or a caption found
on disk that nothing recorded; a report counts the captions written by source.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import enum
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, TypeVar

from caprl_desktop.core.atomic import WriteError, explain_os_error, write_target
from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance
from caprl_desktop.core.visible_text import visible

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
    # Whose words the caption is: the model's as its run made them, a person's edit of them (``edited_at`` says
    # when, ``model_caption`` keeps the model's words, which the provenance describes), or a caption found on
    # disk that nothing recorded ("from disk": the provenance is None).
    source: str = "model"
    edited_at: str = ""  # ISO time of the edit; "" unless ``source`` is "edited by hand"
    model_caption: str = ""


SOURCE_MODEL = "model"
SOURCE_EDITED = "edited by hand"
SOURCE_DISK = "from disk"
SOURCES = (SOURCE_MODEL, SOURCE_EDITED, SOURCE_DISK)
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
    sources: tuple[tuple[str, int], ...] = ()  # captions written (failures aside) by ``source``, in SOURCES order

    def by_source(self) -> dict[str, int]:
        return dict(self.sources)

    def left_out_by_reason(self) -> dict[LeftOutReason, int]:
        counts: dict[LeftOutReason, int] = {}
        for left in self.left_out:
            counts[left.reason] = counts.get(left.reason, 0) + 1
        return counts

    def plus_left_out(self, paths: Iterable[str], reason: LeftOutReason) -> ExportReport:
        more = tuple(LeftOut(path, reason) for path in paths)
        return dataclasses.replace(self, left_out=self.left_out + more)


def _sources(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple((source, counts[source]) for source in SOURCES if counts.get(source))


def _count_source(counts: dict[str, int], record: CaptionRecord) -> None:
    if not record.error:
        counts[record.source] = counts.get(record.source, 0) + 1


def metadata_folder(target: Path) -> Path:
    """The folder a ``metadata.jsonl`` describes: its own."""
    return target.parent.resolve()


def export_file_name(record: CaptionRecord, folder: Path | None) -> str:
    """The record's ``file_name`` in an export whose file is in ``folder`` (resolved; None: standard output)."""
    if folder is not None and record.path:
        try:
            path = Path(record.path).resolve()
        except (OSError, RuntimeError):  # a link that leads back to itself (RuntimeError before Python 3.13)
            return record.file_name
        if path.is_relative_to(folder):
            return path.relative_to(folder).as_posix()
    return record.file_name


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
    sources: dict[str, int] = {}
    folder = metadata_folder(target) if kind == "metadata" else None
    for record in records:
        reason = metadata_left_out(record, folder) if folder is not None else None
        if reason is not None:
            left_out.append(LeftOut(record.path, reason))
        else:
            written += 1
            with_errors += bool(record.error)
            _count_source(sources, record)
    return ExportReport(target if written else None, written, with_errors, tuple(left_out), _sources(sources))


def _stdout_for_export() -> IO[str]:
    """Standard output for an export: UTF-8 whatever the console's code page (Japanese through a pipe on Windows
    would turn into "?"), and no newline translation (Windows text mode would make the CSV's \\r\\n \\r\\r\\n)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a stream without bytes underneath (a test's StringIO): as it is
        return sys.stdout
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape", newline="", write_through=True)


def _release_stdout(stream: IO[str]) -> None:
    """Let go of the wrapper without closing standard output underneath it."""
    if stream is not sys.stdout and isinstance(stream, io.TextIOWrapper):
        stream.detach()


def _open_partial(path: Path, encoding: str) -> IO[str]:
    """A new ``.partial`` file. Whatever had that name goes first (a killed run's rows, which this export holds
    again; a link left there to make the export write elsewhere), and a link made meanwhile is not followed."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    return open(os.open(path, flags, 0o666), "w", encoding=encoding, errors="surrogateescape", newline="")


class _Exporter:
    encoding = "utf-8"

    def __init__(self, target: Path | None) -> None:
        """``target`` None writes to standard output."""
        self.target = target
        self.written = 0
        self.with_errors = 0
        self.left_out: list[LeftOut] = []
        self.sources: dict[str, int] = {}
        self._partial: Path | None = None  # None: written in place (standard output, a pipe, a device)
        self._final: Path | None = None  # what the partial file replaces at the end: the target, or its link's file
        self._terminal = False
        self._folder = metadata_folder(target) if target is not None else None  # what ``file_name`` is relative to
        self._file: IO[str]
        try:
            self._file = self._open(target)
        except OSError as exc:
            raise WriteError(explain_os_error(exc, target or Path("-"))) from exc
        self._guard(self._begin)

    def _open(self, target: Path | None) -> IO[str]:
        if target is None:
            self._terminal = sys.stdout.isatty()
            return _stdout_for_export()
        where = write_target(target)
        if where.stream:
            file = open(target, "w", encoding=self.encoding, errors="surrogateescape", newline="")  # noqa: SIM115
            self._terminal = file.isatty()
            return file
        if where.kind is not None:
            raise WriteError(f"{target} is {where.kind}, not a file; give the export a file name", "other",
                             target.parent)
        self._final = where.path
        self._partial = where.path.with_name(where.path.name + ".partial")
        return _open_partial(self._partial, self.encoding)

    def _emit(self, text: str) -> None:
        """Write ``text``; a terminal is shown it with its control characters made visible."""
        self._file.write(visible(text) if self._terminal else text)

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
        named = dataclasses.replace(record, file_name=export_file_name(record, self._folder))
        reason = self._guard(lambda: self._write(named))
        if reason is not None:
            self.left_out.append(LeftOut(record.path, reason))
        else:
            self.written += 1
            self.with_errors += bool(record.error)
            _count_source(self.sources, record)
        return reason

    def report(self, target: Path | None) -> ExportReport:
        return ExportReport(target, self.written, self.with_errors, tuple(self.left_out), _sources(self.sources))

    def close(self) -> Path | None:
        """Give the file its real name; returns it (None for standard output)."""
        if self.target is None:
            self._file.flush()
            _release_stdout(self._file)
            return None
        try:
            if self._partial is None or self._final is None:  # a pipe or a device, written in place
                self._file.close()
                return self.target
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._partial.replace(self._final)
        except OSError as exc:
            raise WriteError(explain_os_error(exc, self.target)) from exc
        return self.target

    def abandon(self) -> Path | None:
        """Keep what was written under the ``.partial`` name (after a failure); returns that path (None when it was
        written in place)."""
        if self._partial is None:
            with contextlib.suppress(OSError, ValueError):
                self._file.flush()
                if self.target is None:
                    _release_stdout(self._file)
                else:
                    self._file.close()
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
        self._row(self.columns)

    def _row(self, cells: Iterable[object]) -> None:
        line = io.StringIO()
        # \r\n as Excel writes; a terminal is shown plain new lines (it would see the \r as a control character).
        csv.writer(line, lineterminator="\n" if self._terminal else "\r\n").writerow(cells)
        self._emit(line.getvalue())

    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        row = flat_row(record)
        self._row(["" if row.get(c) is None else spreadsheet_cell(row[c]) for c in self.columns])
        return None


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes Excel, LibreOffice or Sheets read a formula
_TEXT_MARK = "'"


def spreadsheet_cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP's advice on CSV injection): a
    text starting with = + - @, a tab or a carriage return gets a leading apostrophe. So does one that starts with
    an apostrophe already, so that ``read_csv`` takes exactly one off and reads back the text as it was."""
    if isinstance(value, str) and value.startswith((*_FORMULA_STARTS, _TEXT_MARK)):
        return _TEXT_MARK + value
    return value


def _cell_text(cell: str) -> str:
    return cell.removeprefix(_TEXT_MARK)


def flat_row(record: CaptionRecord) -> dict[str, object]:
    """The record's columns and its provenance's side by side (a record without one has none of the latter)."""
    row = asdict(record)
    provenance = row.pop("provenance")
    return {**row, **(provenance or {})}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(data: object) -> str:
    """One JSON Lines row: UTF-8 text as it is, and the bytes of a name that are not UTF-8 (``os.fsdecode``'s
    lone surrogates, which no UTF-8 file can hold) as their ``\\udcXX`` escapes, which ``json.loads`` reads back
    to the same name."""
    text = json.dumps(data, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


class JsonlExporter(_Exporter):
    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        self._emit(json_line(asdict(record)))
        return None


class MetadataExporter(_Exporter):
    """Hugging Face ImageFolder's ``metadata.jsonl``: ``file_name`` relative to the file's own folder, ``text``.

    Images outside that folder cannot be described by it (the dataset loader resolves names inside it),
    so they are left out; failed captions are left out too. Standard output describes the current folder.
    """

    def _begin(self) -> None:
        if self._folder is None:  # standard output describes the current folder
            self._folder = metadata_folder(Path.cwd() / "metadata.jsonl")

    def _write(self, record: CaptionRecord) -> LeftOutReason | None:
        assert self._folder is not None  # (set by ``_begin``)
        reason = metadata_left_out(record, self._folder)
        if reason is not None:
            return reason
        self._emit(json_line({"file_name": record.file_name, "text": record.caption}))
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
        _discard(exporter)
        raise
    if not exporter.written:
        _discard(exporter)
        return exporter.report(None)
    written = exporter.close()
    assert written is not None
    return exporter.report(written)


def _discard(exporter: _Exporter) -> None:
    partial = exporter.abandon()
    if partial is not None:
        with contextlib.suppress(OSError):
            partial.unlink()


def read_csv(path: Path) -> list[dict[str, str]]:
    """A CSV export read back as it was made: each cell without the apostrophe ``spreadsheet_cell`` added, a name's
    bytes that are not UTF-8 as ``os.fsdecode`` gives them."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        return [{key: _cell_text(cell) for key, cell in row.items()} for row in csv.DictReader(f)]


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


_LATER_COLUMNS: dict[str, object] = {"source": SOURCE_MODEL, "edited_at": "", "model_caption": ""}


def record_from_json(data: dict[str, object]) -> CaptionRecord:
    """A JSON Lines row read back (``read_jsonl``) as a record; ``ValueError`` when it is not one of ours."""
    try:
        provenance = data.get("provenance")
        # (a record exported before ``source`` and its companions were columns: the model's, as it was)
        values = {c: data.get(c, _LATER_COLUMNS[c]) if c in _LATER_COLUMNS else data[c] for c in COLUMNS}
        return CaptionRecord(**values,  # type: ignore[arg-type]
                             provenance=Provenance.from_dict(provenance) if isinstance(provenance, dict) else None)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a CapRL Desktop caption record ({exc})") from exc
