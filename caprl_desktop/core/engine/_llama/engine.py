"""The caption engine proper: CapRL-3B through llama.cpp's libmtmd, loaded once, several captions at once.

This module talks to llama.cpp directly through llama-cpp-python's ctypes bindings rather than through
its chat handlers, because those fix the image budget (``image_min_tokens`` / ``image_max_tokens``) and
cannot place an image into a chosen sequence.  It runs inside the engine process (see
``worker``); nothing here knows about pipes or processes.

The context holds ``slots`` sequences, each with a KV cache of its own (``kv_unified`` off).  ``begin``
puts one image and prompt into a free sequence and samples its first token; ``step`` decodes the next
token of every running sequence in one batch, so N captions share each pass over the weights;
``release`` frees the sequence and returns the caption.  ``caption`` is the same path for one image.
With separate caches a caption's attention never sees another's cells, which keeps its text the same
whether it ran alone or beside others (docs/benchmarks.md has what was measured).
"""

from __future__ import annotations

import codecs
import ctypes
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp
import llama_cpp.mtmd_cpp as mtmd

from caprl_desktop.core.engine._llama.chat_template import render_prompt
from caprl_desktop.core.engine._llama.log import LOG
from caprl_desktop.core.engine._llama.parallel import (
    choose_sequences,
    fewer_sequences,
    gpu_layers_that_fit,
    kv_bytes_per_token,
)
from caprl_desktop.core.engine._llama.probe import detect_backend
from caprl_desktop.core.engine.backend import BackendInfo, amx_kernels_unsafe, describe_backend
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import EngineError, ModelLoadError, PromptTooLongError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.models.files import ModelPairInfo, check_model_pair
from caprl_desktop.core.models.fit import memory_budget, shares_system_memory
from caprl_desktop.core.params import EngineConfig, GenerationParams, default_threads
from caprl_desktop.core.paths import llama_openable

_ALL_LAYERS = 999
# ctypes wants a typed NULL for an absent callback.
_NO_POST_DECODE = mtmd.mtmd_helper_post_decode_callback()
_FLASH_ATTN = {None: -1, True: 1, False: 0}  # llama_flash_attn_type: auto, enabled, disabled


class Sequence:
    """One caption in progress in one of the context's sequences (slots)."""

    def __init__(self, seq_id: int, sampler: Any, params: GenerationParams, seed: int, prompt_text: str,
                 image_size: tuple[int, int], on_text: Callable[[str], None], started: float) -> None:
        self.seq_id = seq_id
        self.sampler = sampler
        self.params = params
        self.seed = seed
        self.prompt_text = prompt_text
        self.image_size = image_size
        self.on_text = on_text
        self.started = started
        # Pieces can split a multi-byte character (Japanese often does); decode incrementally.
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.parts: list[str] = []
        self.n_past = 0
        self.n_tokens = 0
        self.image_tokens = 0
        self.encode_ms = 0.0
        self.prompt_ms = 0.0
        self.decode_started = started
        self.produced = 0
        self.pending: int | None = None  # sampled, shown, not yet decoded into the context
        self.finish: str | None = None  # stop, length, context, cancelled once done
        self.cancel_requested = False
        self.produced_at_cancel: int | None = None  # tokens made when the cancel arrived

    @property
    def done(self) -> bool:
        return self.finish is not None

    def cancel(self) -> None:
        """Stop at the next ``step``; the text so far is kept in the output."""
        if not self.cancel_requested:
            self.produced_at_cancel = self.produced
        self.cancel_requested = True


