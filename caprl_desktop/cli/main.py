"""``caprl-desktop``: the command-line entry point and its sub-commands."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from caprl_desktop import __version__
from caprl_desktop.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TRY_AGAIN,
    EXIT_USAGE,
)

# Kept here so that `caprl-desktop PATH` can open the window without building the parser (a test checks it
# against the parser).
COMMANDS = ("caption", "models", "jobs", "metadata", "replay", "engines", "runtime", "integrate", "doctor",
            "gui")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose error messages quote arguments (a file name from a shell glob) made visible."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        from caprl_desktop.core.visible_text import visible

        super().exit(status, visible(message) if message else message)


def build_parser() -> argparse.ArgumentParser:
    # Imported here, not at the top: the window starts through main() too and needs none of the
    # commands' dependencies (huggingface-hub alone took a third of a second to import).
    from caprl_desktop.cli import (
        caption_command,
        doctor_command,
        engines_command,
        integrate_command,
        jobs_command,
        metadata_command,
        models_command,
        replay_command,
        runtime_command,
    )

    parser = _Parser(
        prog="caprl-desktop",
        description="Caption images offline with CapRL (CapRL-3B, CapRL 2.0 2B and 4B), in Japanese or English.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # The sub-commands' own parsers quote what they reject with repr(), which shows control characters already.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser)
    caption_command.add_parser(commands)
    models_command.add_parser(commands)
    jobs_command.add_parser(commands)
    metadata_command.add_parser(commands)
    replay_command.add_parser(commands)
    engines_command.add_parser(commands)
    runtime_command.add_parser(commands)
    integrate_command.add_parser(commands)
    doctor_command.add_parser(commands)
    gui = commands.add_parser("gui", help="open the window (also what `caprl-desktop` alone does)")
    gui.add_argument("paths", nargs="*", metavar="PATH", help="images or folders to queue")
    return parser


def _run_gui(arguments: Sequence[str]) -> int:
    from caprl_desktop.core.desktop_libraries import explain_missing, missing_xcb_libraries, uses_xcb

    # Before Qt is loaded: without these, Qt aborts the process with a message about "plugins".
    if uses_xcb() and (missing := missing_xcb_libraries()):
        print(f"caprl-desktop: error: {explain_missing(missing)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from caprl_desktop.ui.app import run_gui  # Qt is loaded only for the window
    except ImportError as exc:
        print(f"caprl-desktop: error: the window needs PySide6 ({exc}); the commands work without it. "
              "See `caprl-desktop --help`.", file=sys.stderr)
        return EXIT_USAGE
    return run_gui(arguments)


def main(argv: Sequence[str] | None = None) -> int:
    # Needed for the engine process in frozen (PyInstaller) builds; a no-op otherwise.
    multiprocessing.freeze_support()
    for stream in (sys.stdout, sys.stderr):
        # Japanese captions must print on consoles whose default encoding cannot hold them.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0] not in COMMANDS and not arguments[0].startswith("-")):
        # `caprl-desktop` and `caprl-desktop PATH...` open the window (the file manager entries use the latter).
        return _run_gui(arguments)
    if arguments[0] == "gui" and not any(a.startswith("-") for a in arguments[1:]):
        # The same without building every command's parser: that imports the hub's client (0.25 s of a start).
        return _run_gui(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    if args.command == "gui":
        return _run_gui(args.paths)
    return _run_command(args, parser)


def _run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """The one place a command's errors end: a sentence for what is expected, one line and the log for the rest."""
    from caprl_desktop.core.app_log import log_path, log_unexpected, previous_crash, start_logging
    from caprl_desktop.core.errors import CaprlError
    from caprl_desktop.core.jobs.journal import JournalBusyError
    from caprl_desktop.core.visible_text import visible

    start_logging("cli")
    crash = previous_crash()
    if crash is not None:
        print(f"caprl-desktop: note: the previous command ended in a crash; what it left is in {crash.path} "
              "(please include that file when you report it).", file=sys.stderr)
    try:
        result: int = args.handler(args, parser)
    except BrokenPipeError:
        # The reader went away (`caprl-desktop models list | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CaprlError as exc:
        print(f"caprl-desktop: error: {visible(exc)}", file=sys.stderr)
        return EXIT_TRY_AGAIN if isinstance(exc, JournalBusyError) else EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: logged whole, said in one line
        log_unexpected(type(exc), exc, exc.__traceback__, where=f"caprl-desktop {args.command}")
        print(f"caprl-desktop: unexpected error ({type(exc).__name__}: {visible(exc)}). The details are in "
              f"{log_path('cli')}; please include that file when you report it.", file=sys.stderr)
        return EXIT_INTERNAL
    return result


if __name__ == "__main__":
    sys.exit(main())
