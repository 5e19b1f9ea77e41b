"""Finding a text model's vision projector beside it, for files the user already has.

Uploaders name projectors after their model in a few ways: ``CapRL-3B.mmproj-f16.gguf`` beside
``CapRL-3B.Q4_K_M.gguf`` (mradermacher, and our own store), ``mmproj-Qwen2.5-VL-3B-f16.gguf`` beside
``Qwen2.5-VL-3B-Q4_K_M.gguf`` (LM Studio, ggml-org), ``tiny-mmproj.gguf`` beside ``tiny.gguf``, or a folder
holding one model and a lone ``mmproj-model-f16.gguf``. A name is only a hint: a candidate is taken once its
GGUF header says it is a projector, and one that produces image embeddings as wide as the model's. The
window's local-files dialog and the command line's ``--model FILE`` without ``--mmproj`` use the same search.
"""

from __future__ import annotations

import re
from pathlib import Path

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.models.files import (
    FileProblem,
    ModelFileProblem,
    check_belong_together,
    check_model_header,
    check_projector_header,
)
from caprl_desktop.core.models.gguf_header import GGUFFormatError, GGUFHeader, read_header

# A quant at the end of the stem, as llama.cpp's quantizer names them: ".Q4_K_M", "-i1-IQ3_XS", "_F16".
_QUANT_SUFFIX = re.compile(
    r"[.\-_](?:i1-)?(?:IQ[1-4]_(?:XXS|XS|NL|S|M)|Q[2-8]_K(?:_[SML])?|Q[4-8]_[01]|BF16|F16|F32)$", re.IGNORECASE)


def model_base_names(model: Path) -> list[str]:
    """The names a projector may start from: the model's stem, and the stem without its quant."""
    stem = model.name[:-5] if model.name.lower().endswith(".gguf") else model.stem
    base = _QUANT_SUFFIX.sub("", stem)
    return [stem] if base == stem or not base else [stem, base]


def projector_candidates(model: Path) -> tuple[list[Path], list[Path]]:
    """GGUF files beside ``model`` that may be its projector: (named after it, best first; other "mmproj" files).

    Named after the model means ``X.mmproj*``, ``mmproj-X*`` or ``X-mmproj*`` (case aside), X being the
    model's stem with or without its quant; among equals, the first by name.
    """
    try:
        siblings = sorted((p for p in model.parent.iterdir() if p.name.lower().endswith(".gguf") and p != model),
                          key=lambda p: p.name.casefold())
    except OSError:
        return [], []
    named: list[Path] = []
    for base in (b.casefold() for b in model_base_names(model)):
        for prefix in (f"{base}.mmproj", f"mmproj-{base}", f"{base}-mmproj"):
            named += [p for p in siblings if p.name.casefold().startswith(prefix) and p not in named]
    others = [p for p in siblings if "mmproj" in p.name.casefold() and p not in named]
    return named, others


def find_projector(model: Path) -> Path | None:
    """The vision projector that goes with ``model``, found beside it; None when there is none, or no one answer.

    The first candidate named after the model whose header confirms it is taken; failing that, exactly one
    of the other "mmproj" files must fit (two that fit, say an f16 and a Q8_0 named otherwise, is no answer).
    A header confirms a projector when it is llama.cpp's clip architecture with a vision encoder, making
    image embeddings as wide as the model's own (when both files say).
    """
    try:
        model_header: GGUFHeader | None = check_model_header(read_header(model))
    except ModelFileProblem as exc:
        if exc.problem is FileProblem.IS_PROJECTOR:
            return None  # a projector picked as the model has no projector of its own to find
        model_header = None  # the model's own check says what is wrong with it; the names still count
    except (GGUFFormatError, ModelFileError, OSError):
        model_header = None
    named, others = projector_candidates(model)
    for path in named:
        if _fits(path, model_header):
            return path
    fitting = [p for p in others if _fits(p, model_header)]
    return fitting[0] if len(fitting) == 1 else None


def _fits(path: Path, model: GGUFHeader | None) -> bool:
    try:
        # The header alone, not the completeness check: a cut-off download is still the right file, and the
        # projector's own check then says it is incomplete where the user can see it.
        header = check_projector_header(read_header(path))
        if model is not None:
            check_belong_together(model, header)
    except (GGUFFormatError, ModelFileError, OSError):
        return False
    return True
