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


# What a GPU needs beside weights and KV cache: compute buffers, the vision encoder's activations, the desktop.
GPU_RESERVE_BYTES = 1 << 30


def gpu_layers_that_fit(n_layer: int, model_bytes: int, mmproj_bytes: int, free_bytes: int | None,
                        sequence_bytes: int) -> int | None:
    """Layers to put on a dedicated GPU: None (all) when the weights, one caption's KV cache and a reserve fit
    in its free memory, else as many as fit (0 to ``n_layer``; the output layer counts as one more).

    It must be decided before loading: on Windows an NVIDIA driver does not fail when its memory runs out, it
    moves memory to system RAM and the run gets 5-20 times slower with no error at all."""
    if free_bytes is None or n_layer <= 0:
        return None
    room = free_bytes - mmproj_bytes - sequence_bytes - GPU_RESERVE_BYTES
    if room >= model_bytes:
        return None
    per_layer = model_bytes / (n_layer + 1)
    return max(0, min(n_layer, int(room // per_layer)))


def fewer_sequences(slots: int) -> int:
    """What to try after a context of ``slots`` sequences could not be allocated: half, down to one."""
    return max(1, slots // 2)


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
