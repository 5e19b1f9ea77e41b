"""Finding a model's vision projector beside it: by the names uploaders use, confirmed by the GGUF header."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from caprl_desktop.core.models.projector_search import find_projector, model_base_names
from tests.support.models import ModelFiles
from tests.support.synthetic_gguf import TINY, write_mmproj


@pytest.fixture(scope="module")
def foreign_mmproj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sound projector made for a model of another width (96, where ours is 64)."""
    return write_mmproj(tmp_path_factory.mktemp("foreign") / "foreign.gguf", replace(TINY, v_n_embd=32),
                        projection_dim=96)


def folder_with(tmp_path: Path, files: dict[str, Path]) -> Path:
    """Copy each source GGUF into ``tmp_path`` under its new name."""
    for name, source in files.items():
        shutil.copy(source, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("model", "projector"),
    [
        ("tiny.gguf", "tiny.mmproj.gguf"),  # the one the old guess missed beside other projectors
        ("CapRL-3B.Q4_K_M.gguf", "CapRL-3B.mmproj-f16.gguf"),  # mradermacher and our store
        ("CapRL-3B.i1-IQ3_XS.gguf", "CapRL-3B.mmproj-Q8_0.gguf"),
        ("Qwen2.5-VL-3B-Instruct-Q4_K_M.gguf", "mmproj-Qwen2.5-VL-3B-Instruct-f16.gguf"),  # ggml-org, LM Studio
        ("tiny.gguf", "tiny-mmproj-f16.gguf"),
        ("Tiny.gguf", "TINY.MMPROJ.GGUF"),  # case aside
    ],
)
def test_a_projector_named_after_the_model_is_found_among_others(
    tmp_path: Path, models: ModelFiles, model: str, projector: str
) -> None:
    folder_with(tmp_path, {model: models.model, projector: models.mmproj,
                                   # two other projectors: a name alone cannot decide between them
                                   "other.mmproj-f16.gguf": models.mmproj, "mmproj-other.gguf": models.mmproj})
    assert find_projector(tmp_path / model) == tmp_path / projector


def test_a_lone_projector_in_the_folder_is_found(tmp_path: Path, models: ModelFiles) -> None:
    folder_with(tmp_path, {"weights.gguf": models.model, "mmproj-model-f16.gguf": models.mmproj,
                                   "notes.txt": models.mmproj})
    assert find_projector(tmp_path / "weights.gguf") == tmp_path / "mmproj-model-f16.gguf"


def test_two_projectors_named_otherwise_are_no_answer(tmp_path: Path, models: ModelFiles) -> None:
    folder_with(tmp_path, {"weights.gguf": models.model, "mmproj-a.gguf": models.mmproj,
                                   "mmproj-b.gguf": models.mmproj})
    assert find_projector(tmp_path / "weights.gguf") is None


def test_the_header_decides_not_the_name(tmp_path: Path, models: ModelFiles, foreign_mmproj: Path) -> None:
    # Named like its projector, but a text model; and a projector of another model: neither is taken,
    # and the one file that is this model's projector is, whatever its name.
    folder_with(tmp_path, {"tiny.gguf": models.model, "tiny.mmproj.gguf": models.model,
                                   "tiny-mmproj-f16.gguf": foreign_mmproj, "vision-mmproj.gguf": models.mmproj})
    assert find_projector(tmp_path / "tiny.gguf") == tmp_path / "vision-mmproj.gguf"


def test_a_projector_of_another_model_alone_is_not_taken(tmp_path: Path, models: ModelFiles,
                                                          foreign_mmproj: Path) -> None:
    folder_with(tmp_path, {"tiny.gguf": models.model, "tiny.mmproj.gguf": foreign_mmproj})
    assert find_projector(tmp_path / "tiny.gguf") is None


def test_files_that_are_not_ggufs_are_skipped(tmp_path: Path, models: ModelFiles) -> None:
    folder_with(tmp_path, {"tiny.gguf": models.model})
    (tmp_path / "tiny.mmproj.gguf").write_bytes(b"<!DOCTYPE html><html>404</html>")
    (tmp_path / "tiny.mmproj-f16.gguf").mkdir()
    assert find_projector(tmp_path / "tiny.gguf") is None


def test_a_projector_picked_as_the_model_has_none(tmp_path: Path, models: ModelFiles) -> None:
    folder_with(tmp_path, {"tiny.mmproj.gguf": models.mmproj, "mmproj-f16.gguf": models.mmproj})
    assert find_projector(tmp_path / "tiny.mmproj.gguf") is None


def test_nothing_beside_it(tmp_path: Path, models: ModelFiles) -> None:
    folder_with(tmp_path, {"tiny.gguf": models.model, "other.gguf": models.model})
    assert find_projector(tmp_path / "tiny.gguf") is None
    assert find_projector(tmp_path / "missing" / "tiny.gguf") is None


def test_a_damaged_model_still_finds_its_projector_by_name(tmp_path: Path, models: ModelFiles) -> None:
    (tmp_path / "CapRL-3B.Q4_K_M.gguf").write_bytes(models.model.read_bytes()[:1000])
    folder_with(tmp_path, {"CapRL-3B.mmproj-Q8_0.gguf": models.mmproj})
    assert find_projector(tmp_path / "CapRL-3B.Q4_K_M.gguf") == tmp_path / "CapRL-3B.mmproj-Q8_0.gguf"


@pytest.mark.parametrize(
    ("name", "bases"),
    [
        ("tiny.gguf", ["tiny"]),
        ("CapRL-3B.Q4_K_M.gguf", ["CapRL-3B.Q4_K_M", "CapRL-3B"]),
        ("CapRL-3B.i1-IQ3_XS.gguf", ["CapRL-3B.i1-IQ3_XS", "CapRL-3B"]),
        ("Qwen2.5-VL-3B-Instruct-Q8_0.gguf", ["Qwen2.5-VL-3B-Instruct-Q8_0", "Qwen2.5-VL-3B-Instruct"]),
        ("model_f16.gguf", ["model_f16", "model"]),
        ("F16.gguf", ["F16"]),
    ],
)
def test_base_names(name: str, bases: list[str]) -> None:
    assert model_base_names(Path(name)) == bases
