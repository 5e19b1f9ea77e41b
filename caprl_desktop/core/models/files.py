"""Checks on a text model and its vision projector before llama.cpp opens them.

llama.cpp answers most bad files with a NULL pointer and a log line, and a few with an abort that kills
the process.  These checks turn the common mistakes into sentences a user can act on: a missing file, a
download that is HTML or incomplete, the two files swapped, or a projector from another model.  Each
refusal also carries its kind (``FileProblem``), so the window can say it in the user's language beside
the field that holds the file; the sentences here are the command line's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.models.gguf_header import GGUFFormatError, GGUFHeader, read_header
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE

# Text architectures whose projectors llama.cpp's libmtmd pairs with them; CapRL-3B is qwen2vl.
VISION_TEXT_ARCHITECTURES = frozenset({"qwen2vl", "qwen3vl", "qwen3vlmoe"})
PROJECTOR_ARCHITECTURE = "clip"

FileRole = Literal["model", "vision projector"]


class FileProblem(Enum):
    MISSING = "missing"
    FOLDER = "folder"
    UNREADABLE = "unreadable"
    EMPTY = "empty"
    WEB_PAGE = "web page"  # an error page saved by a failed download
    LFS_POINTER = "lfs pointer"
    SAFETENSORS = "safetensors"
    NOT_GGUF = "not gguf"
    DAMAGED = "damaged"
    INCOMPLETE = "incomplete"
    SWAPPED = "swapped"  # the model is the projector and the projector the model
    IS_PROJECTOR = "is projector"  # given as the text model
    NOT_PROJECTOR = "not projector"  # given as the projector
    CANNOT_SEE = "cannot see"  # a text model without vision (llama, qwen2...)
    NO_VISION_ENCODER = "no vision encoder"
    OTHER_MODEL = "other model"  # a projector made for a model of another width


class ModelFileProblem(ModelFileError):
    """A ``ModelFileError`` that says which file (``role``) and what kind of problem, besides the sentence."""

    def __init__(self, message: str, problem: FileProblem, role: FileRole) -> None:
        super().__init__(message)
        self.problem = problem
        self.role = role


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
    # From the header, so that what fits in GPU memory is known before the weights are loaded; 0 when missing.
    n_layer: int = 0
    n_head: int = 0
    n_head_kv: int = 0
    head_dim: int = 0
    # Pixels a side of the square one image token covers: 28 for Qwen2.5-VL (CapRL-3B), 32 for Qwen3-VL.
    image_token_side: int = QWEN25VL_TOKEN_SIDE


def _describe_start(path: Path) -> tuple[FileProblem, str]:
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        return FileProblem.EMPTY, "it is empty"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml")):
        return FileProblem.WEB_PAGE, "it is a web page, probably an error page saved by a failed download"
    if stripped.startswith(b"{"):
        return FileProblem.NOT_GGUF, "it is JSON text"
    if stripped.startswith(b"version https://git-lfs"):
        return FileProblem.LFS_POINTER, "it is a Git LFS pointer, not the file itself"
    if len(head) >= 9 and head[8:9] == b"{":
        return (FileProblem.SAFETENSORS,
                "it looks like a safetensors file; convert it to GGUF or download a GGUF quant")
    return FileProblem.NOT_GGUF, "it does not start with the GGUF signature"


def read_gguf(path: Path, role: FileRole) -> GGUFHeader:
    """Read a GGUF header, raising ``ModelFileProblem`` that names ``role``."""
    if not path.exists():
        raise ModelFileProblem(f"The {role} file was not found: {path}", FileProblem.MISSING, role)
    if path.is_dir():
        raise ModelFileProblem(f"The {role} path is a folder, not a GGUF file: {path}", FileProblem.FOLDER, role)
    try:
        header = read_header(path)
    except GGUFFormatError as exc:
        if str(exc) != "not a GGUF file":
            raise ModelFileProblem(
                f"The {role} file {path.name} is damaged or incomplete ({exc}). Download it again.",
                FileProblem.DAMAGED, role,
            ) from None
        try:
            problem, start = _describe_start(path)
        except OSError as os_exc:
            raise _unreadable(path, role, os_exc) from None
        raise ModelFileProblem(f"The {role} file {path.name} is not a GGUF file: {start}.", problem, role) from None
    except OSError as exc:
        raise _unreadable(path, role, exc) from None
    if header.file_size < header.expected_size:
        have, need = header.file_size, header.expected_size
        raise ModelFileProblem(
            f"The {role} file {path.name} is incomplete: it has {have:,} of {need:,} bytes "
            f"({100 * have / need:.0f}%). The download was probably interrupted; download it again.",
            FileProblem.INCOMPLETE, role,
        )
    return header


def _unreadable(path: Path, role: FileRole, exc: OSError) -> ModelFileProblem:
    return ModelFileProblem(f"The {role} file {path} cannot be read: {exc.strerror or exc}",
                            FileProblem.UNREADABLE, role)


def is_projector(header: GGUFHeader) -> bool:
    """A vision projector: llama.cpp's clip architecture, with the vision encoder libmtmd needs."""
    return header.architecture == PROJECTOR_ARCHITECTURE and header.metadata.get("clip.has_vision_encoder") is True


