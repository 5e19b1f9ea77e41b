"""``caprl-desktop doctor``: print what a bug report needs (versions, GPU, backend, memory, models, paths)."""

from __future__ import annotations

import argparse
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "doctor", help="print what a bug report needs",
        description="Versions, memory, the GPU found (through its driver, without any GPU library of the app's "
                    "own) and the llama.cpp runtime variant it would use with the reason, the llama.cpp backend "
                    "and devices, the installed models with their sha256, and the app's folders. Paste the "
                    "output into a bug report.")
    p.add_argument("--no-checksums", action="store_true", help="skip hashing the model files (faster)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from caprl_desktop.core.diagnostics import report

    section = None
    for name, line in report(checksums=not args.no_checksums):
        if name != section:
            print(f"{'' if section is None else chr(10)}[{name}]", flush=True)
            section = name
        print(f"  {visible(line)}", flush=True)
    return EXIT_OK
