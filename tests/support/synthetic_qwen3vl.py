"""Write GGUF files of CapRL 2.0's architecture (Qwen3-VL) filled with random weights.

The counterpart of ``synthetic_gguf`` (CapRL-3B, Qwen2.5-VL) for CapRL-Qwen3VL-2B and -4B: a text model of
architecture ``qwen3vl`` and a vision projector ``qwen3vl_merger``, with the tensor names and keys the
llama.cpp vendored by llama-cpp-python reads (checked against the strings in its ``libllama`` and
``libmtmd``: ``%s.n_deepstack_layers``, ``v.deepstack.%d.{norm,fc1,fc2}``, ``%s.blk.%d.attn_qkv``,
``%s.position_embd.weight``).

What differs from Qwen2.5-VL, and matters to the app:
- the text model has RMS norms on queries and keys, no attention biases, a head size that is not
  ``n_embd / n_head`` (``key_length``), and takes an input ``(1 + deepstack layers)`` times as wide as its
  hidden size: the projector hands it features from three inner vision layers beside the final ones;
- the vision tower has 16-pixel patches (an image token covers 32×32 pixels after the 2×2 merge, not
  28×28), a learned position grid, fused QKV, LayerNorms with biases and a GELU FFN without a gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

# The tokenizer (byte-level BPE with Qwen's specials) and the writing helpers are CapRL-3B's.
from tests.support.synthetic_gguf import (
    CHATML_TEMPLATE,
    Q8_0,
    _add,
    _finish,
    _Weights,
    add_tokenizer,
    file_type,
    vocabulary,
)


@dataclass(frozen=True)
class Qwen3VLShapes:
    """Hyper-parameters of a Qwen3-VL text model and its vision tower."""

    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    context_length: int
    vocab_padding: int
    v_n_embd: int
    v_n_layer: int
    v_n_head: int
    v_n_ff: int
    v_deepstack: tuple[int, ...]  # the vision layers whose features also go to the text model
    v_grid: int  # the learned position grid is v_grid × v_grid patches
    weight_type: str = "f32"
    architecture: str = "qwen3vl"
    patch_size: int = 16
    text_scale: float = 0.02  # of the text model's random matrices

    @property
    def rope_sections(self) -> list[int]:
        # Qwen3-VL: 24, 20, 20 of a 128 head's 64 rotary pairs for time, height and width (interleaved).
        half = self.head_dim // 2
        h = (half * 5) // 16
        return [half - 2 * h, h, h, 0]

    @property
    def n_embd_input(self) -> int:
        return self.n_embd * (1 + len(self.v_deepstack))


TINY_QWEN3VL = Qwen3VLShapes(
    n_embd=64, n_layer=4, n_head=4, n_head_kv=2, head_dim=32, n_ff=128, context_length=4096, vocab_padding=0,
    v_n_embd=64, v_n_layer=3, v_n_head=4, v_n_ff=128, v_deepstack=(0, 1), v_grid=8,
    # At 0.02 the last token's own embedding outweighs everything else and greedy captions repeat one token
    # whatever the image; larger attention weights let the image change the words.
    text_scale=0.2,
)

# Qwen3-VL-2B-Instruct / CapRL-Qwen3VL-2B (config.json): the shapes of the published GGUFs.
CAPRL_QWEN3VL_2B = Qwen3VLShapes(
    n_embd=2048, n_layer=28, n_head=16, n_head_kv=8, head_dim=128, n_ff=6144, context_length=262144,
    vocab_padding=151936, v_n_embd=1024, v_n_layer=24, v_n_head=16, v_n_ff=4096, v_deepstack=(5, 11, 17),
    v_grid=48, weight_type="f16",
)

# Qwen3-VL-4B-Instruct / CapRL-Qwen3VL-4B.
CAPRL_QWEN3VL_4B = Qwen3VLShapes(
    n_embd=2560, n_layer=36, n_head=32, n_head_kv=8, head_dim=128, n_ff=9728, context_length=262144,
    vocab_padding=151936, v_n_embd=1024, v_n_layer=24, v_n_head=16, v_n_ff=4096, v_deepstack=(5, 11, 17),
    v_grid=48, weight_type="f16",
)


def _dtype(shapes: Qwen3VLShapes) -> type[np.floating]:
    return np.float16 if shapes.weight_type == "f16" else np.float32


def write_text_model(path: Path, shapes: Qwen3VLShapes = TINY_QWEN3VL, *, seed: int = 0,
                     chat_template: str | None = CHATML_TEMPLATE, name: str = "CapRL-Qwen3VL synthetic") -> Path:
    """Write the language half (what ``CapRL-Qwen3VL-2B-Q4_K_M.gguf`` holds)."""
    tokens, types = vocabulary(shapes)
    arch = shapes.architecture
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_context_length(shapes.context_length)
    writer.add_embedding_length(shapes.n_embd)  # llama.cpp derives the input width from the deepstack count
    writer.add_block_count(shapes.n_layer)
    writer.add_feed_forward_length(shapes.n_ff)
    writer.add_head_count(shapes.n_head)
    writer.add_head_count_kv(shapes.n_head_kv)
    writer.add_key_length(shapes.head_dim)
    writer.add_value_length(shapes.head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(5_000_000.0)
    writer.add_rope_dimension_sections(shapes.rope_sections)
    writer.add_uint32(f"{arch}.n_deepstack_layers", len(shapes.v_deepstack))
    writer.add_file_type(file_type(shapes.weight_type))

    add_tokenizer(writer, tokens, types, chat_template)

    w = _Weights(seed, _dtype(shapes), scale=shapes.text_scale)
    d, hd = shapes.n_embd, shapes.head_dim
    q, kv = hd * shapes.n_head, hd * shapes.n_head_kv
    writer.add_tensor("token_embd.weight", w.matrix(len(tokens), d))  # tied: no output.weight, as published
    writer.add_tensor("output_norm.weight", w.ones(d))
    for i in range(shapes.n_layer):
        p = f"blk.{i}"
        writer.add_tensor(f"{p}.attn_norm.weight", w.ones(d))
        writer.add_tensor(f"{p}.attn_q.weight", w.matrix(q, d))
        writer.add_tensor(f"{p}.attn_k.weight", w.matrix(kv, d))
        writer.add_tensor(f"{p}.attn_v.weight", w.matrix(kv, d))
        writer.add_tensor(f"{p}.attn_q_norm.weight", w.ones(hd))
        writer.add_tensor(f"{p}.attn_k_norm.weight", w.ones(hd))
        writer.add_tensor(f"{p}.attn_output.weight", w.matrix(d, q))
        writer.add_tensor(f"{p}.ffn_norm.weight", w.ones(d))
        writer.add_tensor(f"{p}.ffn_gate.weight", w.matrix(shapes.n_ff, d))
        writer.add_tensor(f"{p}.ffn_up.weight", w.matrix(shapes.n_ff, d))
        writer.add_tensor(f"{p}.ffn_down.weight", w.matrix(d, shapes.n_ff))
    _finish(writer)
    return path


def write_mmproj(path: Path, shapes: Qwen3VLShapes = TINY_QWEN3VL, *, seed: int = 1, q8_0: bool = False) -> Path:
    """Write the vision projector (what ``mmproj-CapRL-Qwen3VL-2B-F16.gguf`` holds)."""
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_name("CapRL-Qwen3VL synthetic mmproj")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_string("clip.projector_type", "qwen3vl_merger")
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.image_size", shapes.v_grid * shapes.patch_size)
    writer.add_uint32("clip.vision.patch_size", shapes.patch_size)
    writer.add_uint32("clip.vision.spatial_merge_size", 2)
    writer.add_uint32("clip.vision.embedding_length", shapes.v_n_embd)
    writer.add_uint32("clip.vision.feed_forward_length", shapes.v_n_ff)
    writer.add_uint32("clip.vision.block_count", shapes.v_n_layer)
    writer.add_uint32("clip.vision.attention.head_count", shapes.v_n_head)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_uint32("clip.vision.projection_dim", shapes.n_embd)
    writer.add_array("clip.vision.is_deepstack_layers", [i in shapes.v_deepstack for i in range(shapes.v_n_layer)])
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_file_type(file_type(shapes.weight_type, q8_0=q8_0))

    w = _Weights(seed, _dtype(shapes), q8_0=q8_0)
    d, ff, merged, out = shapes.v_n_embd, shapes.v_n_ff, shapes.v_n_embd * 4, shapes.n_embd
    ps = shapes.patch_size
    writer.add_tensor("v.patch_embd.weight", w.matrix(d, 3, ps, ps).astype(np.float16))
    writer.add_tensor("v.patch_embd.weight.1", w.matrix(d, 3, ps, ps).astype(np.float16))
    writer.add_tensor("v.patch_embd.bias", w.vector(d))
    # Always f32, as converters write it: llama.cpp resizes the grid to each image (a Q8_0 matrix here would
    # come back as blocks of bytes).
    writer.add_tensor("v.position_embd.weight", w.vector(shapes.v_grid * shapes.v_grid * d).reshape(-1, d))
    for i in range(shapes.v_n_layer):
        p = f"v.blk.{i}"
        _linear(writer, w, f"{p}.attn_qkv", 3 * d, d)
        _linear(writer, w, f"{p}.attn_out", d, d)
        _norm(writer, w, f"{p}.ln1", d)
        _norm(writer, w, f"{p}.ln2", d)
        _linear(writer, w, f"{p}.ffn_up", ff, d)
        _linear(writer, w, f"{p}.ffn_down", d, ff)
    _norm(writer, w, "v.post_ln", d)
    _linear(writer, w, "mm.0", merged, merged)
    _linear(writer, w, "mm.2", out, merged)
    for layer in shapes.v_deepstack:
        p = f"v.deepstack.{layer}"
        _norm(writer, w, f"{p}.norm", merged)
        _linear(writer, w, f"{p}.fc1", merged, merged)
        _linear(writer, w, f"{p}.fc2", out, merged)
    _finish(writer)
    return path


def _linear(writer: gguf.GGUFWriter, w: _Weights, name: str, rows: int, cols: int) -> None:
    """A weight matrix (quantized when the writer is) and its bias."""
    _add(writer, f"{name}.weight", w.matrix(rows, cols))
    writer.add_tensor(f"{name}.bias", w.vector(rows))


def _norm(writer: gguf.GGUFWriter, w: _Weights, name: str, width: int) -> None:
    """A LayerNorm: weight (ones) and bias."""
    writer.add_tensor(f"{name}.weight", w.ones(width))
    writer.add_tensor(f"{name}.bias", w.vector(width))


def write_pair(folder: Path, shapes: Qwen3VLShapes = TINY_QWEN3VL, *, stem: str = "CapRL-Qwen3VL-2B"
               ) -> tuple[Path, Path]:
    """A matching text model and projector under the names internlm publishes them with."""
    folder.mkdir(parents=True, exist_ok=True)
    model = write_text_model(folder / f"{stem}-{shapes.weight_type.upper()}.gguf", shapes)
    mmproj = write_mmproj(folder / f"mmproj-{stem}-{shapes.weight_type.upper()}.gguf", shapes)
    return model, mmproj


__all__ = ["CAPRL_QWEN3VL_2B", "CAPRL_QWEN3VL_4B", "Q8_0", "TINY_QWEN3VL", "Qwen3VLShapes", "write_mmproj",
           "write_pair", "write_text_model"]
