"""``caprl-desktop runtime``: list, install, choose and remove the llama.cpp runtimes that caption on a GPU.

A runtime is an official llama.cpp release build of ``llama-server`` for this computer's GPU (or CPU), which
the app downloads, checks and runs itself (``core/runtimes``): no compiler, no ``pip``. ``runtime use``
chooses it for every caption made on this computer (``caption``, ``jobs resume``); ``runtime use builtin``
goes back to the built-in engine.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any, cast

from caprl_desktop.cli.download_progress import download_with_bar
from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.runtimes import store
from caprl_desktop.core.runtimes.catalog import (
    TAG,
    VARIANT_WORDS,
    VARIANTS,
    Platform,
    Release,
    ReleaseError,
    Variant,
    fetch_release,
    this_platform,
    variants_for,
)
from caprl_desktop.core.runtimes.install import install
from caprl_desktop.core.runtimes.store import BUILTIN, runtime_name
from caprl_desktop.core.units import human_size
from caprl_desktop.core.visible_text import visible

# What `runtime install` takes: a variant, or "cuda" for the CUDA build this computer's driver runs.
INSTALL_CHOICES = ("cuda", *VARIANTS)


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "runtime", help="download and choose llama.cpp runtimes (GPU engines, no compiler needed)",
        description=f"Runtimes are llama.cpp's official builds (release {TAG}) of its server for this computer's "
                    "GPU: downloaded, checked against the release's sha256 and run by the app. "
                    "`runtime use NAME` makes captions on this computer go through one; `runtime use builtin` "
                    "goes back to the built-in engine.")
    sub = p.add_subparsers(dest="runtime_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the runtimes installed, and those available for this computer with sizes")
    ls.set_defaults(handler=run_list)
    add = sub.add_parser("install", help="download, check and install a runtime")
    add.add_argument("variant", nargs="?", choices=INSTALL_CHOICES, metavar="VARIANT",
                     help=f"one of {', '.join(INSTALL_CHOICES)} (cuda: the CUDA build this computer's driver runs); "
                          "default: the one that fits this computer's GPU")
    add.set_defaults(handler=run_install)
    use = sub.add_parser("use", help="caption on this computer with a runtime, or with the built-in engine")
    use.add_argument("name", metavar="NAME|builtin")
    use.set_defaults(handler=run_use)
    rm = sub.add_parser("remove", help="delete an installed runtime")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(handler=run_remove)


def _fail(message: object) -> int:
    print(f"caprl-desktop: error: {visible(message)}", file=sys.stderr)
    return EXIT_USAGE


def _platform() -> Platform:
    where = this_platform()
    if where is None:
        raise CaprlError("llama.cpp publishes no runtime builds for this kind of computer; the built-in engine "
                         "captions here")
    return where


def recommended(where: Platform) -> tuple[Variant, str]:
    """The variant that fits this computer's GPU, and why (from ``core/gpu``'s search)."""
    from caprl_desktop.core.gpu.detect import detect_isolated
    from caprl_desktop.core.gpu.variant import choose_variant

    choice = choose_variant(detect_isolated())
    variant = cast(Variant, choice.variant)
    if variant not in variants_for(where):
        return "cpu", f"{choice.reason}; llama.cpp builds no {variant} runtime for {where.words}"
    return variant, choice.reason


def _resolve(asked: str | None, where: Platform) -> tuple[Variant, str]:
    if asked is not None and asked != "cuda":
        return cast(Variant, asked), ""
    variant, reason = recommended(where)
    if asked == "cuda" and not variant.startswith("cuda"):
        # No driver new enough was found (or no NVIDIA card): CUDA 12 needs the oldest driver of the two.
        return "cuda-12", f"{reason}; CUDA 12 asked for"
    return variant, reason


def run_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    choice = store.read_choice()
    installed = store.installed()
    in_use = choice.chosen if any(r.name == choice.chosen for r in installed) else None
    print(f"In use: {visible(in_use) if in_use else 'the built-in engine (builtin)'}")
    print("Installed:")
    print(f"  {'builtin':<18} the built-in engine (llama-cpp-python){'  [in use]' if in_use is None else ''}")
    for runtime in installed:
        marks = []
        if runtime.name == in_use:
            marks.append("in use" + ("; not yet captioned" if runtime.name not in choice.proven else ""))
        if runtime.name == choice.fallback:
            marks.append("kept to go back to")
        if runtime.name in choice.failed:
            marks.append(f"could not start: {choice.failed[runtime.name]}")
        mark = f"  [{'; '.join(marks)}]" if marks else ""
        print(visible(f"  {runtime.name:<18} {runtime.words}, {human_size(runtime.size)}{mark}"))
    where = this_platform()
    if where is None:
        print("Available: none (llama.cpp publishes no builds for this kind of computer)")
        return EXIT_OK
    try:
        release: Release | None = fetch_release()
    except ReleaseError as exc:
        release = None
        print(f"Available for {where.words}: cannot be listed now ({visible(exc)})")
    if release is not None:
        print(f"Available for {where.words} (llama.cpp {release.tag}):")
        for variant in variants_for(where):
            try:
                assets = release.pick(where, variant)
            except ReleaseError as exc:
                print(visible(f"  {variant:<18} {VARIANT_WORDS[variant]}: {exc}"))
                continue
            here = " (installed)" if any(r.name == runtime_name(release.tag, variant) for r in installed) else ""
            print(f"  {variant:<18} {VARIANT_WORDS[variant]}, {human_size(sum(a.size for a in assets))}{here}")
    try:
        variant, reason = recommended(where)
    except ImportError:  # (the GPU search is not part of this build)
        return EXIT_OK
    print(visible(f"For this computer: {variant} ({reason})"))
    return EXIT_OK


def run_install(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        where = _platform()
        variant, reason = _resolve(args.variant, where)
    except CaprlError as exc:
        return _fail(exc)
    if reason:
        print(visible(f"{variant}: {reason}"), file=sys.stderr)
    done = download_with_bar(lambda bar: install(variant, where, on_progress=bar, cancel=threading.Event()),
                             next_time="the next install")
    if isinstance(done, int):
        return done
    runtime = done.runtime
    if done.already:
        print(visible(f"{runtime.name} is already installed ({runtime.folder})."))
    else:
        print(visible(f"Installed {runtime.name}: {runtime.words}, in {runtime.folder}"))
    if done.replaces:
        print(visible(f"It replaces {done.replaces}, which stays installed until {runtime.name} has captioned once "
                      "(should it not start, captions go back to it)."))
    elif store.read_choice().chosen != runtime.name:
        print(f"Caption with it: caprl-desktop runtime use {visible(runtime.name)}")
    return EXIT_OK


def run_use(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        choice = store.use(args.name)
    except CaprlError as exc:
        return _fail(exc)
    if choice.chosen is None:
        print("Captions on this computer are made by the built-in engine.")
        return EXIT_OK
    runtime = store.find(choice.chosen)
    print(visible(f"Captions on this computer are made by {runtime.name} ({runtime.words})."))
    if choice.fallback:
        before = "the built-in engine" if choice.fallback == BUILTIN else choice.fallback
        print(visible(f"Until it has captioned once, {before} stays the one to go back to if it cannot start."))
    return EXIT_OK


def run_remove(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        runtime = store.remove(args.name)
    except CaprlError as exc:
        return _fail(exc)
    print(visible(f"Removed {runtime.name} ({human_size(runtime.size)} of downloads)."))
    return EXIT_OK
