"""Bad model files get a sentence the user can act on, before llama.cpp ever opens them."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest

from caprl_desktop.core.errors import ModelFileError
from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.models.gguf_header import read_header
from tests.support.models import ModelFiles
from tests.support.synthetic_gguf import TINY, vocabulary, write_mmproj
from tests.support.synthetic_qwen3vl import TINY_QWEN3VL
from tests.support.synthetic_qwen3vl import write_mmproj as write_qwen3vl_mmproj
from tests.support.synthetic_qwen3vl import write_pair as write_qwen3vl_pair


def test_good_pair_is_described(models: ModelFiles) -> None:
    info = check_model_pair(models.model, models.mmproj)
    assert info.architecture == "qwen2vl"
    assert info.projector_type == "qwen2.5vl_merger"
    assert info.n_embd == TINY.n_embd
    assert info.has_chat_template
    # Read before loading, so that the engine can fit the model to a GPU's free memory first.
    assert (info.n_layer, info.n_head, info.n_head_kv) == (TINY.n_layer, TINY.n_head, TINY.n_head_kv)


def test_header_matches_the_gguf_package(models: ModelFiles) -> None:
    ours = read_header(models.model)
    theirs = gguf.GGUFReader(models.model)
    assert ours.data_offset == theirs.data_offset
    assert {t.name: t.n_bytes for t in ours.tensors} == {t.name: int(t.n_bytes) for t in theirs.tensors}
    assert ours.array_lengths["tokenizer.ggml.tokens"] == len(vocabulary(TINY)[0])
    assert ours.expected_size == models.model.stat().st_size


def test_missing_file(models: ModelFiles, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="model file was not found"):
        check_model_pair(tmp_path / "nope.gguf", models.mmproj)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!DOCTYPE html><html>Error 404</html>", "web page"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
        (b"", "empty"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\": {}}", "safetensors"),
    ],
)
def test_not_a_gguf(models: ModelFiles, tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "CapRL-3B.Q4_K_M.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelFileError, match=f"not a GGUF file: .*{message}"):
        check_model_pair(bad, models.mmproj)


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.01])
def test_truncated_download(models: ModelFiles, tmp_path: Path, fraction: float) -> None:
    data = models.model.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match=r"incomplete|damaged"):
        check_model_pair(cut, models.mmproj)


def test_swapped_files(models: ModelFiles) -> None:
    with pytest.raises(ModelFileError, match="swapped"):
        check_model_pair(models.mmproj, models.model)


def test_text_model_given_as_projector(models: ModelFiles, tmp_path: Path) -> None:
    other = tmp_path / "other.gguf"
    shutil.copy(models.model, other)
    with pytest.raises(ModelFileError, match="is a text model"):
        check_model_pair(models.model, other)


def test_projector_given_as_model(models: ModelFiles, tmp_path: Path) -> None:
    other = tmp_path / "mmproj2.gguf"
    shutil.copy(models.mmproj, other)
    with pytest.raises(ModelFileError, match="is a vision projector"):
        check_model_pair(other, models.mmproj)


def test_projector_of_another_model(models: ModelFiles, tmp_path: Path) -> None:
    foreign = write_mmproj(tmp_path / "foreign-mmproj.gguf", replace(TINY, v_n_embd=32), projection_dim=96)
    with pytest.raises(ModelFileError, match=r"belongs to another model: it produces 96-wide .* expects 64"):
        check_model_pair(models.model, foreign)


def test_a_qwen3_vl_projector_with_other_deepstack_layers_is_refused(tmp_path: Path) -> None:
    """llama.cpp aborts on it (the image embeddings are not as wide as the text model's input)."""
    model, mmproj = write_qwen3vl_pair(tmp_path, TINY_QWEN3VL)
    info = check_model_pair(model, mmproj)
    assert (info.architecture, info.projector_type, info.head_dim) == ("qwen3vl", "qwen3vl_merger", 32)
    other = write_qwen3vl_mmproj(tmp_path / "other.gguf", replace(TINY_QWEN3VL, v_deepstack=(0,)))
    with pytest.raises(ModelFileError, match=r"produces 128-wide image embeddings, but .* expects 192"):
        check_model_pair(model, other)


def test_text_only_architecture(models: ModelFiles, tmp_path: Path) -> None:
    path = tmp_path / "llama.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_embedding_length(64)
    writer.add_tensor("token_embd.weight", np.zeros((8, 64), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelFileError, match="llama model, which cannot see images"):
        check_model_pair(path, models.mmproj)
