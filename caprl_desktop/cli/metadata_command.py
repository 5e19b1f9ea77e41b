"""``caprl-desktop metadata``: show the description inside images, or put back what ``--metadata`` replaced.

``show`` reads each image's description inside it, else from its XMP sidecar, named as the run that wrote it
named it (``core/jobs/descriptions.py`` ``xmp_sidecar_of``; ``--output-dir`` as that run was given).

``restore`` undoes the app's description in each file given: the human description that a run with
``--metadata-existing replace`` replaced (journaled then, newest per file) goes back byte for byte; where the
app replaced none, its own description is removed. A description edited since the app wrote it is left alone.

``write`` writes the captions already on disk as the images' descriptions (``core/jobs/on_disk.py``: each with
what the journal knows of it, "edited by hand" or "from disk" said beside it), with the same keep/replace rule
for a description someone else wrote as ``caption --metadata``, and the same way back (``restore``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED
from caprl_desktop.cli.journal_open import open_journal
from caprl_desktop.core import metadata  # (its Exiv2 part loads when a command first reads or writes)
from caprl_desktop.core.atomic import WriteError
from caprl_desktop.core.jobs.descriptions import xmp_sidecar_of
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import DescriptionUnknownError
from caprl_desktop.core.jobs.on_disk import Described, write_descriptions
from caprl_desktop.core.jobs.options import EXISTING_CHOICES, METADATA_MODES
from caprl_desktop.core.metadata.fields import XMP_SUFFIX, MetadataError
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "metadata", help="show, write or restore the descriptions inside images",
        description="The description written inside images by `caption --metadata embed`: show it, write it "
                    "from the captions already on disk, or restore what was there before.")
    sub = p.add_subparsers(dest="metadata_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="each image's description, and whether the app wrote it")
    show.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                      help="image files or folders, as given to `caption` (an .xmp sidecar too)")
    show.add_argument("--output-dir", type=Path, metavar="DIR",
                      help="the --output-dir the captions were written to: their XMP sidecars are there too")
    show.set_defaults(handler=run_show)
    restore = sub.add_parser("restore", help="put back the description the app replaced (or remove its own)")
    restore.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files")
    restore.set_defaults(handler=run_restore)
    write = sub.add_parser(
        "write", help="write the captions already on disk into the images as their descriptions",
        description="Write each image's caption (its .txt, beside it or under --output-dir) as its description, "
                    "as `caption --metadata` does for new captions. Images without a caption are named and left "
                    "as they are.")
    write.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    write.add_argument("--output-dir", type=Path, metavar="DIR",
                       help="the --output-dir the captions were written to")
    write.add_argument("--metadata", choices=[m for m in METADATA_MODES if m != "off"], default="embed",
                       help="embed: inside JPEG, PNG, WebP and TIFF files (other types and files that cannot be "
                            "written: an XMP sidecar), the default; xmp: always an XMP sidecar beside the .txt")
    write.add_argument("--metadata-existing", choices=EXISTING_CHOICES, default="keep",
                       help="a description someone else wrote: keep it (default), or replace it "
                            "(`caprl-desktop metadata restore` puts it back)")
    write.set_defaults(handler=run_write)


def run_show(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    result = EXIT_OK
    for path in args.paths:
        if path.suffix.lower() == XMP_SUFFIX and path.is_file():  # a sidecar named itself
            result = max(result, _show(path, None, path))
            continue
        items, missing = find_images([path])
        if missing:
            print(visible(f"caprl-desktop: {path}: no such file or folder"), file=sys.stderr)
            result = EXIT_SOME_FAILED
        for item in items:
            # The sidecar named as the run that wrote it named it (a.png.xmp beside a.jpg's a.xmp, under --output-dir).
            result = max(result, _show(item.path, item.path, xmp_sidecar_of(item, args.output_dir)))
    return result


def _show(shown: Path, image: Path | None, sidecar: Path) -> int:
    try:
        found = metadata.read_description(image) if image is not None else None
        where = "inside"
        if found is None:
            found, where = metadata.read_xmp_sidecar(sidecar), f"in its XMP sidecar {sidecar}"
    except (MetadataError, OSError) as exc:
        print(visible(f"caprl-desktop: {shown}: {exc}"), file=sys.stderr)
        return EXIT_SOME_FAILED
    if found is None:
        print(f"{visible(shown)}: no description")
        return EXIT_OK
    by = "written by CapRL Desktop" if found.app_written else "not written by this app"
    print(visible(f"{shown}: {where}, {by}"))
    print(visible(found.text))
    return EXIT_OK


def run_restore(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    result = EXIT_OK
    with open_journal() as journal:
        for path in args.paths:
            try:
                # Refuses while what the app replaced cannot be read: never remove what cannot be put back.
                previous = journal.replaced_description(path)
                metadata.restore_description(path, previous)
            except (DescriptionUnknownError, MetadataError, WriteError) as exc:
                print(visible(f"caprl-desktop: {path}: {exc}"), file=sys.stderr)
                result = EXIT_SOME_FAILED
                continue
            if previous is not None:
                journal.forget_replaced(path)
            print(f"{visible(path)}: " + ("the earlier description is back" if previous is not None
                                 else "the app's description was removed (it had replaced none)"))
    return result


def run_write(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    items, missing = find_images(args.paths)
    result = EXIT_OK
    for path in missing:
        print(visible(f"caprl-desktop: {path}: no such file or folder"), file=sys.stderr)
        result = EXIT_SOME_FAILED
    counts = {"written": 0, "kept": 0, "none": 0, "failed": 0}
    with open_journal() as journal:
        for done in write_descriptions(items, caption_folder=args.output_dir, mode=args.metadata,
                                       existing=args.metadata_existing, journal=journal):
            kind, line = _said(done)
            counts[kind] += 1
            if kind in ("failed", "none"):
                print(visible(f"caprl-desktop: {line}"), file=sys.stderr)
            else:
                print(visible(line))
    if counts["failed"] or counts["none"]:
        result = EXIT_SOME_FAILED
    print(f"{counts['written']} written, {counts['kept']} kept their own description, "
          f"{counts['none']} without a caption, {counts['failed']} failed")
    return result


def _said(done: Described) -> tuple[str, str]:
    """What became of one image: its kind for the summary and its line."""
    name, outcome = done.item.path, done.outcome
    if outcome is None:
        return "none", f"{name}: no caption on disk; nothing written"
    if outcome.problem:
        return "failed", f"{name}: {outcome.problem}"
    if outcome.kept_existing:
        why = f" (the journal could not record it: {done.unrecorded})" if done.unrecorded else ""
        return "kept", f"{name}: its own description was kept{why}"
    where = "inside" if outcome.written == outcome.image else f"in {outcome.written}"
    note = f" ({outcome.note})" if outcome.note else ""
    return "written", f"{name}: description written {where}{note}"
