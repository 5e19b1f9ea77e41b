"""The user's captioning choices in one Qt-free dataclass, and the one conversion to job and engine options.

The window keeps these choices (``ui/settings.py`` stores them) and the command line fills them from its
arguments (``cli/arguments.py``); both then call ``job_options()`` and ``engine_config()``, so the same
choices made in either face give the same run. Choices that only the window has (its layout, the interface
language, idle unloading) are not here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from caprl_desktop.core.jobs.options import ExistingChoice, JobOptions, MetadataMode, check_metadata_choices
from caprl_desktop.core.params import (
    DEFAULT_IMAGE_BUDGET,
    IMAGE_BUDGET_PRESETS,
    EngineConfig,
    GenerationParams,
    ImageBudget,
)
from caprl_desktop.core.prompts import PRESETS, Language, PresetName, PromptSpec, build_prompt, default_language

_SAMPLING = GenerationParams()


@dataclass(frozen=True)
class CaptionSettings:
    """What to ask for and how; invalid values raise ``ValueError`` with a sentence for the user."""

    language: Language = field(default_factory=default_language)
    preset: PresetName | None = "detailed"  # None: the custom prompt
    custom_prompt: str = ""
    system_prompt: str | None = None  # None: the language's own
    detail: str = DEFAULT_IMAGE_BUDGET  # a key of IMAGE_BUDGET_PRESETS
    image_max_tokens: int | None = None  # overrides ``detail``
    image_min_tokens: int | None = None
    max_tokens: int = _SAMPLING.max_tokens
    temperature: float = _SAMPLING.temperature
    top_p: float = _SAMPLING.top_p
    repeat_penalty: float = _SAMPLING.repeat_penalty
    seed: int | None = None
    gpu_layers: int | None = None  # None: all layers where the build can offload
    threads: int | None = None
    parallel: int | None = None  # captions side by side; None: sized from the backend and free memory
    overwrite: bool = False  # caption images that already have a caption
    write_sidecars: bool = True
    caption_folder: str = ""  # captions under this folder instead of beside the images; "" for beside
    metadata: MetadataMode = "off"  # "embed": inside the image, else in an XMP sidecar; "xmp"; "off"
    metadata_existing: ExistingChoice = "keep"
    guards: bool = True  # stop a caption that loops or comes in the other language, and try it once more
    strip_openings: bool = False  # drop "This image shows …" and the like

    def __post_init__(self) -> None:
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown prompt preset {self.preset!r}: use one of {', '.join(PRESETS)}")
        if self.detail not in IMAGE_BUDGET_PRESETS:
            raise ValueError(f"unknown detail {self.detail!r}: use one of {', '.join(IMAGE_BUDGET_PRESETS)}")
        if self.parallel is not None and self.parallel < 1:
            raise ValueError("captions at a time must be at least 1")
        check_metadata_choices(self.metadata, self.metadata_existing)
        self.image_budget()
        self.generation()

    def replace(self, **changes: object) -> CaptionSettings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def prompt(self) -> PromptSpec:
        custom = self.custom_prompt if self.preset is None else None
        return build_prompt(self.language, self.preset or "detailed", custom_prompt=custom,
                            system_prompt=self.system_prompt)

    def image_budget(self) -> ImageBudget:
        return ImageBudget(max_tokens=self.image_max_tokens or IMAGE_BUDGET_PRESETS[self.detail],
                           min_tokens=self.image_min_tokens)

    def generation(self) -> GenerationParams:
        return GenerationParams(max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
                                repeat_penalty=self.repeat_penalty, seed=self.seed)

    def job_options(self, model_label: str, *, overwrite: bool = False) -> JobOptions:
        """A new run's options; ``overwrite`` re-captions for this run even when the setting says skip."""
        return JobOptions(
            prompt=self.prompt(),
            params=self.generation(),
            image_budget=self.image_budget(),
            model_label=model_label,
            write_sidecars=self.write_sidecars,
            overwrite=overwrite or self.overwrite,
            caption_folder=str(Path(self.caption_folder).absolute()) if self.caption_folder else "",
            metadata=self.metadata,
            metadata_existing=self.metadata_existing,
            guards=self.guards,
            strip_openings=self.strip_openings,
        )

    def engine_config(self, model_path: Path, mmproj_path: Path, run: JobOptions | None = None, *,
                      images: int | None = None) -> EngineConfig:
        """How to load the engine for ``run`` (a resumed run keeps its own image budget and caption length).

        ``images``: how many the run captions; one image needs one sequence, and the KV cache of the others
        would be memory for nothing."""
        budget = run.image_budget if run is not None else self.image_budget()
        max_tokens = run.params.max_tokens if run is not None else self.max_tokens
        parallel = self.parallel or (1 if images == 1 else None)
        return EngineConfig(model_path=str(model_path), mmproj_path=str(mmproj_path), image_budget=budget,
                            max_output_tokens=max_tokens, gpu_layers=self.gpu_layers, threads=self.threads,
                            parallel=parallel)
