"""Checks on a text model and its vision projector before llama.cpp opens them.

llama.cpp answers most bad files with a NULL pointer and a log line, and a few with an abort that kills
the process.  These checks turn the common mistakes into sentences a user can act on: a missing file, a
download that is HTML or incomplete, the two files swapped, or a projector from another model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.models.gguf_header import GGUFFormatError, GGUFHeader, read_header

# Text architectures whose projectors llama.cpp's libmtmd pairs with them; CapRL-3B is qwen2vl.
VISION_TEXT_ARCHITECTURES = frozenset({"qwen2vl", "qwen3vl", "qwen3vlmoe"})
PROJECTOR_ARCHITECTURE = "clip"


@dataclass(frozen=True)
class ModelPairInfo:
    """What the app tells the user about the model it loads."""

    model_path: Path
    mmproj_path: Path
    architecture: str
    name: str
    n_embd: int
    projector_type: str
    model_bytes: int
    mmproj_bytes: int
    has_chat_template: bool


def _describe_start(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        return "it is empty"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml")):
        return "it is a web page, probably an error page saved by a failed download"
    if stripped.startswith(b"{"):
        return "it is JSON text"
    if stripped.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the file itself"
    if len(head) >= 9 and head[8:9] == b"{":
        return "it looks like a safetensors file; convert it to GGUF or download a GGUF quant"
    return "it does not start with the GGUF signature"


def read_gguf(path: Path, role: str) -> GGUFHeader:
    """Read a GGUF header, raising ``ModelFileError`` that names ``role`` ("model" or "vision projector")."""
    if not path.exists():
        raise ModelFileError(f"The {role} file was not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"The {role} path is a folder, not a GGUF file: {path}")
    try:
        header = read_header(path)
    except GGUFFormatError as exc:
        if str(exc) == "not a GGUF file":
            raise ModelFileError(f"The {role} file {path.name} is not a GGUF file: {_describe_start(path)}.") from None
        raise ModelFileError(
            f"The {role} file {path.name} is damaged or incomplete ({exc}). Download it again."
        ) from None
    except OSError as exc:
        raise ModelFileError(f"The {role} file {path} cannot be read: {exc.strerror or exc}") from None
    if header.file_size < header.expected_size:
        have, need = header.file_size, header.expected_size
        raise ModelFileError(
            f"The {role} file {path.name} is incomplete: it has {have:,} of {need:,} bytes "
            f"({100 * have / need:.0f}%). The download was probably interrupted; download it again."
        )
    return header


def check_model_pair(model_path: Path, mmproj_path: Path) -> ModelPairInfo:
    """Validate that ``model_path`` is a vision-capable text model and ``mmproj_path`` its projector."""
    model = read_gguf(model_path, "model")
    mmproj = read_gguf(mmproj_path, "vision projector")

    model_is_projector = model.architecture == PROJECTOR_ARCHITECTURE
    mmproj_is_projector = mmproj.architecture == PROJECTOR_ARCHITECTURE
    if model_is_projector and not mmproj_is_projector:
        raise ModelFileError(
            f"The model and vision projector are swapped: {model_path.name} is the projector (mmproj) and "
            f"{mmproj_path.name} is the text model. Pass them the other way round."
        )
    if model_is_projector:
        raise ModelFileError(
            f"{model_path.name} is a vision projector (mmproj), not a text model. Give the text model "
            f"(for example CapRL-3B.Q4_K_M.gguf) as the model."
        )
    if not mmproj_is_projector:
        raise ModelFileError(
            f"{mmproj_path.name} is a text model (architecture {mmproj.architecture or 'unknown'}), not a "
            f"vision projector. Give the mmproj file (for example CapRL-3B.mmproj-f16.gguf) as the projector."
        )
    if model.architecture not in VISION_TEXT_ARCHITECTURES:
        raise ModelFileError(
            f"{model_path.name} is a {model.architecture or 'unknown'} model, which cannot see images. "
            f"CapRL Desktop needs CapRL-3B (a Qwen2.5-VL model)."
        )
    if mmproj.metadata.get("clip.has_vision_encoder") is not True:
        raise ModelFileError(f"{mmproj_path.name} has no vision encoder, so it cannot read images.")

    n_embd = model.get_int(f"{model.architecture}.embedding_length")
    if n_embd is None:
        raise ModelFileError(f"{model_path.name} lacks {model.architecture}.embedding_length; the file is damaged.")
    projection_dim = mmproj.get_int("clip.vision.projection_dim")
    if projection_dim is None:
        # Older converters left the key out; the last projector matrix gives the same number.
        last = mmproj.tensor("mm.2.weight")
        projection_dim = last.shape[1] if last is not None and len(last.shape) == 2 else None
    if projection_dim is not None and projection_dim != n_embd:
        raise ModelFileError(
            f"The vision projector {mmproj_path.name} belongs to another model: it produces "
            f"{projection_dim}-wide image embeddings, but {model_path.name} expects {n_embd}. "
            f"Use the mmproj file published with this model."
        )

    name = model.metadata.get("general.name")
    projector = mmproj.metadata.get("clip.projector_type") or mmproj.metadata.get("clip.vision.projector_type")
    return ModelPairInfo(
        model_path=model_path,
        mmproj_path=mmproj_path,
        architecture=model.architecture,
        name=name if isinstance(name, str) else model_path.stem,
        n_embd=n_embd,
        projector_type=projector if isinstance(projector, str) else "",
        model_bytes=model.file_size,
        mmproj_bytes=mmproj.file_size,
        has_chat_template=isinstance(model.metadata.get("tokenizer.chat_template"), str),
    )
