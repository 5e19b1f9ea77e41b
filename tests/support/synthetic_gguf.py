"""Write GGUF files of CapRL-3B's architecture (Qwen2.5-VL) filled with random weights.

Real weights cannot be fetched by the test suite or on CI, yet the engine must be exercised through the
real llama.cpp.  Speed and correctness of the plumbing depend on tensor shapes and metadata, not on
weight values, so this module writes a text model (architecture ``qwen2vl``) and its vision projector
(architecture ``clip``, projector ``qwen2.5vl_merger``) with the exact tensor layout llama.cpp loads.
``TINY`` gives files of a few hundred kB for tests; ``CAPRL_3B`` gives the published model's shapes for
benchmarks.

The tokenizer is a byte-level BPE over the 256 byte symbols plus a handful of merges and Qwen's special
tokens, so any text (Japanese included) tokenizes, and the ChatML template matches the real model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import gguf
import numpy as np

# The special tokens mtmd and the chat template rely on, in Qwen's order.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
)

# ChatML as Qwen2.5-VL and Qwen3-VL ship it, with string contents (how the app renders a prompt, the image
# as mtmd's media marker inside the text) and lists of text parts joined as they are (how llama-cpp-python's
# MTMDChatHandler hands over a message, its image part already turned into the marker): the real templates
# render both the same way, which is what lets a test compare the two paths.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

Q8_0 = gguf.GGMLQuantizationType.Q8_0

_MERGES = ("Ġ t", "Ġ a", "t h", "th e", "i n", "e r")


@dataclass(frozen=True)
class SyntheticShapes:
    """Hyper-parameters of a Qwen2.5-VL text model and its vision tower."""

    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    context_length: int
    # Extra vocabulary entries beyond the byte symbols, merges and specials (pads to a real vocab size).
    vocab_padding: int
    v_n_embd: int
    v_n_layer: int
    v_n_head: int
    v_n_ff: int
    v_wa_pattern: int
    weight_type: str = "f32"  # "f32" or "f16" for the matrices; norms and biases stay f32

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def rope_sections(self) -> list[int]:
        # Qwen2.5-VL splits half the head dimension 2:3:3 over time, height and width (16, 24, 24 of 64).
        half = self.head_dim // 2
        t = half // 4
        h = (half - t) // 2
        return [t, h, half - t - h, 0]


TINY = SyntheticShapes(
    n_embd=64,
    n_layer=2,
    n_head=4,
    n_head_kv=2,
    n_ff=128,
    context_length=4096,
    vocab_padding=0,
    v_n_embd=64,
    v_n_layer=2,
    v_n_head=4,
    v_n_ff=128,
    v_wa_pattern=2,
)

# internlm/CapRL-3B = Qwen2.5-VL-3B: the shapes of the published GGUFs.
CAPRL_3B = SyntheticShapes(
    n_embd=2048,
    n_layer=36,
    n_head=16,
    n_head_kv=2,
    n_ff=11008,
    context_length=128000,
    vocab_padding=151936,
    v_n_embd=1280,
    v_n_layer=32,
    v_n_head=16,
    v_n_ff=3420,
    v_wa_pattern=8,
    weight_type="f16",
)


def _byte_symbols() -> list[str]:
    """GPT-2's reversible mapping of the 256 byte values onto printable characters."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    table = dict(zip(printable, codes, strict=True))
    return [chr(table[b]) for b in range(256)]


class _Vocabulary(Protocol):
    @property
    def vocab_padding(self) -> int: ...


def vocabulary(shapes: _Vocabulary) -> tuple[list[str], list[int]]:
    """The token strings and types: byte symbols, merge results, padding, then the special tokens."""
    tokens = _byte_symbols()
    tokens += ["".join(m.split(" ")) for m in _MERGES]
    n_regular = max(len(tokens), shapes.vocab_padding - len(SPECIAL_TOKENS))
    tokens += [f"[PAD{i}]" for i in range(n_regular - len(tokens))]
    types = [int(gguf.TokenType.NORMAL)] * len(tokens)
    tokens += list(SPECIAL_TOKENS)
    types += [int(gguf.TokenType.CONTROL)] * len(SPECIAL_TOKENS)
    return tokens, types


