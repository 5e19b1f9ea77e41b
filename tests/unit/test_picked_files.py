"""Files picked one by one (the window's local-files dialog): each problem sits with the file that has it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from caprl_desktop.core.models.files import FileProblem, check_picked
from tests.support.models import ModelFiles
from tests.support.synthetic_gguf import TINY, write_mmproj


def test_a_sound_pair(models: ModelFiles) -> None:
    picked = check_picked(models.model, models.mmproj)
    assert picked.ok and picked.model_problem is None and picked.projector_problem is None


def test_an_empty_field_is_not_a_problem_but_not_ok(models: ModelFiles) -> None:
    picked = check_picked(models.model, None)
    assert picked.model_problem is None and picked.projector_problem is None and not picked.ok


def test_swapped_files_are_said_on_both_fields(models: ModelFiles) -> None:
    picked = check_picked(models.mmproj, models.model)
    assert picked.model_problem is not None and picked.model_problem.problem is FileProblem.SWAPPED
    assert picked.projector_problem is not None and picked.projector_problem.problem is FileProblem.SWAPPED


def test_a_projector_of_another_model_is_the_projectors_problem(models: ModelFiles, tmp_path: Path) -> None:
    foreign = write_mmproj(tmp_path / "foreign.gguf", replace(TINY, v_n_embd=32), projection_dim=96)
    picked = check_picked(models.model, foreign)
    assert picked.model_problem is None
    assert picked.projector_problem is not None and picked.projector_problem.problem is FileProblem.OTHER_MODEL
    assert "96-wide" in str(picked.projector_problem)  # the command line's sentence keeps the numbers


def test_each_file_is_checked_on_its_own(models: ModelFiles, tmp_path: Path) -> None:
    page = tmp_path / "page.gguf"
    page.write_text("<!DOCTYPE html><html>404</html>")
    picked = check_picked(tmp_path / "gone.gguf", page)
    assert picked.model_problem is not None and picked.model_problem.problem is FileProblem.MISSING
    assert picked.model_problem.role == "model"
    assert picked.projector_problem is not None and picked.projector_problem.problem is FileProblem.WEB_PAGE
    assert picked.projector_problem.role == "vision projector"
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(models.mmproj.read_bytes()[: models.mmproj.stat().st_size // 2])
    picked = check_picked(models.model, cut)
    assert picked.projector_problem is not None and picked.projector_problem.problem is FileProblem.INCOMPLETE
