"""Where a caption came from: the app, the model pair (with checksums), the machine, the prompt and sampling
it was asked with, and what the engine reports of making it (plain data; exported and journaled).

One ``Provenance`` is filled per job (``core/jobs/provenance.py`` ``job_provenance``: the engine's report and
the job's options) and completed per caption with its stats (``with_caption``). Its fields are flat, so the
full CSV column set is ``COLUMNS + PROVENANCE_COLUMNS`` and the JSON Lines export nests them under
``"provenance"`` with the same names. ``seed`` is the seed actually used (a fresh one when none was asked),
so ``caprl-desktop replay`` can make the caption again; a caption tried again by the guards records what its
second try was asked (its system prompt, repeat penalty and seed), and what the guards did (``marks``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Provenance:
    app_version: str
    model_file: str  # the file name; ``model_path`` is where it was loaded from
    model_path: str
    model_family: str
    model_quant: str
    model_sha256: str
    projector_file: str
    projector_path: str
    projector_sha256: str
    backend: str  # CUDA, Metal, Vulkan, CPU
    device: str  # "CUDA: NVIDIA GeForce RTX 4070", "CPU"
    preset: str  # a preset name, or "custom" (the prompt itself is the record's)
    system_prompt: str
    image_max_tokens: int
    image_min_tokens: int | None
    temperature: float
    top_p: float
    repeat_penalty: float
    max_tokens: int
    requested_seed: int | None  # None: a fresh seed per caption (``seed`` says which)
    parallel: int  # captions decoded side by side: with more than 1 the same seed may not give the same text
    # Per caption, None until it is made (and for a caption made by an earlier run but saved only now).
    seed: int | None = None
    image_tokens: int | None = None
    image_width: int | None = None  # the size the image was scaled to
    image_height: int | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None  # stop, length, context
    image_encode_ms: float | None = None
    prompt_ms: float | None = None
    decode_ms: float | None = None
    # The server that made it (address without credentials) and the model id it gave; None on this computer.
    engine: str | None = None
    engine_model: str | None = None
    # What the guards found and did (``core/quality/watch.py``): the marks' kinds ("repetition, retried"), the
    # same in words ("repetition: repeated 23 times: '?'; retried with repeat penalty 1.1"), and the caption as it
    # streamed before it was cut at a loop. None when there was nothing to say.
    mark_kinds: str | None = None
    marks: str | None = None
    raw_caption: str | None = None

    def with_caption(self, *, seed: int, image_tokens: int, image_width: int, image_height: int,
                     prompt_tokens: int, finish_reason: str, image_encode_ms: float, prompt_ms: float,
                     decode_ms: float, engine: str = "", engine_model: str = "") -> Provenance:
        return dataclasses.replace(
            self, seed=seed, image_tokens=image_tokens, image_width=image_width, image_height=image_height,
            prompt_tokens=prompt_tokens, finish_reason=finish_reason, image_encode_ms=round(image_encode_ms, 1),
            prompt_ms=round(prompt_ms, 1), decode_ms=round(decode_ms, 1), engine=engine or None,
            engine_model=engine_model or None)

    @property
    def mark_list(self) -> tuple[str, ...]:
        return tuple(self.mark_kinds.split(", ")) if self.mark_kinds else ()

    def for_photos(self) -> Provenance:
        """What goes into an image's own metadata: not the raw caption (the caption is there already, and the text
        it was cut from is no description of the photo)."""
        return dataclasses.replace(self, raw_caption=None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """From ``to_dict``'s form; keys another version added are ignored, missing ones raise ``TypeError``."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


PROVENANCE_COLUMNS = tuple(f.name for f in fields(Provenance))
