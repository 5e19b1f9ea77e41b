"""What a job is asked to do: the prompt, sampling, image budget, where captions go and whether they are also
written as the images' descriptions (plain data, journaled)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.params import GenerationParams, ImageBudget
from caprl_desktop.core.prompts import PromptSpec


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
    metadata: str = "off"  # also write the caption as the image's description: "embed", "xmp" or "off"
    metadata_existing: str = "keep"  # a human description already there: "keep" or "replace"

    def sidecar_folder(self) -> Path | None:
        return Path(self.caption_folder) if self.caption_folder else None
