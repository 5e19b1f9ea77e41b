"""Caption exports: CSV that Excel opens with Japanese intact (UTF-8 with BOM), and JSON Lines.

Rows are written as captions finish, to ``<name>.partial`` beside the target, flushed each time; the
file takes its real name only when the run ends.  A killed run therefore keeps every row made so far
and never replaces an earlier export with half of a new one.  ``file_name`` follows Hugging Face's
ImageFolder convention (relative to the folder given, forward slashes).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO

from caprl_desktop.core.atomic import WriteError, explain_os_error


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


COLUMNS = tuple(f.name for f in fields(CaptionRecord))


class _Exporter:
    encoding = "utf-8"

    def __init__(self, target: Path | None) -> None:
        """``target`` None writes to standard output."""
        self.target = target
        self._partial = target.with_name(target.name + ".partial") if target is not None else None
        self._file: IO[str]
        try:
            if self._partial is not None:
                self._file = open(self._partial, "w", encoding=self.encoding, newline="")  # noqa: SIM115
            else:
                self._file = sys.stdout
        except OSError as exc:
            raise WriteError(explain_os_error(exc, target or Path("-"))) from exc
        self._guard(self._begin)

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
            self._file.flush()
        except OSError as exc:
            raise WriteError(explain_os_error(exc, self.target or Path("-"))) from exc

    def _begin(self) -> None:
        pass

    def _write(self, record: CaptionRecord) -> None:
        raise NotImplementedError

    def write(self, record: CaptionRecord) -> None:
        self._guard(lambda: self._write(record))

    def close(self) -> Path | None:
        """Give the file its real name; returns it (None for standard output)."""
        if self._partial is None or self.target is None:
            self._file.flush()
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
            return None
        with contextlib.suppress(OSError):
            self._file.close()
        return self._partial


class CsvExporter(_Exporter):
    # The BOM is what makes Excel read the file as UTF-8 instead of the system code page.
    encoding = "utf-8-sig"

    def _begin(self) -> None:
        self._writer = csv.writer(self._file, lineterminator="\r\n")
        self._writer.writerow(COLUMNS)

    def _write(self, record: CaptionRecord) -> None:
        row = asdict(record)
        self._writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])


class JsonlExporter(_Exporter):
    def _write(self, record: CaptionRecord) -> None:
        self._file.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")


class MetadataExporter(_Exporter):
    """Hugging Face ImageFolder's ``metadata.jsonl``: ``file_name`` relative to the file's own folder, ``text``.

    Images outside that folder cannot be described by it (the dataset loader resolves names inside it),
    so they are left out; failed captions are left out too.
    """

    def _write(self, record: CaptionRecord) -> None:
        if record.error or self.target is None:
            return
        base = self.target.parent.resolve()
        image = Path(record.path).resolve()
        if not image.is_relative_to(base):
            return
        name = image.relative_to(base).as_posix()
        self._file.write(json.dumps({"file_name": name, "text": record.caption}, ensure_ascii=False) + "\n")


EXPORT_KINDS = ("csv", "jsonl", "metadata")


def open_exporter(path: str, kind: str) -> _Exporter:
    """``kind`` is "csv", "jsonl" or "metadata"; ``path`` "-" means standard output."""
    target = None if path == "-" else Path(path).expanduser()
    if kind == "metadata":
        return MetadataExporter(target)
    return CsvExporter(target) if kind == "csv" else JsonlExporter(target)


def write_records(target: Path, kind: str, records: Iterable[CaptionRecord]) -> Path:
    """Write a whole export at once (the GUI's File → Export); the old file stays until the new one is complete."""
    exporter = open_exporter(str(target), kind)
    try:
        for record in records:
            exporter.write(record)
    except WriteError:
        exporter.abandon()
        with contextlib.suppress(OSError):
            target.with_name(target.name + ".partial").unlink()
        raise
    written = exporter.close()
    assert written is not None
    return written


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