class LlamaCaptioner:
    """Owns a llama.cpp model, context and libmtmd projector; ``close()`` frees them."""

    def __init__(self, config: EngineConfig) -> None:
        started = time.perf_counter()
        self.config = config
        pair = check_model_pair(Path(config.model_path), Path(config.mmproj_path))
        LOG.clear()
        backend = detect_backend()
        gpu_layers = config.gpu_layers
        if gpu_layers is None or gpu_layers < 0:
            gpu_layers = _ALL_LAYERS if backend.gpu_offload else 0
        if not backend.gpu_offload:
            gpu_layers = 0
        threads = config.threads or default_threads()
        memory_notes: list[str] = []  # what the engine gave up here (memory, kernels), said in the backend line
        if gpu_layers == _ALL_LAYERS:
            fitted = self._gpu_layers_that_fit(config, backend, pair)
            if fitted is not None:
                gpu_layers = max(1, fitted)
                memory_notes.append(f"only {gpu_layers} of {pair.n_layer + 1} layers on the GPU, the rest did not "
                                    "fit in its free memory (close other GPU programs for full speed)")

        self._model: Any = None
        self._ctx: Any = None
        self._mctx: Any = None
        self._batch: Any = None
        try:
            model_params = llama_cpp.llama_model_default_params()
            model_params.n_gpu_layers = gpu_layers
            if amx_kernels_unsafe(backend):
                # ggml's AMX kernels crash on Q4_K weights (the default quant) on Sapphire Rapids-class CPUs,
                # at the first caption: ggml-org/llama.cpp#20824, unfixed in the llama.cpp this app ships.
                # Without extra buffer types the weights stay as they are (and lose the CPU repacking too).
                model_params.use_extra_bufts = False
                memory_notes.append("AMX kernels off on this CPU (they crash on Q4_K: llama.cpp #20824)")
            model_path = llama_openable(pair.model_path)  # every path given to llama.cpp, not only the models folder
            self._model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), model_params)
            if not self._model:
                raise ModelLoadError(self._failure("llama.cpp could not load the model", pair.model_path))
            n_layer = int(llama_cpp.llama_model_n_layer(self._model))
            self.slots = self._choose_slots(config, backend, pair, n_layer, gpu_layers != 0)
            wanted = self.slots
            while True:
                ctx_params = self._context_params(config, threads)
                self._ctx = llama_cpp.llama_init_from_model(self._model, ctx_params)
                if self._ctx or self.slots == 1:
                    break
                # Out of memory for this many KV caches (the estimate missed what others hold): fewer, and say so.
                self.slots = fewer_sequences(self.slots)
            if not self._ctx:
                raise ModelLoadError(self._failure("llama.cpp could not create a context", pair.model_path))
            if self.slots < wanted:
                memory_notes.append(f"{self.slots} captions at once instead of {wanted}: memory ran out")
            self._n_batch = int(ctx_params.n_batch)
            self._n_ctx = int(llama_cpp.llama_n_ctx_seq(self._ctx))
            self._memory = llama_cpp.llama_get_memory(self._ctx)

            mparams = mtmd.mtmd_context_params_default()
            mparams.use_gpu = gpu_layers != 0
            mparams.n_threads = threads
            mparams.print_timings = False
            mparams.warmup = config.warmup
            mparams.flash_attn_type = _FLASH_ATTN[config.flash_attn]
            mparams.image_max_tokens = config.image_budget.max_tokens
            if config.image_budget.min_tokens is not None:
                mparams.image_min_tokens = config.image_budget.min_tokens
            self._mctx = mtmd.mtmd_init_from_file(str(llama_openable(pair.mmproj_path)).encode(), self._model, mparams)
            if not self._mctx:
                raise ModelLoadError(self._failure("llama.cpp could not load the vision projector", pair.mmproj_path))
            if not mtmd.mtmd_support_vision(self._mctx):
                raise ModelLoadError(f"{pair.mmproj_path.name} has no vision encoder")

            self._vocab = llama_cpp.llama_model_get_vocab(self._model)
            self._marker = mtmd.mtmd_default_marker().decode()
            template = llama_cpp.llama_model_chat_template(self._model, None)
            self._template = template.decode("utf-8") if template else None
            self._batch = llama_cpp.llama_batch_init(self.slots, 0, 1)
            self._eog_tokens: list[int] | None = None
            self._free = list(range(self.slots))
            self._piece = ctypes.create_string_buffer(256)
        except BaseException:
            self.close()
            raise

        self.info = EngineInfo(
            model=pair,
            backend=backend,
            backend_line="; ".join([describe_backend(backend, gpu_layers if gpu_layers != _ALL_LAYERS else None),
                                    *memory_notes]),
            gpu_layers=min(gpu_layers, n_layer + 1),
            n_layer=n_layer,
            n_ctx=self._n_ctx,
            threads=threads,
            image_budget=config.image_budget,
            load_seconds=time.perf_counter() - started,
            parallel=self.slots,
            notes=tuple(memory_notes),
        )

    def _context_params(self, config: EngineConfig, threads: int) -> Any:
        params = llama_cpp.llama_context_default_params()
        params.n_seq_max = self.slots
        # A KV cache per sequence: attention then never mixes in another caption's cells (see above).
        params.kv_unified = False
        params.n_ctx = config.n_ctx * self.slots
        params.n_batch = min(config.n_ctx, 2048)
        params.n_ubatch = 512
        params.n_threads = threads
        params.n_threads_batch = threads
        params.flash_attn_type = _FLASH_ATTN[config.flash_attn]
        params.no_perf = True
        return params

    @staticmethod
    def _gpu_layers_that_fit(config: EngineConfig, backend: BackendInfo, pair: ModelPairInfo) -> int | None:
        """None (all layers) unless a dedicated GPU's free memory is known and too small for the whole model."""
        if not backend.gpu_offload or not backend.gpus or shares_system_memory(backend.gpus[0]) or not pair.n_head:
            return None
        per_token = kv_bytes_per_token(pair.n_layer, pair.n_head_kv or pair.n_head, pair.head_dim)
        return gpu_layers_that_fit(pair.n_layer, pair.model_bytes, pair.mmproj_bytes,
                                   memory_budget(backend).available, per_token * config.n_ctx)

    def _choose_slots(self, config: EngineConfig, backend: BackendInfo, pair: ModelPairInfo, n_layer: int,
                      gpu: bool) -> int:
        n_head = int(llama_cpp.llama_model_n_head(self._model))
        head_dim = pair.head_dim or int(llama_cpp.llama_model_n_embd(self._model)) // max(1, n_head)
        per_token = kv_bytes_per_token(n_layer, int(llama_cpp.llama_model_n_head_kv(self._model)), head_dim)
        weights = pair.model_bytes + pair.mmproj_bytes
        # GPU memory was probed before the weights went onto it; available RAM counts the model file's cached
        # pages as reclaimable, and they are not: either way the weights come off what is free.
        budget = memory_budget(backend if gpu else None)
        free = budget.available - weights if budget.available is not None else None
        return choose_sequences(config.parallel, gpu=gpu, free_bytes=free,
                                per_sequence_bytes=per_token * config.n_ctx)

    @staticmethod
    def _failure(what: str, path: Path) -> str:
        detail = LOG.recent_errors()
        return f"{what} ({path.name}){': ' + detail if detail else '.'}"

    def close(self) -> None:
        """Free native memory now; relying on the garbage collector at exit has raised errors."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if self._mctx:
            mtmd.mtmd_free(self._mctx)
        self._mctx = None
        if self._ctx:
            llama_cpp.llama_free(self._ctx)
        self._ctx = None
        if self._model:
            llama_cpp.llama_model_free(self._model)
        self._model = None

    def render(self, system: str, user: str) -> str:
        return render_prompt(self._template, system, user, self._marker)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's own tokenizer makes of ``text`` (an edited caption), no special tokens."""
        data = text.encode("utf-8", "replace")
        size = len(data) + 8  # never more tokens than bytes, and the call says how many when it is too few
        for _ in range(2):
            buffer = (llama_cpp.llama_token * size)()
            count = int(llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, size, False, False))
            if count >= 0:
                return count
            size = -count
        raise EngineError("the text could not be tokenized")

    @property
    def free_slots(self) -> int:
        return len(self._free)

    # --- one caption ------------------------------------------------------------------------------

    def caption(
        self,
        image: PreparedImage,
        system: str,
        user: str,
        params: GenerationParams,
        on_text: Callable[[str], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> CaptionOutput:
        """Caption one image, calling ``on_text`` with each new piece; stops within a token of ``should_stop``."""
        sequence = self.begin(image, system, user, params, on_text, should_stop)
        try:
            while not sequence.done:
                if should_stop():
                    sequence.cancel()
                self.step([sequence])
        finally:
            output = self.release(sequence)
        return output

    # --- several captions side by side ------------------------------------------------------------

    def begin(
        self,
        image: PreparedImage,
        system: str,
        user: str,
        params: GenerationParams,
        on_text: Callable[[str], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Sequence:
        """Put an image and prompt into a free sequence and sample the first token (it may already be done).

        Blocks for the image encode and prompt; ``should_stop`` is asked between chunks.  Raises
        ``EngineError`` (the slot is freed again) or returns a sequence to ``step`` and then ``release``.
        """
        if self._ctx is None:
            raise EngineError("the engine is closed")
        if not self._free:
            raise EngineError("no free sequence: release one first")
        started = time.perf_counter()
        prompt_text = self.render(system, user)
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        seq_id = self._free.pop(0)
        sequence = Sequence(seq_id, None, params, seed, prompt_text, (image.width, image.height), on_text, started)

        chunks = mtmd.mtmd_input_chunks_init()
        pixels = (ctypes.c_uint8 * len(image.rgb)).from_buffer_copy(image.rgb)
        bitmap = mtmd.mtmd_bitmap_init(image.width, image.height, pixels)
        try:
            if not bitmap:
                raise EngineError("llama.cpp could not take the image")
            self._tokenize(chunks, bitmap, prompt_text)
            sequence.n_tokens = int(mtmd.mtmd_helper_get_n_tokens(chunks))
            if sequence.n_tokens + 1 > self._n_ctx:
                raise PromptTooLongError(
                    f"The prompt and image need {sequence.n_tokens} tokens but the context holds {self._n_ctx}; "
                    f"lower the image budget or shorten the prompt."
                )
            llama_cpp.llama_memory_seq_rm(self._memory, seq_id, -1, -1)
            if not self._evaluate(sequence, chunks, should_stop):
                sequence.finish = "cancelled"
                return sequence
            sequence.sampler = self._make_sampler(params, seed)
            sequence.decode_started = time.perf_counter()
            # The logits of this sequence's last prompt token are the context's last output right now.
            self._accept(sequence, llama_cpp.llama_sampler_sample(sequence.sampler, self._ctx, -1))
        except BaseException:
            self._free_sequence(sequence)
            raise
        finally:
            if bitmap:
                mtmd.mtmd_bitmap_free(bitmap)
            mtmd.mtmd_input_chunks_free(chunks)
        return sequence

    def step(self, sequences: list[Sequence]) -> None:
        """Decode the pending token of every running sequence in one batch and sample each one's next."""
        live: list[Sequence] = []
        for sequence in sequences:
            if sequence.done:
                continue
            if sequence.cancel_requested:
                sequence.finish = "cancelled"
                continue
            live.append(sequence)
        if not live:
            return
        batch = self._batch
        batch.n_tokens = len(live)
        for i, sequence in enumerate(live):
            assert sequence.pending is not None
            batch.token[i] = sequence.pending
            # Explicit positions: after an M-RoPE image the next position is not the KV cell count.
            batch.pos[i] = sequence.n_past
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = sequence.seq_id
            batch.logits[i] = 1
        if llama_cpp.llama_decode(self._ctx, batch) != 0:
            raise EngineError("llama.cpp failed while generating" + self._log_detail())
        for i, sequence in enumerate(live):
            sequence.n_past += 1
            self._accept(sequence, llama_cpp.llama_sampler_sample(sequence.sampler, self._ctx, i))

    def release(self, sequence: Sequence) -> CaptionOutput:
        """Free the sequence's slot and return its caption (what there is of it, if it was cancelled)."""
        if sequence.finish is None:
            sequence.finish = "cancelled"
        tail = sequence.decoder.decode(b"", final=True)
        if tail:
            sequence.parts.append(tail)
            sequence.on_text(tail)
        decoded = sequence.sampler is not None
        self._free_sequence(sequence)
        now = time.perf_counter()
        stats = CaptionStats(
            image_tokens=sequence.image_tokens,
            image_width=sequence.image_size[0],
            image_height=sequence.image_size[1],
            prompt_tokens=sequence.n_tokens - sequence.image_tokens,
            image_encode_ms=sequence.encode_ms,
            prompt_ms=sequence.prompt_ms,
            output_tokens=sequence.produced,
            decode_ms=(now - sequence.decode_started) * 1000 if decoded else 0.0,
            total_seconds=now - sequence.started,
            finish_reason=sequence.finish,
            seed=sequence.seed,
            tokens_after_cancel=sequence.produced - (sequence.produced_at_cancel if sequence.produced_at_cancel
                                                     is not None else sequence.produced),
        )
        text = "".join(sequence.parts).strip()
        return CaptionOutput(text=text, stats=stats, prompt_text=sequence.prompt_text)

    def _free_sequence(self, sequence: Sequence) -> None:
        if sequence.sampler is not None:
            llama_cpp.llama_sampler_free(sequence.sampler)
            sequence.sampler = None
        if self._ctx is not None and sequence.seq_id not in self._free:
            llama_cpp.llama_memory_seq_rm(self._memory, sequence.seq_id, -1, -1)
            self._free.append(sequence.seq_id)
            self._free.sort()

    def _accept(self, sequence: Sequence, token: int) -> None:
        """Take a sampled token: end the caption, or show it and keep it to decode in the next step."""
        sequence.pending = None
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            sequence.finish = "stop"
            return
        sequence.produced += 1
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece, len(self._piece), 0, False)
        text = sequence.decoder.decode(self._piece.raw[: max(n, 0)])
        if text:
            sequence.parts.append(text)
            sequence.on_text(text)
        if sequence.n_past + 1 >= self._n_ctx:
            sequence.finish = "context"
        elif sequence.produced >= sequence.params.max_tokens:
            sequence.finish = "length"
        else:
            sequence.pending = token

    # --- prompt and image -------------------------------------------------------------------------

    def _tokenize(self, chunks: Any, bitmap: Any, prompt_text: str) -> None:
        encoded = prompt_text.encode("utf-8")
        text = mtmd.mtmd_input_text()
        text.text = encoded
        text.text_len = len(encoded)
        text.add_special = True
        text.parse_special = True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        result = mtmd.mtmd_tokenize(self._mctx, chunks, ctypes.byref(text), bitmaps, 1)
        if result != 0:
            raise EngineError(f"llama.cpp could not tokenize the prompt and image (code {result})")

    def _evaluate(self, sequence: Sequence, chunks: Any, should_stop: Callable[[], bool]) -> bool:
        """Feed prompt and image into the sequence; False when stopped between chunks."""
        n_past = 0
        seq_id = sequence.seq_id
        n_chunks = int(mtmd.mtmd_input_chunks_size(chunks))
        for i in range(n_chunks):
            if should_stop():
                return False
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            new_n_past = llama_cpp.llama_pos(n_past)
            last = i == n_chunks - 1
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                sequence.image_tokens += int(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
                t0 = time.perf_counter()
                if mtmd.mtmd_encode_chunk(self._mctx, chunk) != 0:
                    raise EngineError("the vision encoder failed on this image" + self._log_detail())
                t1 = time.perf_counter()
                embd = mtmd.mtmd_get_output_embd(self._mctx)
                result = mtmd.mtmd_helper_decode_image_chunk(
                    self._mctx, self._ctx, chunk, embd, n_past, seq_id, self._n_batch, ctypes.byref(new_n_past),
                    _NO_POST_DECODE, None,
                )
                sequence.encode_ms += (t1 - t0) * 1000
                sequence.prompt_ms += (time.perf_counter() - t1) * 1000
            else:
                t0 = time.perf_counter()
                result = mtmd.mtmd_helper_eval_chunk_single(
                    self._mctx, self._ctx, chunk, n_past, seq_id, self._n_batch, last, ctypes.byref(new_n_past)
                )
                sequence.prompt_ms += (time.perf_counter() - t0) * 1000
            if result != 0:
                raise EngineError(f"llama.cpp could not evaluate the prompt (code {result})" + self._log_detail())
            n_past = int(new_n_past.value)
        sequence.n_past = n_past
        return True

    @staticmethod
    def _log_detail() -> str:
        detail = LOG.recent_errors(1)
        return f": {detail}" if detail else ""

    def _make_sampler(self, params: GenerationParams, seed: int) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = llama_cpp.llama_sampler_chain_add
        if params.ignore_eos:
            eog = self._eog()
            biases = (llama_cpp.llama_logit_bias * len(eog))()
            for i, token in enumerate(eog):
                biases[i].token = token
                biases[i].bias = float("-inf")
            n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
            add(chain, llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(eog), biases))
        if params.repeat_penalty != 1.0:
            add(chain, llama_cpp.llama_sampler_init_penalties(64, params.repeat_penalty, 0.0, 0.0))
        if params.temperature <= 0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
            return chain
        if params.top_p < 1.0:
            add(chain, llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
        add(chain, llama_cpp.llama_sampler_init_temp(params.temperature))
        add(chain, llama_cpp.llama_sampler_init_dist(seed))
        return chain

    def _eog(self) -> list[int]:
        if self._eog_tokens is None:
            n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
            self._eog_tokens = [t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, t)]
        return self._eog_tokens
