"""``caprl-desktop replay RECORDS.jsonl``: make each exported caption again from its provenance and say whether
it came out identical (see ``core/jobs/replay.py`` for what is reproduced and what may not be)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from caprl_desktop.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.starting import start_or_close
from caprl_desktop.core.export.writers import CaptionRecord, read_jsonl, record_from_json
from caprl_desktop.core.jobs.replay import Outcome, replay
from caprl_desktop.core.params import EngineConfig
from caprl_desktop.core.visible_text import visible


def add_parser(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "replay", help="caption exported records again and check they come out identical",
        description="Caption each record of a JSON Lines export (caption --jsonl) again with its own model files "
                    "(checked by sha256), prompt, sampling, seed and image detail, one at a time, and say whether "
                    "each caption came out identical. Exit status 0 when all did, 1 otherwise.")
    p.add_argument("records", type=Path, metavar="RECORDS.jsonl", help="a JSON Lines export")
    p.add_argument("--gpu-layers", type=int, default=None, metavar="N",
                   help="layers to offload to the GPU (default: all when the build supports a GPU; 0: CPU)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    p.set_defaults(handler=run)


def _read(path: Path) -> list[CaptionRecord]:
    try:
        return [record_from_json(line) for line in read_jsonl(path)]
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # not JSON, or not our records
        raise ValueError(f"{path}: {exc}") from exc


def _start(config: EngineConfig) -> EngineClient:
    engine = EngineClient(config)
    info = start_or_close(engine)
    print(visible(f"Model: {info.model.model_path.name} + {info.model.mmproj_path.name} · {info.backend_line}"),
          file=sys.stderr)
    return engine


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        records = _read(args.records)
    except ValueError as exc:
        print(f"caprl-desktop: error: {visible(exc)}", file=sys.stderr)
        return EXIT_USAGE
    counts = dict.fromkeys(Outcome, 0)
    for result in replay(records, _start, threads=args.threads, gpu_layers=args.gpu_layers):
        counts[result.outcome] += 1
        detail = f": {result.detail}" if result.detail else ""
        print(visible(f"{result.outcome.value}  {result.record.file_name}{detail}"))
    print(f"{counts[Outcome.IDENTICAL]} identical, {counts[Outcome.DIFFERENT]} different, "
          f"{counts[Outcome.NOT_REPLAYED]} not replayed")
    all_same = bool(records) and counts[Outcome.IDENTICAL] == len(records)
    return EXIT_OK if all_same else EXIT_SOME_FAILED
