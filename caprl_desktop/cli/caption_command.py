"""``caprl-desktop caption PATH...``: caption files and folders into sidecars, CSV and JSONL."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from caprl_desktop.cli import arguments
from caprl_desktop.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from caprl_desktop.cli.journal_open import open_journal
from caprl_desktop.cli.model_choice import choose_model
from caprl_desktop.cli.progress import Progress
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.remote import consent
from caprl_desktop.core.engine.remote import saved as saved_servers
from caprl_desktop.core.engine.remote.engine import RemoteEngine
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import open_exporter
from caprl_desktop.core.images.formats import FORMAT_NAMES
from caprl_desktop.core.jobs.discovery import UnreadFolder, find_images
from caprl_desktop.core.jobs.events import (
    EngineRestarted,
    ItemFinished,
    ItemSkipped,
    ItemStarted,
    ItemText,
    JobEvent,
    JobFinished,
    JobPlanned,
)
from caprl_desktop.core.jobs.journal import Journal, JournalBusyError
from caprl_desktop.core.jobs.opening import EngineStart, NewRun, OnServers, OnThisComputer, Resume, open_run
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.jobs.session import JobSession, last_resumable, resumable_job
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.runtimes.choice import ChosenEngine, open_engine
from caprl_desktop.core.visible_text import visible

HOLDER = "caprl-desktop caption"


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "caption",
        help="caption images and folders",
        description=(
            "Caption every image under the given files and folders (recursively). Captions go to a "
            "sidecar photo.txt beside each photo.jpg; images that already have one are skipped unless "
            "--overwrite. With one image and no --csv/--jsonl the caption is printed as it is generated."
        ),
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="images or folders")
    p.add_argument("--resume", action="store_true",
                   help="continue the last run that was stopped or killed (on PATH, if given), with its "
                        "settings; what it finished is kept")
    arguments.add_prompt_options(p)
    arguments.add_model_options(p)
    arguments.add_output_options(p, new_run=True)
    arguments.add_generation_options(p)
    arguments.add_image_options(p)
    p.set_defaults(handler=run)


def _fail(message: str) -> int:
    print(f"caprl-desktop: error: {visible(message)}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.resume:
        return resume(None, args)
    if not args.paths:
        return _fail("give the images or folders to caption (or --resume)")
    try:
        settings = arguments.settings_from_args(args)
    except ValueError as exc:
        return _fail(str(exc))
    if args.csv == "-" and args.jsonl == "-":
        return _fail("only one of --csv and --jsonl can go to standard output")
    unread: list[UnreadFolder] = []
    items, missing = find_images(args.paths, unread=unread)
    if missing:
        return _fail("not found: " + ", ".join(str(m) for m in missing))
    if not items:
        print(f"No images found ({FORMAT_NAMES}).", file=sys.stderr)
        _say_unread(unread)
        return EXIT_OK
    stream_to_stdout = len(items) == 1 and not args.csv and not args.jsonl
    if args.engine:
        start: EngineStart = OnServers(lambda: _remote_engine(args.engine))
    else:
        pair = _model(args)
        if pair is None:
            return EXIT_USAGE
        model, mmproj = pair
        start = OnThisComputer(model, lambda options: _local_engine(
            settings.engine_config(model, mmproj, options, images=len(items))))
    # A CaprlError from here on (a busy folder, the journal) ends in cli.main's one handler.
    with open_journal() as journal, open_run(journal, NewRun(items, settings), start, holder=HOLDER) as opened:
        return _caption(opened.session, opened.engine, args, stream_to_stdout=stream_to_stdout, unread=unread)


def resume(job_id: int | None, args: argparse.Namespace) -> int:
    """Caption what job ``job_id`` (default: the last resumable one, on ``args.paths`` if given) left."""
    if args.csv == "-" and args.jsonl == "-":
        return _fail("only one of --csv and --jsonl can go to standard output")
    with open_journal() as journal:
        if job_id is None:
            last = last_resumable(journal, args.paths or [])
            if last is None:
                print("Nothing to resume: no stopped or killed run" + (" on those paths." if args.paths else "."),
                      file=sys.stderr)
                return EXIT_OK
            job_id = last.id
        else:
            resumable_job(journal, job_id)  # "no such job" before a model is chosen (which may download)
        if args.engine:
            start: EngineStart = OnServers(lambda: _remote_engine(args.engine))
        else:
            pair = _model(args)
            if pair is None:
                return EXIT_USAGE
            model, mmproj = pair
            engine_settings = arguments.engine_settings_from_args(args)
            start = OnThisComputer(model, lambda options: _local_engine(
                engine_settings.engine_config(model, mmproj, options)))
        resumed = job_id
        with open_run(journal, Resume(job_id, arguments.resume_changes(args)), start, holder=HOLDER,
                      opened=lambda session: _say_resuming(journal, session, resumed)) as opened:
            return _caption(opened.session, opened.engine, args, stream_to_stdout=False)


def _say_resuming(journal: Journal, session: JobSession, job_id: int) -> None:
    summary = journal.get(job_id)
    print(f"Resuming {visible(summary.describe()) if summary else f'job {job_id}'}", file=sys.stderr)
    if session.options.caption_folder:
        print(f"Captions go under {visible(session.options.caption_folder)}", file=sys.stderr)


@contextlib.contextmanager
def _local_engine(config: EngineConfig) -> Iterator[EngineClient | ChosenEngine]:
    """The engine on this computer: the built-in one, or the runtime chosen with `runtime use`."""
    with open_engine(config, notice=lambda line: print(f"warning: {visible(line)}", file=sys.stderr)) as engine:
        info = engine.start()
        side_by_side = f" · {info.parallel} captions at a time" if info.parallel > 1 else ""
        print(visible(f"Model: {info.model.model_path.name} + {info.model.mmproj_path.name} · {info.backend_line}"
                      f"{side_by_side}"), file=sys.stderr)
        yield engine


@contextlib.contextmanager
def _remote_engine(addresses: list[str]) -> Iterator[RemoteEngine]:
    """The servers given with --engine, started; a server images would reach unencrypted over a network is
    named first, the first time it is used (``consent``)."""
    servers = [saved_servers.resolve(address) for address in addresses]
    unwarned = consent.unwarned(servers)
    for _, warning in unwarned:
        print(f"warning: {visible(warning)} (said once for each server)", file=sys.stderr)
    consent.remember(server for server, _ in unwarned)
    def slow(line: str) -> None:  # "server gpu-box is slow (no reply for 40 s)"
        print(f"warning: {visible(line)}", file=sys.stderr)

    with RemoteEngine(servers, notice=slow) as remote:
        info = remote.start()
        at_a_time = f"{info.parallel} captions at a time" if info.parallel > 1 else "one caption at a time"
        print(f"Engine: {visible(info.line)} · {at_a_time}", file=sys.stderr)
        try:
            yield remote
        finally:
            for stats in remote.server_stats():  # which server made how much, and at what speed
                state = "" if stats.in_rotation else f", left out: {stats.reason}"
                how = {"given": "", "server": " (said by it)"}.get(
                    stats.slots_from, " (still being measured)" if stats.measuring else " (measured)")
                print(visible(f"{stats.shown}: {stats.made} caption{'s' if stats.made != 1 else ''}, {stats.slots} "
                              f"at a time{how}, {stats.images_per_minute:.1f} images/min, "
                              f"{stats.tokens_per_second:.1f} tokens/s{state}"), file=sys.stderr)


def _model(args: argparse.Namespace) -> tuple[Path, Path] | None:
    try:
        return choose_model(args.model, args.mmproj, assume_yes=args.yes)
    except CaprlError as exc:
        _fail(str(exc))
        return None


def _caption(session: JobSession, engine: CaptionEngine, args: argparse.Namespace, *,
             stream_to_stdout: bool, unread: Sequence[UnreadFolder] = ()) -> int:
    exporters = [open_exporter(path, kind, csv_columns=args.csv_columns)
                 for path, kind in ((args.csv, "csv"), (args.jsonl, "jsonl")) if path]
    for exporter in exporters:  # a resumed run exports the whole job, each image once
        for record in session.earlier:
            exporter.write(record)
    return _drive(session.run(engine), exporters, stream_to_stdout, session.job_id, unread)


def _drive(job: Generator[JobEvent, None, None], exporters: list[Any], stream_to_stdout: bool, job_id: int,
           unread: Sequence[UnreadFolder] = ()) -> int:
    progress: Progress | None = None
    finished: JobFinished | None = None
    try:
        for event in job:
            if isinstance(event, JobPlanned):
                for clash in event.clashes:
                    print(f"note: {visible(clash.describe())}", file=sys.stderr)
                if event.total > event.to_caption:
                    print(f"{event.total - event.to_caption} of {event.total} images already have captions "
                          f"(use --overwrite to redo them).", file=sys.stderr)
                progress = None if stream_to_stdout else Progress(event.to_caption)
            elif isinstance(event, ItemSkipped):
                for exporter in exporters:
                    exporter.write(event.record)
            elif isinstance(event, ItemStarted):
                if progress is not None:
                    progress.started(event.item.file_name)
            elif isinstance(event, ItemText):
                if stream_to_stdout:
                    sys.stdout.write(visible(event.text))
                    sys.stdout.flush()
                elif progress is not None:
                    progress.token()
            elif isinstance(event, ItemFinished):
                for exporter in exporters:
                    exporter.write(event.record)
                note = visible(description_note(event))
                if note:
                    if progress is not None:
                        progress.message(note)
                    else:
                        print(f"\n{note}" if stream_to_stdout else note, file=sys.stderr)
                if stream_to_stdout:
                    _report_single(event)
                elif progress is not None:
                    progress.finished(event)
            elif isinstance(event, EngineRestarted):
                message = f"the engine crashed and was restarted ({visible(event.reason)})"
                if progress is not None:
                    progress.message(message)
                else:
                    print(message, file=sys.stderr)
            else:
                finished = event
    except KeyboardInterrupt:
        if progress is not None:
            progress.close()
        for exporter in exporters:
            kept = exporter.abandon()
            if kept is not None:
                print(f"Interrupted: the rows made so far are in {visible(kept)}", file=sys.stderr)
        job.close()  # records the job as stopped, so that it can be resumed
        print(f"Interrupted. `caprl-desktop caption --resume` continues job {job_id} where it stopped.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except CaprlError as exc:
        for exporter in exporters:
            kept = exporter.abandon()
            if kept is not None:
                print(f"Stopped: the rows made so far are in {visible(kept)}", file=sys.stderr)
        if isinstance(exc, JournalBusyError):  # the run stops (exit 75); what it made is kept and resumable
            print(f"`caprl-desktop caption --resume` continues job {job_id} once the journal is free.",
                  file=sys.stderr)
        # Ended here, while the journal is open (an export that failed leaves the job waiting at a yield; closed
        # later by the garbage collector, it would write to a journal closed by then).
        with contextlib.suppress(CaprlError):
            job.close()
        raise
    finally:
        if progress is not None:
            progress.close()

    for exporter in exporters:
        try:
            written = exporter.close()
        except CaprlError as exc:
            return _fail(str(exc))
        if written is not None:
            print(f"Wrote {visible(written)}", file=sys.stderr)
    assert finished is not None
    if finished.cannot_save is not None:
        _explain_cannot_save(finished.cannot_save, job_id)
        _say_unread(unread)
        return EXIT_SOME_FAILED
    parts = [f"{finished.captioned} captioned"]
    if finished.skipped:
        parts.append(f"{finished.skipped} skipped")
    if finished.failed:
        parts.append(f"{finished.failed} failed")
    if not stream_to_stdout:
        marked = f" Marked: {finished.marks_summary}" if finished.marks_summary else ""  # what the guards marked
        print("Done: " + ", ".join(parts) + "." + marked, file=sys.stderr)
    _say_unread(unread)
    return EXIT_SOME_FAILED if finished.failed else EXIT_OK


def _say_unread(unread: Sequence[UnreadFolder]) -> None:
    """The summary's last word: each folder that could not be read (or not wholly), whose images no count holds."""
    if unread:
        print(f"Could not read {len(unread)} folder{'s' if len(unread) != 1 else ''}:", file=sys.stderr)
        for folder in unread:
            print(f"  {visible(folder.describe())}", file=sys.stderr)


