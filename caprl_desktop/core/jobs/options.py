"""What a job is asked to do: the prompt, sampling, image budget, where captions go, whether they are also
written as the images' descriptions, and whether the guards watch them (plain data, journaled)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from caprl_desktop.core.params import GenerationParams, ImageBudget
from caprl_desktop.core.prompts import PromptSpec

MetadataMode = Literal["off", "embed", "xmp"]  # also as the image's description: inside it, in an XMP sidecar, not
ExistingChoice = Literal["keep", "replace"]  # what happens to a description someone else wrote
METADATA_MODES: tuple[MetadataMode, ...] = ("off", "embed", "xmp")
EXISTING_CHOICES: tuple[ExistingChoice, ...] = ("keep", "replace")


def check_metadata_choices(metadata: str, existing: str) -> None:
    """``ValueError`` naming the choices, for words that are none of them (typed, or stored by another version)."""
    if metadata not in METADATA_MODES:
        raise ValueError(f"unknown metadata choice {metadata!r}: use one of {', '.join(METADATA_MODES)}")
    if existing not in EXISTING_CHOICES:
        raise ValueError(f"unknown choice for existing descriptions {existing!r}: use one of "
                         f"{', '.join(EXISTING_CHOICES)}")


@dataclass(frozen=True)
class JobOptions:
    prompt: PromptSpec
    params: GenerationParams
    image_budget: ImageBudget
    model_label: str
    write_sidecars: bool = True
    overwrite: bool = False
    max_consecutive_crashes: int = 3  # images in a row on which the engine crashed twice: give up on the rest
    attempts_after_crash: int = 2  # an image the engine crashed on is tried once more, then marked failed
    caption_folder: str = ""  # sidecars go under this folder instead of beside the images; "" for beside
    metadata: MetadataMode = "off"
    metadata_existing: ExistingChoice = "keep"
    guards: bool = True  # loops and the wrong language stop a caption and try it again (``core/quality/watch.py``)
    strip_openings: bool = False  # "This image shows …" and the like are dropped from the captions

    def __post_init__(self) -> None:
        # Options come back from the journal, where another version of the app may have written other words.
        check_metadata_choices(self.metadata, self.metadata_existing)

    def sidecar_folder(self) -> Path | None:
        return Path(self.caption_folder) if self.caption_folder else None