def embedding_width(model: GGUFHeader) -> int | None:
    """How wide the text model's embeddings are, which its projector must produce."""
    return model.get_int(f"{model.architecture}.embedding_length")


def input_width(model: GGUFHeader) -> int | None:
    """How wide the image embeddings the text model takes are: Qwen3-VL takes, beside its own width, the
    features of each "deepstack" vision layer (``n_deepstack_layers``) side by side."""
    width = embedding_width(model)
    deepstack = model.get_int(f"{model.architecture}.n_deepstack_layers") or 0
    return width * (1 + deepstack) if width is not None else None


def output_width(mmproj: GGUFHeader) -> int | None:
    """How wide the image embeddings the projector hands over are, deepstack features included."""
    width = projection_width(mmproj)
    flags = mmproj.metadata.get("clip.vision.is_deepstack_layers")
    deepstack = sum(1 for flag in flags if flag is True) if isinstance(flags, list) else 0
    return width * (1 + deepstack) if width is not None else None


def projection_width(mmproj: GGUFHeader) -> int | None:
    """How wide the image embeddings the projector produces are (None when the file does not say)."""
    width = mmproj.get_int("clip.vision.projection_dim")
    if width is None:
        # Older converters left the key out; the last projector matrix gives the same number.
        last = mmproj.tensor("mm.2.weight")
        width = last.shape[1] if last is not None and len(last.shape) == 2 else None
    return width


def check_model_file(path: Path) -> GGUFHeader:
    """The text model alone: a readable GGUF of an architecture that sees images, not a projector."""
    return check_model_header(read_gguf(path, "model"))


def check_model_header(model: GGUFHeader) -> GGUFHeader:
    name = model.path.name
    if model.architecture == PROJECTOR_ARCHITECTURE:
        raise ModelFileProblem(
            f"{name} is a vision projector (mmproj), not a text model. Give the text model "
            f"(for example CapRL-3B.Q4_K_M.gguf) as the model.", FileProblem.IS_PROJECTOR, "model")
    if model.architecture not in VISION_TEXT_ARCHITECTURES:
        raise ModelFileProblem(
            f"{name} is a {model.architecture or 'unknown'} model, which cannot see images. "
            f"CapRL Desktop needs a CapRL model (CapRL-3B, a Qwen2.5-VL model, or CapRL 2.0, a Qwen3-VL model).",
            FileProblem.CANNOT_SEE, "model")
    if embedding_width(model) is None:
        raise ModelFileProblem(f"{name} lacks {model.architecture}.embedding_length; the file is damaged.",
                               FileProblem.DAMAGED, "model")
    return model


def check_projector_file(path: Path) -> GGUFHeader:
    """The vision projector alone: a readable clip GGUF with a vision encoder."""
    return check_projector_header(read_gguf(path, "vision projector"))


def check_projector_header(mmproj: GGUFHeader) -> GGUFHeader:
    name = mmproj.path.name
    if mmproj.architecture != PROJECTOR_ARCHITECTURE:
        raise ModelFileProblem(
            f"{name} is a text model (architecture {mmproj.architecture or 'unknown'}), not a "
            f"vision projector. Give the mmproj file (for example CapRL-3B.mmproj-f16.gguf) as the projector.",
            FileProblem.NOT_PROJECTOR, "vision projector")
    if not is_projector(mmproj):
        raise ModelFileProblem(f"{name} has no vision encoder, so it cannot read images.",
                               FileProblem.NO_VISION_ENCODER, "vision projector")
    return mmproj


