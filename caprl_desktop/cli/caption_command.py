"""``caprl-desktop caption PATH...``: caption files and folders into sidecars, CSV and JSONL."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from caprl_desktop.cli.model_choice import choose_model
from caprl_desktop.cli.progress import Progress
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import open_exporter
from caprl_desktop.core.jobs.discovery import ImageItem, find_images
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
from caprl_desktop.core.jobs.folder_locks import folder_locks
from caprl_desktop.core.jobs.journal import Journal, journaled
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import (
    DEFAULT_IMAGE_BUDGET,
    IMAGE_BUDGET_PRESETS,
    EngineConfig,
    GenerationParams,
    ImageBudget,
)
from caprl_desktop.core.prompts import PRESETS, as_preset, build_prompt, default_language, parse_language


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "caption",
        help="caption images and folders",
        description=(
            "Caption every image under the given files and folders (recursively). Captions go to a "
            "sidecar photo.txt beside each photo.jpg; images that already have one are skipped unless "
            "--overwrite. With one image and no --csv/--jsonl the caption is printed as it is generated."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="images or folders")
    p.add_argument("--resume", action="store_true",
                   help="continue the last run that was stopped or killed (on PATH, if given), with its "
                        "settings; what it finished is kept")
    p.add_argument("--lang", type=parse_language, default=None, metavar="ja|en",
                   help="caption language (default: from the system locale)")
    p.add_argument("--preset", choices=PRESETS, default="detailed",
                   help="detailed description, one-sentence caption, or text transcription")
    p.add_argument("--prompt", help="your own prompt instead of the preset")
    p.add_argument("--system-prompt", help="replace the system prompt chosen for the language")

    model = p.add_argument_group("model")
    model.add_argument("--model", help="an installed quant (Q4_K_M, i1-Q4_K_M) or a GGUF file "
                       "(default: the default model, see `caprl-desktop models list`)")
    model.add_argument("--mmproj", type=Path, help="the vision projector for a --model given as a file")
    model.add_argument("--yes", "-y", action="store_true",
                       help="when no model is installed, download the recommended one without asking")
    model.add_argument("--gpu-layers", type=int, default=None, metavar="N",
                       help="layers to offload to the GPU (default: all when the build supports a GPU; 0: CPU)")
    model.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    model.add_argument("--parallel", type=_at_least_one, default=None, metavar="N",
                       help="captions decoded side by side (default: sized from the GPU or CPU and free memory; "
                            "1: one at a time)")

    out = p.add_argument_group("output")
    out.add_argument("--csv", metavar="FILE", help="also write a CSV (UTF-8 with BOM, opens in Excel); - for stdout")
    out.add_argument("--jsonl", metavar="FILE", help="also write JSON Lines; - for stdout")
    out.add_argument("--no-sidecar", action="store_true", help="do not write .txt files beside the images")
    out.add_argument("--overwrite", action="store_true", help="caption images that already have a sidecar")
    out.add_argument("--output-dir", type=Path, metavar="DIR",
                     help="write the .txt captions under DIR (a subfolder per folder given) instead of beside "
                          "the images: for read-only folders")

    gen = p.add_argument_group("generation")
    gen.add_argument("--max-tokens", type=int, default=GenerationParams.max_tokens, metavar="N")
    gen.add_argument("--temperature", type=float, default=GenerationParams.temperature, metavar="T",
                     help="0 for greedy decoding")
    gen.add_argument("--top-p", type=float, default=GenerationParams.top_p, metavar="P")
    gen.add_argument("--repeat-penalty", type=float, default=GenerationParams.repeat_penalty, metavar="R")
    gen.add_argument("--seed", type=int, default=None, metavar="S", help="fixed seed for reproducible captions")

    img = p.add_argument_group("image detail (image tokens; more reads small text better, fewer is faster)")
    img.add_argument("--detail", choices=list(IMAGE_BUDGET_PRESETS), default=DEFAULT_IMAGE_BUDGET,
                     help="; ".join(f"{k}: up to {v} tokens" for k, v in IMAGE_BUDGET_PRESETS.items()))
    img.add_argument("--image-max-tokens", type=int, default=None, metavar="N", help="overrides --detail")
    img.add_argument("--image-min-tokens", type=int, default=None, metavar="N",
                     help="enlarge small images to at least N tokens")
    p.set_defaults(handler=run)


def _fail(message: str) -> int:
    print(f"caprl-desktop: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.resume:
        return resume_job(None, args)
    if not args.paths:
        return _fail("give the images or folders to caption (or --resume)")
    try:
        budget = ImageBudget(
            max_tokens=args.image_max_tokens or IMAGE_BUDGET_PRESETS[args.detail],
            min_tokens=args.image_min_tokens,
        )
        params = GenerationParams(
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            repeat_penalty=args.repeat_penalty,
            seed=args.seed,
        )
    except ValueError as exc:
        return _fail(str(exc))
    if args.csv == "-" and args.jsonl == "-":
        return _fail("only one of --csv and --jsonl can go to standard output")

    language = args.lang or default_language()
    prompt = build_prompt(language, as_preset(args.preset), custom_prompt=args.prompt, system_prompt=args.system_prompt)
    items, missing = find_images(args.paths)
    if missing:
        return _fail("not found: " + ", ".join(str(m) for m in missing))
    if not items:
        print("No images found (JPEG, PNG, WebP, BMP, TIFF, GIF).", file=sys.stderr)
        return EXIT_OK

    options = JobOptions(
        prompt=prompt,
        params=params,
        image_budget=budget,
        model_label="",
        write_sidecars=not args.no_sidecar,
        overwrite=args.overwrite,
        caption_folder=str(args.output_dir.absolute()) if args.output_dir else "",
    )
    stream_to_stdout = len(items) == 1 and not args.csv and not args.jsonl
    return _caption(items, options, args, stream_to_stdout=stream_to_stdout)


def resume_job(job_id: int | None, args: argparse.Namespace) -> int:
    """Caption what job ``job_id`` (default: the last resumable one, on ``args.paths`` if given) left."""
    with Journal() as journal:
        jobs = [j for j in journal.jobs() if j.resumable]
        if job_id is not None:
            chosen = journal.get(job_id)
            if chosen is None:
                return _fail(f"there is no job {job_id} (see `caprl-desktop jobs list`)")
            if not chosen.resumable:
                return _fail(f"job {job_id} has nothing left to caption ({chosen.status})")
        else:
            wanted = {Path(p).absolute() for p in args.paths or []}
            matching = [j for j in jobs if not wanted or wanted & set(j.roots)]
            if not matching:
                print("Nothing to resume: no stopped or killed run" + (" on those paths." if wanted else "."),
                      file=sys.stderr)
                return EXIT_OK
            chosen = matching[-1]
        if getattr(args, "output_dir", None):
            journal.set_caption_folder(chosen.id, args.output_dir)
            chosen = journal.get(chosen.id) or chosen
        items = journal.pending(chosen.id)
        print(f"Resuming {chosen.describe()}", file=sys.stderr)
        if chosen.options.caption_folder:
            print(f"Captions go under {chosen.options.caption_folder}", file=sys.stderr)
    return _caption(items, chosen.options, args, stream_to_stdout=False, job_id=chosen.id)


def _caption(items: list[ImageItem], options: JobOptions, args: argparse.Namespace, *, stream_to_stdout: bool,
             job_id: int | None = None) -> int:
    try:
        choice = choose_model(args.model, args.mmproj, assume_yes=args.yes)
    except CaprlError as exc:
        return _fail(str(exc))
    if choice is None:
        return EXIT_USAGE
    model_path, mmproj_path = choice
    options = dataclasses.replace(options, model_label=model_path.name)
    config = EngineConfig(
        model_path=str(model_path),
        mmproj_path=str(mmproj_path),
        image_budget=options.image_budget,
        gpu_layers=args.gpu_layers,
        threads=args.threads,
        max_output_tokens=options.params.max_tokens,
        # One image needs one sequence; the KV cache of the others would be memory for nothing.
        parallel=getattr(args, "parallel", None) or (1 if len(items) == 1 else None),
    )
    try:
        with Journal() as journal, folder_locks(i.root for i in items), EngineClient(config) as engine:
            if journal.set_aside is not None:
                print(f"warning: the job journal was damaged and was set aside as {journal.set_aside}",
                      file=sys.stderr)
            made: dict[Path, str] = {}
            if job_id is None:
                job_id = journal.create(items, options)
                earlier = []
            else:
                journal.claim(job_id)
                earlier = journal.records(job_id)
                made = journal.made(job_id)
            info = engine.start()
            side_by_side = f" · {info.parallel} captions at a time" if info.parallel > 1 else ""
            print(f"Model: {info.model.model_path.name} + {info.model.mmproj_path.name} · {info.backend_line}"
                  f"{side_by_side}", file=sys.stderr)
            exporters = [open_exporter(path, kind) for path, kind in ((args.csv, "csv"), (args.jsonl, "jsonl"))
                         if path]
            for exporter in exporters:  # a resumed run exports the whole job, each image once
                for record in earlier:
                    exporter.write(record)
            job = journaled(run_job(items, options, engine, made), journal, job_id)
            return _drive(job, exporters, stream_to_stdout, job_id)
    except CaprlError as exc:
        return _fail(str(exc))


def _drive(job: Generator[JobEvent, None, None], exporters: list[Any], stream_to_stdout: bool, job_id: int) -> int:
    progress: Progress | None = None
    finished: JobFinished | None = None
    try:
        for event in job:
            if isinstance(event, JobPlanned):
                for clash in event.clashes:
                    print(f"note: {clash.describe()}", file=sys.stderr)
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
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif progress is not None:
                    progress.token()
            elif isinstance(event, ItemFinished):
                for exporter in exporters:
                    exporter.write(event.record)
                if stream_to_stdout:
                    _report_single(event)
                elif progress is not None:
                    progress.finished(event)
            elif isinstance(event, EngineRestarted):
                message = f"the engine crashed and was restarted ({event.reason})"
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
                print(f"Interrupted: the rows made so far are in {kept}", file=sys.stderr)
        job.close()  # records the job as stopped, so that it can be resumed
        print(f"Interrupted. `caprl-desktop caption --resume` continues job {job_id} where it stopped.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except CaprlError as exc:
        for exporter in exporters:
            exporter.abandon()
        return _fail(str(exc))
    finally:
        if progress is not None:
            progress.close()

    for exporter in exporters:
        try:
            written = exporter.close()
        except CaprlError as exc:
            return _fail(str(exc))
        if written is not None:
            print(f"Wrote {written}", file=sys.stderr)
    assert finished is not None
    if finished.cannot_save is not None:
        _explain_cannot_save(finished.cannot_save, job_id)
        return EXIT_SOME_FAILED
    parts = [f"{finished.captioned} captioned"]
    if finished.skipped:
        parts.append(f"{finished.skipped} skipped")
    if finished.failed:
        parts.append(f"{finished.failed} failed")
    if not stream_to_stdout:
        print("Done: " + ", ".join(parts) + ".", file=sys.stderr)
    return EXIT_SOME_FAILED if finished.failed else EXIT_OK


def _explain_cannot_save(problem: WriteError, job_id: int) -> None:
    print(f"Stopped: captions cannot be saved: {problem}.", file=sys.stderr)
    print(f"Nothing made is lost: job {job_id} keeps every caption made, and resuming saves them first.",
          file=sys.stderr)
    if problem.problem == "full":
        print("Free some space, then: caprl-desktop caption --resume", file=sys.stderr)
    else:
        print("Save the captions elsewhere: caprl-desktop caption --resume --output-dir DIR", file=sys.stderr)


def _report_single(event: ItemFinished) -> None:
    if event.record.error:
        print(f"\ncaprl-desktop: {event.item.file_name}: {event.record.error}", file=sys.stderr)
        return
    sys.stdout.write("\n")
    sys.stdout.flush()
    if event.stats is not None:
        s = event.stats
        print(f"{s.image_tokens} image tokens, encode {s.image_encode_ms / 1000:.1f} s, prompt "
              f"{s.prompt_ms / 1000:.1f} s, {s.output_tokens} tokens at {s.tokens_per_second:.1f} tok/s, "
              f"{s.total_seconds:.1f} s in all, seed {s.seed}", file=sys.stderr)
