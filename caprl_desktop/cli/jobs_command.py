"""``caprl-desktop jobs``: the runs recorded in the job journal; resume a stopped or killed one, or forget it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from caprl_desktop.cli import arguments
from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE
from caprl_desktop.cli.journal_open import open_journal
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "jobs", help="list, resume or forget captioning runs",
        description="Every captioning run is recorded image by image; a run that was stopped or killed can be "
                    "resumed where it stopped.")
    sub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the recorded runs with what each finished")
    ls.set_defaults(handler=run_list)
    resume = sub.add_parser("resume", help="caption what a run left (default: the last stopped or killed run)",
                            description="Caption what a run left, with the run's own language, prompt and "
                                        "detail; sampling options given here change it from now on.")
    resume.add_argument("job", nargs="?", type=int, help="job number from `jobs list`")
    arguments.add_model_options(resume)
    arguments.add_output_options(resume, new_run=False)
    arguments.add_generation_options(resume)
    resume.set_defaults(handler=run_resume, paths=[])
    forget = sub.add_parser("forget", help="remove runs from the journal (their captions stay)")
    forget.add_argument("job", nargs="*", type=int, help="job numbers")
    forget.add_argument("--finished", action="store_true", help="every run that finished")
    forget.set_defaults(handler=run_forget)


def run_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with open_journal() as journal:
        jobs = journal.jobs()
    if not jobs:
        print("No captioning runs recorded.")
        return EXIT_OK
    for job in jobs:
        mark = "  <- `caprl-desktop jobs resume` continues it" if job.resumable else ""
        print(visible(job.describe()) + mark)
    return EXIT_OK


def run_resume(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from caprl_desktop.cli.caption_command import resume

    return resume(args.job, args)


def run_forget(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not args.job and not args.finished:
        parser.error("name the jobs to forget, or --finished")
    with open_journal() as journal:
        ids = set(args.job)
        if args.finished:
            ids |= {j.id for j in journal.jobs() if j.status == "finished"}
        for job_id in sorted(ids):
            if journal.forget(job_id):
                print(f"Forgot job {job_id}.")
            else:
                print(f"caprl-desktop: there is no job {job_id}", file=sys.stderr)
                return EXIT_USAGE
    return EXIT_OK