def check_belong_together(model: GGUFHeader, mmproj: GGUFHeader) -> None:
    """The projector makes image embeddings as wide as the model's (unless the projector does not say)."""
    n_embd, projection_dim = input_width(model), output_width(mmproj)
    if projection_dim is not None and n_embd is not None and projection_dim != n_embd:
        raise ModelFileProblem(
            f"The vision projector {mmproj.path.name} belongs to another model: it produces "
            f"{projection_dim}-wide image embeddings, but {model.path.name} expects {n_embd}. "
            f"Use the mmproj file published with this model.", FileProblem.OTHER_MODEL, "vision projector")


def check_model_pair(model_path: Path, mmproj_path: Path) -> ModelPairInfo:
    """Validate that ``model_path`` is a vision-capable text model and ``mmproj_path`` its projector."""
    model = read_gguf(model_path, "model")
    mmproj = read_gguf(mmproj_path, "vision projector")
    if model.architecture == PROJECTOR_ARCHITECTURE and mmproj.architecture != PROJECTOR_ARCHITECTURE:
        raise ModelFileProblem(
            f"The model and vision projector are swapped: {model_path.name} is the projector (mmproj) and "
            f"{mmproj_path.name} is the text model. Pass them the other way round.", FileProblem.SWAPPED, "model")
    check_model_header(model)
    check_projector_header(mmproj)
    check_belong_together(model, mmproj)
    n_embd = embedding_width(model)
    assert n_embd is not None  # check_model_header refuses a model without it

    name = model.metadata.get("general.name")
    n_head = model.get_int(f"{model.architecture}.attention.head_count") or 0
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
        n_layer=model.get_int(f"{model.architecture}.block_count") or 0,
        n_head=n_head,
        n_head_kv=model.get_int(f"{model.architecture}.attention.head_count_kv") or 0,
        # Qwen3-VL says it (the 4B: 128, not 2560 / 32); Qwen2.5-VL's is the width over the heads.
        head_dim=model.get_int(f"{model.architecture}.attention.key_length") or (n_embd // n_head if n_head else 0),
        image_token_side=image_token_side(mmproj),
    )


def image_token_side(mmproj: GGUFHeader) -> int:
    """The projector's patch size times its merge (Qwen's mergers join 2×2 patches into one token)."""
    patch = mmproj.get_int("clip.vision.patch_size")
    merge = mmproj.get_int("clip.vision.spatial_merge_size") or 2
    return patch * merge if patch else QWEN25VL_TOKEN_SIDE


@dataclass(frozen=True)
class PickedFiles:
    """A text model and a projector picked one by one (the window's local-files dialog), each with its problem.

    A problem sits with the file that has it, so the window can say it beside that file's field; None with
    a path is a sound file, None without one a field still empty.
    """

    model: Path | None
    projector: Path | None
    model_problem: ModelFileProblem | None
    projector_problem: ModelFileProblem | None

    @property
    def ok(self) -> bool:
        return (self.model is not None and self.projector is not None
                and self.model_problem is None and self.projector_problem is None)


def check_picked(model: Path | None, projector: Path | None) -> PickedFiles:
    """Check each file on its own, then whether the two belong together (a mismatch is the projector's)."""
    model_header = projector_header = None
    model_problem = projector_problem = None
    if model is not None:
        try:
            model_header = check_model_file(model)
        except ModelFileProblem as exc:
            model_problem = exc
    if projector is not None:
        try:
            projector_header = check_projector_file(projector)
        except ModelFileProblem as exc:
            projector_problem = exc
    if (model_problem is not None and model_problem.problem is FileProblem.IS_PROJECTOR
            and projector_problem is not None and projector_problem.problem is FileProblem.NOT_PROJECTOR):
        swapped = ModelFileProblem("The model and vision projector are swapped.", FileProblem.SWAPPED, "model")
        model_problem = projector_problem = swapped
    if model_header is not None and projector_header is not None:
        try:
            check_belong_together(model_header, projector_header)
        except ModelFileProblem as exc:
            projector_problem = exc
    return PickedFiles(model, projector, model_problem, projector_problem)
