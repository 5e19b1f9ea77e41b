"""``caprl-desktop models``: list, download, use, remove and add CapRL GGUF quants with their projectors."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from caprl_desktop.cli.download_progress import download_with_bar
from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_USAGE
from caprl_desktop.core.engine.client import probe_backend
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models import catalog as catalog_module
from caprl_desktop.core.models.catalog import Catalog
from caprl_desktop.core.models.hub import HubClient
from caprl_desktop.core.models.install import InstallPlan, add_local, install, plan_install
from caprl_desktop.core.models.listing import installed_rows, quant_rows
from caprl_desktop.core.models.offer import ModelOffer, model_offer
from caprl_desktop.core.models.projector_search import find_projector, model_base_names
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.core.units import human_size
from caprl_desktop.core.visible_text import visible


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("models", help="list, download and choose models",
                            description="Manage the CapRL GGUF models on this machine.")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="installed models; --remote: what the hub offers and what fits here")
    ls.add_argument("--remote", action="store_true", help="list the quants on the hub with fit advice")
    _family_arg(ls, listing=True)
    ls.set_defaults(handler=run_list)

    dl = sub.add_parser("download", help="download a quant and its vision projector")
    dl.add_argument("quant", nargs="?", help="e.g. Q4_K_M, Q8_0, i1-IQ4_XS (default: the one recommended here)")
    dl.add_argument("--imatrix", action="store_true", help="take the quant from the imatrix (i1) repo")
    dl.add_argument("--mmproj", type=str.strip, metavar="QUANT", help="vision projector precision, as the "
                    "repository lists it (Q8_0, f16; default: Q8_0, or the one already installed)")
    dl.add_argument("--yes", "-y", action="store_true", help="do not ask before downloading")
    dl.add_argument("--no-default", action="store_true", help="do not make it the default model")
    _family_arg(dl)
    dl.set_defaults(handler=run_download)

    use = sub.add_parser("use", help="make an installed model the default")
    use.add_argument("quant", help="quant (Q4_K_M, i1-Q4_K_M; 2b:Q4_K_M where families share it) or file name")
    use.set_defaults(handler=run_use)

    rm = sub.add_parser("remove", help="delete a downloaded model (and its projector if nothing else uses it)")
    rm.add_argument("quant", help="quant (Q4_K_M, i1-Q4_K_M; 2b:Q4_K_M where families share it) or file name")
    rm.set_defaults(handler=run_remove)

    path = sub.add_parser("path", help="print the models folder, or an installed model's file paths")
    path.add_argument("quant", nargs="?", help="quant or file name")
    path.set_defaults(handler=run_path)

    add = sub.add_parser("add", help="register GGUF files already on disk (e.g. from LM Studio)")
    add.add_argument("file", type=str, help="the text model GGUF")
    add.add_argument("--mmproj", help="its vision projector GGUF (default: the one found beside it)")
    add.add_argument("--default", action="store_true", help="make it the default model")
    add.set_defaults(handler=run_add)


def _family_choice(value: str) -> str:
    try:
        return catalog_module.family(value).key
    except KeyError as exc:
        raise argparse.ArgumentTypeError(exc.args[0]) from None


def _family_arg(p: argparse.ArgumentParser, *, listing: bool = False) -> None:
    names = ", ".join(f"{f.short} = {f.key} ({f.label})" for f in catalog_module.families())
    default = None if listing else catalog_module.DEFAULT_FAMILY
    p.add_argument("--family", type=_family_choice, default=default, metavar="FAMILY",
                   help=f"model family: {names}; " + ("default: all" if listing else f"default: {default}"))


def _fail(message: str) -> int:
    print(f"caprl-desktop: error: {visible(message)}", file=sys.stderr)
    return EXIT_USAGE


# --- list -------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    if args.remote:
        keys = [args.family] if args.family else [f.key for f in catalog_module.families()]
        return _list_remote(keys, store)
    try:
        rows = installed_rows(store.files(), store.default_id())
    except CaprlError as exc:
        return _fail(str(exc))
    if not rows:
        print("No models installed. `caprl-desktop models list --remote` shows what can be downloaded; "
              "`caprl-desktop models download` gets the recommended one.")
        return EXIT_OK
    print(f"Installed in {visible(store.root)}:")
    for row in rows:
        m = row.model
        mark = "*" if row.default else " "
        pair = f" + {row.projector.filename}" if row.projector else " (no projector)"
        where = "" if m.source == "hub" else f"  [{store.path_of(m).parent}]"
        print(visible(f" {mark} {m.label:<12} {m.filename}{pair}  {row.size}{where}"))
    print("* = default, used by `caprl-desktop caption` when no --model is given")
    return EXIT_OK


def _list_remote(family_keys: list[str], store: ModelStore) -> int:
    backend = probe_backend()  # once for every family: it starts a process
    installed = {f.id for f in store.files()}
    status = EXIT_OK
    for number, key in enumerate(family_keys):
        if number:
            print()
        try:
            offer = model_offer(key, backend=backend, probe=False)
        except CaprlError as exc:
            status = _fail(str(exc))
            continue
        _print_offer(offer, installed)
    return status


def _print_offer(offer: ModelOffer, installed: set[str]) -> None:
    catalog, budget = offer.catalog, offer.budget
    family = catalog.family
    print(f"== {family.label} (--family {family.short}): {family.description}. {family.card}")
    if catalog.note:
        print(visible(catalog.note), file=sys.stderr)
    memory = human_size(budget.available) if budget.available is not None else "unknown"
    print(f"{family.label} quants (fit judged against {budget.where}: {memory} available)")
    every_row = quant_rows(offer, installed)
    for imatrix in (False, True):
        rows = [r for r in every_row if r.advice.file.imatrix == imatrix]
        if not rows:
            continue
        repo = rows[0].advice.file.repo
        print(f"\n{'imatrix' if imatrix else 'static'} ({repo}):")
        for row in rows:
            flags = [flag for flag, on in (("recommended", row.recommended), ("installed", row.installed)) if on]
            print(visible(f"  {row.advice.file.label:<12} {row.size:>9}   needs ~{row.memory:>9}   "
                          f"{row.advice.verdict:<8} {', '.join(flags)}".rstrip()))
    print(f"\nvision projectors ({catalog.family.static_repo}), one is downloaded with the first model:")
    for p in catalog.projectors:
        mark = "  installed" if f"{p.repo}/{p.filename}" in installed else ""
        print(visible(f"  {p.quant:<12} {human_size(p.size):>9}{mark}"))
    if not catalog.projectors and catalog.from_hub:
        print(f"  none: {family.static_repo} lists no vision projector (mmproj), so its models cannot caption "
              "images")
    elif not catalog.projectors:  # (what the built-in list lacks says nothing of the hub)
        print("  none in the built-in list; the hub lists them once it can be reached")


# --- download ---------------------------------------------------------------------------------


def run_download(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    try:
        offer = model_offer(args.family)
        quant = args.quant or offer.recommended
        if quant is None:
            return _fail("the hub lists no quant to download")
        plan = plan_install(offer.catalog, store, quant, imatrix=args.imatrix, mmproj_quant=args.mmproj)
    except CaprlError as exc:
        return _fail(str(exc))
    fit = next((a for a in offer.advice if a.file == plan.model), None)
    if fit is not None and fit.verdict == "too big":
        print(f"warning: {visible(plan.model.label)} needs about {human_size(fit.needed)}, more than the "
              f"{human_size(offer.budget.available or 0)} of {offer.budget.where} available; it will be slow "
              "or fail to load.", file=sys.stderr)
    return download_plan(plan, offer.catalog, store, make_default=False if args.no_default else None,
                         ask=not args.yes)


def download_plan(plan: InstallPlan, catalog: Catalog, store: ModelStore, *, make_default: bool | None,
                  ask: bool) -> int:
    if plan.downloads:
        print(visible(f"To download: {plan.describe()} into {store.root}"), file=sys.stderr)
        if ask and sys.stdin.isatty() and not _confirm("Download now? [Y/n] "):
            print("Nothing downloaded.", file=sys.stderr)
            return EXIT_OK
    cancel = threading.Event()
    model = download_with_bar(lambda bar: install(plan, catalog, store, HubClient(), on_progress=bar, cancel=cancel,
                                                  make_default=make_default), next_time="the next download")
    if isinstance(model, int):
        return model
    default = " (default)" if store.default_id() == model.id else ""
    print(visible(f"Installed {model.label}{default}: {store.path_of(model)}"), file=sys.stderr)
    return EXIT_OK


def _confirm(question: str) -> bool:
    try:
        answer = input(question).strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes", "はい")


# --- use, remove, path, add -------------------------------------------------------------------


def run_use(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    try:
        model = store.find_model(args.quant)
        store.pair_for(model)
        store.set_default(model)
    except CaprlError as exc:
        return _fail(str(exc))
    print(visible(f"Default model: {model.label} ({model.filename})"))
    return EXIT_OK


def run_remove(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    try:
        model = store.find_model(args.quant)
        lines = store.remove(model)
    except CaprlError as exc:
        return _fail(str(exc))
    for line in lines:
        print(visible(line))
    default = store.default_id()
    print(f"Default model now: {visible(default)}" if default else "No model installed now.")
    return EXIT_OK


def run_path(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    if args.quant is None:
        print(visible(store.root))
        return EXIT_OK
    try:
        pair = store.pair_for(store.find_model(args.quant))
    except CaprlError as exc:
        return _fail(str(exc))
    print(visible(pair.model_path))
    print(visible(pair.mmproj_path))
    return EXIT_OK


def run_add(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = ModelStore()
    file = Path(args.file).expanduser()
    mmproj = Path(args.mmproj).expanduser() if args.mmproj else find_projector(file)
    if mmproj is None:
        return _fail(no_projector_found(file))
    try:
        model = add_local(store, file, mmproj, make_default=True if args.default else None)
    except CaprlError as exc:
        return _fail(str(exc))
    default = " It is the default model." if store.default_id() == model.id else ""
    print(visible(f"Added {model.filename} with {mmproj.name}.{default}"))
    return EXIT_OK


def no_projector_found(model: Path) -> str:
    """Why ``--mmproj`` is needed, naming what was looked for (the window's local-files dialog finds the same)."""
    return (f"no vision projector for {model.name} was found beside it (files named like "
            f"{model_base_names(model)[-1]}.mmproj*.gguf or a lone mmproj*.gguf); give it with --mmproj FILE "
            "(e.g. CapRL-3B.mmproj-Q8_0.gguf)")