class _Weights:
    """Seeded random tensors, scaled small so activations stay finite through every layer."""

    def __init__(self, seed: int, matrix_dtype: type[np.floating], *, q8_0: bool = False, scale: float = 0.02) -> None:
        self._rng = np.random.default_rng(seed)
        self._matrix_dtype = matrix_dtype
        self._q8_0 = q8_0
        self._scale = scale

    def matrix(self, *shape: int) -> np.ndarray:
        values = self._rng.standard_normal(shape, dtype=np.float32) * self._scale
        if self._q8_0 and len(shape) == 2 and shape[-1] % gguf.GGML_QUANT_SIZES[Q8_0][0] == 0:
            blocks: np.ndarray = gguf.quants.quantize(values, Q8_0)
            return blocks
        return values.astype(self._matrix_dtype)

    def vector(self, n: int) -> np.ndarray:
        return self._rng.standard_normal(n, dtype=np.float32) * 0.02

    @staticmethod
    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)


def add_tokenizer(writer: gguf.GGUFWriter, tokens: list[str], types: list[int], chat_template: str | None) -> None:
    """The byte-level BPE over Qwen's specials that both families' synthetic text models carry."""
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(_MERGES))
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_pad_token_id(tokens.index("<|endoftext|>"))
    writer.add_add_bos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)


def file_type(weight_type: str, *, q8_0: bool = False) -> gguf.LlamaFileType:
    if q8_0:
        return gguf.LlamaFileType.MOSTLY_Q8_0
    return gguf.LlamaFileType.MOSTLY_F16 if weight_type == "f16" else gguf.LlamaFileType.ALL_F32


def _dtype(shapes: SyntheticShapes) -> type[np.floating]:
    return np.float16 if shapes.weight_type == "f16" else np.float32


def write_text_model(
    path: Path,
    shapes: SyntheticShapes = TINY,
    *,
    seed: int = 0,
    chat_template: str | None = CHATML_TEMPLATE,
    name: str = "CapRL-3B synthetic",
) -> Path:
    """Write the language half of the model (what ``CapRL-3B.<QUANT>.gguf`` holds)."""
    tokens, types = vocabulary(shapes)
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.QWEN2VL])
    writer.add_name(name)
    writer.add_context_length(shapes.context_length)
    writer.add_embedding_length(shapes.n_embd)
    writer.add_block_count(shapes.n_layer)
    writer.add_feed_forward_length(shapes.n_ff)
    writer.add_head_count(shapes.n_head)
    writer.add_head_count_kv(shapes.n_head_kv)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_rope_dimension_sections(shapes.rope_sections)
    writer.add_file_type(file_type(shapes.weight_type))

    add_tokenizer(writer, tokens, types, chat_template)

    w = _Weights(seed, _dtype(shapes))
    d, kv = shapes.n_embd, shapes.head_dim * shapes.n_head_kv
    writer.add_tensor("token_embd.weight", w.matrix(len(tokens), d))
    writer.add_tensor("output_norm.weight", w.ones(d))
    for i in range(shapes.n_layer):
        p = f"blk.{i}"
        writer.add_tensor(f"{p}.attn_norm.weight", w.ones(d))
        writer.add_tensor(f"{p}.attn_q.weight", w.matrix(d, d))
        writer.add_tensor(f"{p}.attn_q.bias", w.vector(d))
        writer.add_tensor(f"{p}.attn_k.weight", w.matrix(kv, d))
        writer.add_tensor(f"{p}.attn_k.bias", w.vector(kv))
        writer.add_tensor(f"{p}.attn_v.weight", w.matrix(kv, d))
        writer.add_tensor(f"{p}.attn_v.bias", w.vector(kv))
        writer.add_tensor(f"{p}.attn_output.weight", w.matrix(d, d))
        writer.add_tensor(f"{p}.ffn_norm.weight", w.ones(d))
        writer.add_tensor(f"{p}.ffn_gate.weight", w.matrix(shapes.n_ff, d))
        writer.add_tensor(f"{p}.ffn_up.weight", w.matrix(shapes.n_ff, d))
        writer.add_tensor(f"{p}.ffn_down.weight", w.matrix(d, shapes.n_ff))
    _finish(writer)
    return path


