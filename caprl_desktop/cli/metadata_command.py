"""``caprl-desktop metadata``: show the description inside images, or put back what ``--metadata`` replaced.

``restore`` undoes the app's description in each file given: the human description that a run with
``--metadata-existing replace`` replaced (journaled then, newest per file) goes back byte for byte; where the
app replaced none, its own description is removed. A description edited since the app wrote it is left alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED
from caprl_desktop.cli.journal_open import open_journal
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.jobs.journal import DescriptionUnknownError
from caprl_desktop.core.metadata import MetadataError, read_description, read_xmp_sidecar, restore_description


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "metadata", help="show or restore the descriptions inside images",
        description="The description written inside images by `caption --metadata embed`: show it, or restore "
                    "what was there before.")
    sub = p.add_subparsers(dest="metadata_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="each image's description, and whether the app wrote it")
    show.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files")
    show.set_defaults(handler=run_show)
    restore = sub.add_parser("restore", help="put back the description the app replaced (or remove its own)")
    restore.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files")
    restore.set_defaults(handler=run_restore)


def run_show(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    result = EXIT_OK
    for path in args.paths:
        try:
            found = read_description(path) if path.suffix.lower() != ".xmp" else None
            where = "inside"
            if found is None:
                found, where = read_xmp_sidecar(path), "in its XMP sidecar"
        except (MetadataError, OSError) as exc:
            print(f"caprl-desktop: {path}: {exc}", file=sys.stderr)
            result = EXIT_SOME_FAILED
            continue
        if found is None:
            print(f"{path}: no description")
            continue
        by = "written by CapRL Desktop" if found.app_written else "not written by this app"
        print(f"{path}: {where}, {by}")
        print(found.text)
    return result


def run_restore(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    result = EXIT_OK
    with open_journal() as journal:
        for path in args.paths:
            try:
                # Refuses while what the app replaced cannot be read: never remove what cannot be put back.
                previous = journal.replaced_description(path)
                restore_description(path, previous)
            except (DescriptionUnknownError, MetadataError, WriteError) as exc:
                print(f"caprl-desktop: {path}: {exc}", file=sys.stderr)
                result = EXIT_SOME_FAILED
                continue
            if previous is not None:
                journal.forget_replaced(path)
            print(f"{path}: " + ("the earlier description is back" if previous is not None
                                 else "the app's description was removed (it had replaced none)"))
    return result