def description_note(event: ItemFinished) -> str:
    """A line for a description that went elsewhere than asked or was not written; "" when all went as asked.

    Printed, not put in the record's ``error``: the caption itself was made and saved, and an export or a later
    run must not count the image as failed for its metadata."""
    found = event.description
    if found is None:
        return ""
    name = event.item.file_name
    if found.problem:
        return f"note: {name}: {found.problem}" + (f" ({found.note})" if found.note else "")
    if found.kept_existing:
        return f"note: {name}: kept the description already there (--metadata-existing replace replaces it)"
    if found.note and found.written is not None:
        return f"note: {name}: description written to {found.written}: {found.note}"
    return ""


def _explain_cannot_save(problem: WriteError, job_id: int) -> None:
    print(f"Stopped: captions cannot be saved: {visible(problem)}.", file=sys.stderr)
    print(f"Nothing made is lost: job {job_id} keeps every caption made, and resuming saves them first.",
          file=sys.stderr)
    if problem.problem == "full":
        print("Free some space, then: caprl-desktop caption --resume", file=sys.stderr)
    else:
        print("Save the captions elsewhere: caprl-desktop caption --resume --output-dir DIR", file=sys.stderr)


def _report_single(event: ItemFinished) -> None:
    if event.record.error:
        print(visible(f"\ncaprl-desktop: {event.item.file_name}: {event.record.error}"), file=sys.stderr)
        return
    sys.stdout.write("\n")
    sys.stdout.flush()
    if event.stats is not None:
        s = event.stats
        print(f"{s.image_tokens} image tokens, encode {s.image_encode_ms / 1000:.1f} s, prompt "
              f"{s.prompt_ms / 1000:.1f} s, {s.output_tokens} tokens at {s.tokens_per_second:.1f} tok/s, "
              f"{s.total_seconds:.1f} s in all, seed {s.seed}", file=sys.stderr)