def write_mmproj(
    path: Path,
    shapes: SyntheticShapes = TINY,
    *,
    seed: int = 1,
    projection_dim: int | None = None,
    wa_pattern: int | None = None,
    q8_0: bool = False,
) -> Path:
    """Write the vision projector (what ``CapRL-3B.mmproj-f16.gguf`` holds).

    ``q8_0`` stores the weight matrices as Q8_0, as ``CapRL-3B.mmproj-Q8_0.gguf`` does (a matrix whose rows
    are not a whole number of 32-value blocks, the FFN down projection of width 3420, stays f16 there too).

    ``projection_dim`` different from the text model's width makes a mismatched pair, and
    ``wa_pattern=1`` puts every block on full attention, which makes llama.cpp abort: both exist to test
    how the app handles bad files.
    """
    out_dim = shapes.n_embd if projection_dim is None else projection_dim
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_name("CapRL-3B synthetic mmproj")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_string("clip.projector_type", "qwen2.5vl_merger")
    writer.add_bool("clip.use_silu", True)
    writer.add_uint32("clip.vision.image_size", 560)
    writer.add_uint32("clip.vision.patch_size", 14)
    writer.add_uint32("clip.vision.spatial_merge_size", 2)
    writer.add_uint32("clip.vision.embedding_length", shapes.v_n_embd)
    writer.add_uint32("clip.vision.feed_forward_length", shapes.v_n_ff)
    writer.add_uint32("clip.vision.block_count", shapes.v_n_layer)
    writer.add_uint32("clip.vision.attention.head_count", shapes.v_n_head)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_uint32("clip.vision.projection_dim", out_dim)
    writer.add_uint32("clip.vision.n_wa_pattern", shapes.v_wa_pattern if wa_pattern is None else wa_pattern)
    writer.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    writer.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    writer.add_file_type(file_type(shapes.weight_type, q8_0=q8_0))

    w = _Weights(seed, _dtype(shapes), q8_0=q8_0)
    d, ff, merged = shapes.v_n_embd, shapes.v_n_ff, shapes.v_n_embd * 4
    # The two temporal halves of Qwen's 3D patch convolution; ggml's convolution wants f16 kernels.
    writer.add_tensor("v.patch_embd.weight", w.matrix(d, 3, 14, 14).astype(np.float16))
    writer.add_tensor("v.patch_embd.weight.1", w.matrix(d, 3, 14, 14).astype(np.float16))
    for i in range(shapes.v_n_layer):
        p = f"v.blk.{i}"
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            _add(writer, f"{p}.{name}.weight", w.matrix(d, d))
            writer.add_tensor(f"{p}.{name}.bias", w.vector(d))
        writer.add_tensor(f"{p}.ln1.weight", w.ones(d))
        writer.add_tensor(f"{p}.ln2.weight", w.ones(d))
        _add(writer, f"{p}.ffn_gate.weight", w.matrix(ff, d))
        writer.add_tensor(f"{p}.ffn_gate.bias", w.vector(ff))
        _add(writer, f"{p}.ffn_up.weight", w.matrix(ff, d))
        writer.add_tensor(f"{p}.ffn_up.bias", w.vector(ff))
        _add(writer, f"{p}.ffn_down.weight", w.matrix(d, ff))
        writer.add_tensor(f"{p}.ffn_down.bias", w.vector(d))
    writer.add_tensor("v.post_ln.weight", w.ones(d))
    _add(writer, "mm.0.weight", w.matrix(merged, merged))
    writer.add_tensor("mm.0.bias", w.vector(merged))
    _add(writer, "mm.2.weight", w.matrix(out_dim, merged))
    writer.add_tensor("mm.2.bias", w.vector(out_dim))
    _finish(writer)
    return path


def _add(writer: gguf.GGUFWriter, name: str, values: np.ndarray) -> None:
    """Add a tensor; quantized blocks (bytes) carry their type, which the writer cannot infer."""
    writer.add_tensor(name, values, raw_dtype=Q8_0 if values.dtype == np.uint8 else None)


def _finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_pair(folder: Path, shapes: SyntheticShapes = TINY, *, stem: str = "CapRL-3B") -> tuple[Path, Path]:
    """Write a matching text model and projector into ``folder`` under the published naming."""
    folder.mkdir(parents=True, exist_ok=True)
    model = write_text_model(folder / f"{stem}.{shapes.weight_type.upper()}.gguf", shapes)
    mmproj = write_mmproj(folder / f"{stem}.mmproj-{shapes.weight_type}.gguf", shapes)
    return model, mmproj


__all__ = [
    "CAPRL_3B",
    "CHATML_TEMPLATE",
    "SPECIAL_TOKENS",
    "TINY",
    "SyntheticShapes",
    "vocabulary",
    "write_mmproj",
    "write_pair",
    "write_text_model",
]
