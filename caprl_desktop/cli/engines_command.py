"""``caprl-desktop engines``: save, list and remove the caption servers `--engine NAME` refers to."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE
from caprl_desktop.core.engine.remote import saved
from caprl_desktop.core.engine.remote.servers import plain_http_warning
from caprl_desktop.core.engine.remote.wire import answer_line
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "engines", help="save OpenAI-compatible caption servers (vLLM, llama-server, LM Studio) by name",
        description="Servers saved here are used with `caprl-desktop caption --engine NAME` and in the window "
                    "(Settings → Engine). API keys are never written into the app's files: name the environment "
                    "variable that holds one (--api-key-env), or keep it in the system keyring (--api-key-keyring).")
    sub = p.add_subparsers(dest="engines_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="save a server under a name")
    add.add_argument("name")
    add.add_argument("url", metavar="URL[#N]", help="e.g. http://gpu-box:8000/v1#32 (#N: captions at a time)")
    key = add.add_mutually_exclusive_group()
    key.add_argument("--api-key-env", metavar="VAR", help="the environment variable holding its API key")
    key.add_argument("--api-key-keyring", action="store_true",
                     help="keep its API key in the system keyring (asked for here; read from standard input when "
                          "that is not a terminal)")
    add.add_argument("--ca-file", metavar="PEM", help="certificates to trust for its HTTPS besides the system's "
                                                      "(a private certificate authority)")
    add.add_argument("--reply-timeout", type=float, metavar="SECONDS",
                     help="how long a caption waits for the server's reply (its first words, or the next) before it "
                          "is tried again; by default this follows the server's measured pace and the image's size")
    add.set_defaults(handler=run_add)
    ls = sub.add_parser("list", help="the saved servers, and whether each answers now")
    ls.set_defaults(handler=run_list)
    rm = sub.add_parser("remove", help="forget a saved server")
    rm.add_argument("name")
    rm.set_defaults(handler=run_remove)


def _read_key() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("API key (kept in the system keyring): ")
    return sys.stdin.readline().strip()


def run_add(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        key = _read_key() if args.api_key_keyring else None
        if key is not None and not key:
            raise CaprlError("no API key was given")
        server = saved.add(args.name, args.url, args.api_key_env, keyring_key=key, ca_file=args.ca_file,
                           reply_timeout_s=args.reply_timeout)
    except CaprlError as exc:
        print(f"caprl-desktop: error: {visible(exc)}", file=sys.stderr)
        return EXIT_USAGE
    where = f", {server.key_source}" if server.key_source else ""
    print(visible(f"Saved {args.name}: {server.shown}, captions {server.at_a_time}{where}"), file=sys.stderr)
    if warning := plain_http_warning(server):
        print(f"warning: {visible(warning)}", file=sys.stderr)
    return EXIT_OK


def run_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    servers = saved.load()
    if not servers:
        print("No servers saved. `caprl-desktop engines add NAME URL` saves one.")
        return EXIT_OK
    for name, server in servers.items():
        key = f", {server.key_source}" if server.key_source else ""
        print(visible(f"{name}  {server.shown}  {server.at_a_time}{key}  {answer_line(server)}"))
    return EXIT_OK


def run_remove(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not saved.remove(args.name):
        print(f"caprl-desktop: error: no saved server is called {visible(repr(args.name))}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Removed {visible(args.name)}.", file=sys.stderr)
    return EXIT_OK
