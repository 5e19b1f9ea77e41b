"""How many captions the engine decodes at once, from the backend and the memory their KV cache needs.

Decoding one token is bound by memory bandwidth: each step reads all the weights once, whether for one
sequence or eight, so captions decoded side by side in one batch cost little more per step than one.
Each sequence keeps its own KV cache (``n_ctx_seq`` cells), which is what limits how many fit.
"""

from __future__ import annotations

# Measured on a 2-core CPU with a CapRL-3B-shaped Q4_K_M (docs/benchmarks.md): total decode speed peaks at 4
# sequences (23 tok/s against 18 for one; ggml's CPU kernels work on 4 columns at a time) and falls at 8.
CPU_MAX_SEQUENCES = 4
# A GPU has compute to spare at these batch sizes; llama-server's users run 8 to 32.
GPU_MAX_SEQUENCES = 16
# Of the memory left after the weights: the rest stays for the vision encoder, compute buffers and the desktop.
KV_SHARE = 0.5


def kv_bytes_per_token(n_layer: int, n_head_kv: int, head_dim: int, bytes_per_value: int = 2) -> int:
    """K and V of one token in every layer (f16 cache): 36 KiB for CapRL-3B."""
    return n_layer * 2 * n_head_kv * head_dim * bytes_per_value


def choose_sequences(requested: int | None, *, gpu: bool, free_bytes: int | None, per_sequence_bytes: int) -> int:
    """Sequences to allocate: what was asked (or the backend's default), no more than memory allows, at least 1."""
    wanted = requested if requested is not None else (GPU_MAX_SEQUENCES if gpu else CPU_MAX_SEQUENCES)
    wanted = max(1, wanted)
    if free_bytes is None:
        # Nothing known about memory: an explicit request is honoured, the automatic choice stays modest.
        return wanted if requested is not None else min(wanted, 2)
    fits = int(free_bytes * KV_SHARE) // max(1, per_sequence_bytes)
    return max(1, min(wanted, fits))
