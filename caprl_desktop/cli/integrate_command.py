"""``caprl-desktop integrate``: add or remove "Caption with CapRL" in the file manager (per user, no admin)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.integration import current_plan, install, status, uninstall
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "integrate", help='add "Caption with CapRL" to the file manager\'s right-click menu',
        description="Per user, no administrator rights: Explorer (Windows), a Finder Quick Action (macOS), "
                    "Nautilus, Dolphin, Nemo and Open With (Linux).")
    p.add_argument("action", choices=["install", "uninstall", "status"])
    p.add_argument("--show", action="store_true", help="also print every file and registry value involved")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    plan = current_plan()
    try:
        if args.action == "install":
            install(plan)
            print("Installed:", file=sys.stderr)
            for note in plan.notes:
                print(f"  {visible(note)}", file=sys.stderr)
        elif args.action == "uninstall":
            uninstall(plan)
            print("Removed.", file=sys.stderr)
        else:
            print(visible(status(plan)))
    except CaprlError as exc:
        print(f"caprl-desktop: error: {visible(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if args.show:
        for entry in plan.files:
            print(visible(entry.path))
        for value in plan.registry:
            print(visible(f"HKCU\\{value.key} [{value.name or '(default)'}] = {value.value}"))
    return EXIT_OK
