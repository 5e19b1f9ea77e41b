"""What a job is asked to do: the prompt, sampling, image budget and where captions go (plain data, journaled)."""

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

    def sidecar_folder(self) -> Path | None:
        return Path(self.caption_folder) if self.caption_folder else None
