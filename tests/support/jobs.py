"""Job options for tests that run the scheduler directly: Japanese prompt, test budget, short seeded captions."""

from __future__ import annotations

from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import build_prompt
from tests.support.models import TEST_BUDGET


def options(**changes: object) -> JobOptions:
    values: dict[str, object] = {"prompt": build_prompt("ja"), "image_budget": TEST_BUDGET, "model_label": "tiny",
                                 "params": GenerationParams(max_tokens=16, seed=5)}
    values.update(changes)
    return JobOptions(**values)  # type: ignore[arg-type]
