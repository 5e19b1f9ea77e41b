"""Making recorded captions again from their provenance, to see whether they come out the same.

Each record is captioned again with its own settings: the same model and projector files (by path, and only
if their sha256 still matches), the same prompts, sampling, seed, image budget and caption length, one
caption at a time. A caption edited by hand since (``CaptionRecord.source``) is not replayed: its text is not
the model's. A caption made one at a time with a seed is reproduced byte for byte on the same machine
and backend. One made side by side (``parallel`` above 1) may not be: batched decoding sums in another order
than single-token decoding (see docs/benchmarks.md), so its text can part ways after some tokens.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from caprl_desktop.core.engine.replies import CaptionDone, CaptionText
from caprl_desktop.core.engine.reports import EngineInfo, image_token_side
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.export.writers import SOURCE_DISK, SOURCE_EDITED, CaptionRecord
from caprl_desktop.core.images.loading import PreparedImage, load_image
from caprl_desktop.core.models.checksums import file_sha256
from caprl_desktop.core.params import EngineConfig, GenerationParams, ImageBudget
from caprl_desktop.core.prompts import LANGUAGES, PromptSpec


class Outcome(enum.Enum):
    IDENTICAL = "identical"
    DIFFERENT = "different"
    NOT_REPLAYED = "not replayed"


@dataclass(frozen=True)
class ReplayResult:
    record: CaptionRecord
    outcome: Outcome
    detail: str = ""  # why not replayed; for a different caption, the text made now
    caption: str = ""


class ReplayEngine(Protocol):
    """What a replay needs of the engine (``EngineClient``)."""

    def caption(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams,
                ) -> Iterator[CaptionText | CaptionDone]: ...

    def close(self) -> None: ...

    @property
    def info(self) -> EngineInfo | None: ...


def why_not(record: CaptionRecord) -> str:
    """Why ``record`` cannot be replayed, or "" when it can (its files are checked when it is)."""
    p = record.provenance
    if record.error:
        return "it has no caption (it failed)"
    if record.source == SOURCE_EDITED:
        when = f" on {record.edited_at.replace('T', ' ')[:16]}" if record.edited_at else ""
        return (f"its caption was edited by hand{when}, so it is not what the model made (the model's caption is "
                "in its model_caption)")
    if record.source == SOURCE_DISK:
        return "it was found on disk with nothing recorded of how it was made"
    if p is None:
        return "it has no provenance (a caption found on disk, or made before provenance was recorded)"
    if p.seed is None:
        return "its seed is not recorded (made by an earlier run and saved later)"
    if record.language not in LANGUAGES:
        return f"unknown language {record.language!r}"
    return ""


def _same_file(path: str, sha256: str, what: str) -> str:
    file = Path(path)
    if not file.is_file():
        return f"the {what} {path} is not there any more"
    try:
        if file_sha256(file) != sha256:
            return f"the {what} {path} is not the same file any more (its sha256 differs)"
    except OSError as exc:
        return f"the {what} {path} cannot be read: {exc.strerror or exc}"
    return ""


def engine_config(p: Provenance, *, threads: int | None, gpu_layers: int | None) -> EngineConfig:
    return EngineConfig(model_path=p.model_path, mmproj_path=p.projector_path,
                        image_budget=ImageBudget(p.image_max_tokens, p.image_min_tokens),
                        max_output_tokens=p.max_tokens, threads=threads, gpu_layers=gpu_layers, parallel=1)


def replay(records: Iterable[CaptionRecord], start_engine: Callable[[EngineConfig], ReplayEngine], *,
           threads: int | None = None, gpu_layers: int | None = None) -> Iterator[ReplayResult]:
    """Each record's result, in order; an engine is started per model set-up and kept while the next agrees."""
    engine: ReplayEngine | None = None
    loaded: EngineConfig | None = None
    try:
        for record in records:
            reason = why_not(record)
            p = record.provenance
            if not reason and p is not None:
                reason = (_same_file(p.model_path, p.model_sha256, "model")
                          or _same_file(p.projector_path, p.projector_sha256, "projector"))
            if reason or p is None:
                yield ReplayResult(record, Outcome.NOT_REPLAYED, reason)
                continue
            config = engine_config(p, threads=threads, gpu_layers=gpu_layers)
            if engine is None or config != loaded:
                if engine is not None:
                    engine.close()
                engine = None  # closed: not closed again should the next one fail to start
                engine, loaded = start_engine(config), config
            yield _again(engine, record, p)
    finally:
        if engine is not None:
            engine.close()


def _again(engine: ReplayEngine, record: CaptionRecord, p: Provenance) -> ReplayResult:
    try:
        budget = ImageBudget(p.image_max_tokens, p.image_min_tokens)
        image = load_image(Path(record.path), budget.max_pixels(image_token_side(engine.info)))
        prompt = PromptSpec(system=p.system_prompt, user=record.prompt, language=record.language,  # type: ignore[arg-type]
                            preset=p.preset)
        params = GenerationParams(max_tokens=p.max_tokens, temperature=p.temperature, top_p=p.top_p,
                                  repeat_penalty=p.repeat_penalty, seed=p.seed)
        text = ""
        for reply in engine.caption(image, prompt, params):
            if isinstance(reply, CaptionDone):
                text = reply.output.text
    except CaprlError as exc:
        return ReplayResult(record, Outcome.NOT_REPLAYED, str(exc))
    if text == record.caption:
        return ReplayResult(record, Outcome.IDENTICAL, caption=text)
    note = f"made {p.parallel} side by side; " if p.parallel > 1 else ""
    return ReplayResult(record, Outcome.DIFFERENT, f"{note}now: {text[:80]!r}", caption=text)
