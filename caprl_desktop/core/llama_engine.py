"""The caption engine proper: CapRL-3B through llama.cpp's libmtmd, loaded once, one image at a time.

This module talks to llama.cpp directly through llama-cpp-python's ctypes bindings rather than through
its chat handlers, because those fix the image budget (``image_min_tokens`` / ``image_max_tokens``) and
cannot place an image into a chosen sequence.  It runs inside the engine process (see
``engine_worker``); nothing here knows about pipes or processes.
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

from caprl_desktop.core.backend import describe_backend
from caprl_desktop.core.backend_probe import detect_backend
from caprl_desktop.core.chat_template import render_prompt
from caprl_desktop.core.engine_types import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import EngineError, ModelLoadError, PromptTooLongError
from caprl_desktop.core.images import PreparedImage
from caprl_desktop.core.llama_log import LOG
from caprl_desktop.core.model_files import check_model_pair
from caprl_desktop.core.params import EngineConfig, GenerationParams, default_threads

_ALL_LAYERS = 999
# ctypes wants a typed NULL for an absent callback.
_NO_POST_DECODE = mtmd.mtmd_helper_post_decode_callback()
_FLASH_ATTN = {None: -1, True: 1, False: 0}  # llama_flash_attn_type: auto, enabled, disabled


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

        self._model: Any = None
        self._ctx: Any = None
        self._mctx: Any = None
        self._batch: Any = None
        try:
            model_params = llama_cpp.llama_model_default_params()
            model_params.n_gpu_layers = gpu_layers
            self._model = llama_cpp.llama_model_load_from_file(str(pair.model_path).encode(), model_params)
            if not self._model:
                raise ModelLoadError(self._failure("llama.cpp could not load the model", pair.model_path))
            n_layer = int(llama_cpp.llama_model_n_layer(self._model))

            ctx_params = llama_cpp.llama_context_default_params()
            ctx_params.n_ctx = config.n_ctx
            ctx_params.n_batch = min(config.n_ctx, 2048)
            ctx_params.n_ubatch = 512
            ctx_params.n_seq_max = 1
            ctx_params.n_threads = threads
            ctx_params.n_threads_batch = threads
            ctx_params.flash_attn_type = _FLASH_ATTN[config.flash_attn]
            ctx_params.no_perf = True
            self._ctx = llama_cpp.llama_init_from_model(self._model, ctx_params)
            if not self._ctx:
                raise ModelLoadError(self._failure("llama.cpp could not create a context", pair.model_path))
            self._n_batch = int(ctx_params.n_batch)
            self._n_ctx = int(llama_cpp.llama_n_ctx(self._ctx))

            mparams = mtmd.mtmd_context_params_default()
            mparams.use_gpu = gpu_layers != 0
            mparams.n_threads = threads
            mparams.print_timings = False
            mparams.warmup = config.warmup
            mparams.flash_attn_type = _FLASH_ATTN[config.flash_attn]
            mparams.image_max_tokens = config.image_budget.max_tokens
            if config.image_budget.min_tokens is not None:
                mparams.image_min_tokens = config.image_budget.min_tokens
            self._mctx = mtmd.mtmd_init_from_file(str(pair.mmproj_path).encode(), self._model, mparams)
            if not self._mctx:
                raise ModelLoadError(self._failure("llama.cpp could not load the vision projector", pair.mmproj_path))
            if not mtmd.mtmd_support_vision(self._mctx):
                raise ModelLoadError(f"{pair.mmproj_path.name} has no vision encoder")

            self._vocab = llama_cpp.llama_model_get_vocab(self._model)
            self._marker = mtmd.mtmd_default_marker().decode()
            template = llama_cpp.llama_model_chat_template(self._model, None)
            self._template = template.decode("utf-8") if template else None
            self._batch = llama_cpp.llama_batch_init(1, 0, 1)
            self._eog_tokens: list[int] | None = None
        except BaseException:
            self.close()
            raise

        self.info = EngineInfo(
            model=pair,
            backend=backend,
            backend_line=describe_backend(backend, gpu_layers if gpu_layers != _ALL_LAYERS else None),
            gpu_layers=min(gpu_layers, n_layer + 1),
            n_layer=n_layer,
            n_ctx=self._n_ctx,
            threads=threads,
            image_budget=config.image_budget,
            load_seconds=time.perf_counter() - started,
        )

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
        if self._ctx is None:
            raise EngineError("the engine is closed")
        started = time.perf_counter()
        prompt_text = self.render(system, user)
        seed = params.seed if params.seed is not None else random.randrange(2**31)

        chunks = mtmd.mtmd_input_chunks_init()
        pixels = (ctypes.c_uint8 * len(image.rgb)).from_buffer_copy(image.rgb)
        bitmap = mtmd.mtmd_bitmap_init(image.width, image.height, pixels)
        sampler = None
        try:
            if not bitmap:
                raise EngineError("llama.cpp could not take the image")
            self._tokenize(chunks, bitmap, prompt_text)
            n_tokens = int(mtmd.mtmd_helper_get_n_tokens(chunks))
            if n_tokens + 1 > self._n_ctx:
                raise PromptTooLongError(
                    f"The prompt and image need {n_tokens} tokens but the context holds {self._n_ctx}; "
                    f"lower the image budget or shorten the prompt."
                )
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)
            evaluated = self._evaluate(chunks, should_stop)
            if evaluated is None:
                return self._cancelled(prompt_text, image, seed, started)
            n_past, image_tokens, encode_ms, prompt_ms = evaluated

            sampler = self._make_sampler(params, seed)
            text, output_tokens, decode_ms, finish = self._generate(
                sampler, n_past, params, on_text, should_stop
            )
        finally:
            if sampler is not None:
                llama_cpp.llama_sampler_free(sampler)
            if bitmap:
                mtmd.mtmd_bitmap_free(bitmap)
            mtmd.mtmd_input_chunks_free(chunks)

        stats = CaptionStats(
            image_tokens=image_tokens,
            image_width=image.width,
            image_height=image.height,
            prompt_tokens=n_tokens - image_tokens,
            image_encode_ms=encode_ms,
            prompt_ms=prompt_ms,
            output_tokens=output_tokens,
            decode_ms=decode_ms,
            total_seconds=time.perf_counter() - started,
            finish_reason=finish,
            seed=seed,
        )
        return CaptionOutput(text=text.strip(), stats=stats, prompt_text=prompt_text)

    def _cancelled(self, prompt_text: str, image: PreparedImage, seed: int, started: float) -> CaptionOutput:
        stats = CaptionStats(0, image.width, image.height, 0, 0.0, 0.0, 0, 0.0, time.perf_counter() - started,
                             "cancelled", seed)
        return CaptionOutput(text="", stats=stats, prompt_text=prompt_text)

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

    def _evaluate(
        self, chunks: Any, should_stop: Callable[[], bool]
    ) -> tuple[int, int, float, float] | None:
        """Feed prompt and image into the context; None when stopped between chunks."""
        n_past, image_tokens, encode_ms, prompt_ms = 0, 0, 0.0, 0.0
        n_chunks = int(mtmd.mtmd_input_chunks_size(chunks))
        for i in range(n_chunks):
            if should_stop():
                return None
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            new_n_past = llama_cpp.llama_pos(n_past)
            last = i == n_chunks - 1
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                image_tokens += int(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
                t0 = time.perf_counter()
                if mtmd.mtmd_encode_chunk(self._mctx, chunk) != 0:
                    raise EngineError("the vision encoder failed on this image" + self._log_detail())
                t1 = time.perf_counter()
                embd = mtmd.mtmd_get_output_embd(self._mctx)
                result = mtmd.mtmd_helper_decode_image_chunk(
                    self._mctx, self._ctx, chunk, embd, n_past, 0, self._n_batch, ctypes.byref(new_n_past),
                    _NO_POST_DECODE, None,
                )
                encode_ms += (t1 - t0) * 1000
                prompt_ms += (time.perf_counter() - t1) * 1000
            else:
                t0 = time.perf_counter()
                result = mtmd.mtmd_helper_eval_chunk_single(
                    self._mctx, self._ctx, chunk, n_past, 0, self._n_batch, last, ctypes.byref(new_n_past)
                )
                prompt_ms += (time.perf_counter() - t0) * 1000
            if result != 0:
                raise EngineError(f"llama.cpp could not evaluate the prompt (code {result})" + self._log_detail())
            n_past = int(new_n_past.value)
        return n_past, image_tokens, encode_ms, prompt_ms

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

    def _generate(
        self,
        sampler: Any,
        n_past: int,
        params: GenerationParams,
        on_text: Callable[[str], None],
        should_stop: Callable[[], bool],
    ) -> tuple[str, int, float, str]:
        # Pieces can split a multi-byte character (Japanese often does); decode incrementally.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        piece = ctypes.create_string_buffer(256)
        parts: list[str] = []
        batch = self._batch
        produced, finish = 0, "length"
        t0 = time.perf_counter()
        while produced < params.max_tokens:
            if should_stop():
                finish = "cancelled"
                break
            token = llama_cpp.llama_sampler_sample(sampler, self._ctx, -1)
            if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                finish = "stop"
                break
            produced += 1
            n = llama_cpp.llama_token_to_piece(self._vocab, token, piece, len(piece), 0, False)
            text = decoder.decode(piece.raw[: max(n, 0)])
            if text:
                parts.append(text)
                on_text(text)
            if n_past + 1 >= self._n_ctx:
                finish = "context"
                break
            if produced == params.max_tokens:
                break
            batch.n_tokens = 1
            batch.token[0] = token
            # Explicit positions: after an M-RoPE image the next position is not the KV cell count.
            batch.pos[0] = n_past
            batch.n_seq_id[0] = 1
            batch.seq_id[0][0] = 0
            batch.logits[0] = 1
            if llama_cpp.llama_decode(self._ctx, batch) != 0:
                raise EngineError("llama.cpp failed while generating" + self._log_detail())
            n_past += 1
        tail = decoder.decode(b"", final=True)
        if tail:
            parts.append(tail)
            on_text(tail)
        return "".join(parts), produced, (time.perf_counter() - t0) * 1000, finish
