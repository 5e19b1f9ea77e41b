"""The engine through its process boundary, on synthetic CapRL-3B GGUFs run by the real llama.cpp."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionDone, CaptionText
from caprl_desktop.core.engine.reports import CaptionOutput
from caprl_desktop.core.errors import EngineCrashedError, ModelFileError, PromptTooLongError
from caprl_desktop.core.images.loading import PreparedImage, load_image
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, GenerationParams, ImageBudget
from caprl_desktop.core.prompts import PromptSpec, build_prompt
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config
from tests.support.synthetic_gguf import TINY, write_mmproj


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> PreparedImage:
    path = save_noise(tmp_path_factory.mktemp("img") / "photo.jpg", 320, 240, seed=3)
    return load_image(path, TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE))


def run_caption(
    engine: EngineClient, image: PreparedImage, prompt: PromptSpec, params: GenerationParams
) -> tuple[list[str], CaptionOutput]:
    pieces: list[str] = []
    final: CaptionOutput | None = None
    for event in engine.caption(image, prompt, params):
        if isinstance(event, CaptionText):
            pieces.append(event.text)
        else:
            assert isinstance(event, CaptionDone)
            final = event.output
    assert final is not None
    return pieces, final


def test_engine_reports_model_and_backend(live_engine: EngineClient) -> None:
    info = live_engine.info
    assert info is not None
    assert info.model.architecture == "qwen2vl"
    assert info.n_layer == TINY.n_layer
    assert info.image_budget == TEST_BUDGET
    # A CPU build says so and points at the runtime (never at pip and a compiler); a GPU build names its device.
    cpu_only = not info.backend.gpu_offload
    assert info.backend_line.startswith("CPU only") == cpu_only
    assert ("caprl-desktop runtime install" in info.backend_line) == cpu_only
    assert "pip" not in info.backend_line and "CMAKE_ARGS" not in info.backend_line
    assert (info.gpu_layers == 0) == cpu_only


def test_streamed_pieces_make_the_caption(live_engine: EngineClient, photo: PreparedImage) -> None:
    params = GenerationParams(max_tokens=24, seed=7, ignore_eos=True)
    pieces, out = run_caption(live_engine, photo, build_prompt("en"), params)
    assert len(pieces) >= 2
    assert "".join(pieces).strip() == out.text
    s = out.stats
    assert s.output_tokens == 24 and s.finish_reason == "length"
    assert 0 < s.image_tokens <= TEST_BUDGET.max_tokens
    assert s.prompt_tokens > 10
    assert s.image_encode_ms > 0 and s.prompt_ms > 0 and s.tokens_per_second > 0
    assert s.seed == 7


def test_same_seed_same_caption(live_engine: EngineClient, photo: PreparedImage) -> None:
    prompt = build_prompt("ja")
    first = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=32, seed=11, ignore_eos=True))[1]
    again = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=32, seed=11, ignore_eos=True))[1]
    other = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=32, seed=12, ignore_eos=True))[1]
    assert first.text == again.text
    assert first.text != other.text


def test_unseeded_caption_reports_its_seed_for_replay(live_engine: EngineClient, photo: PreparedImage) -> None:
    prompt = build_prompt("en")
    first = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=20, ignore_eos=True))[1]
    replay = GenerationParams(max_tokens=20, ignore_eos=True, seed=first.stats.seed)
    assert run_caption(live_engine, photo, prompt, replay)[1].text == first.text


def test_greedy_ignores_seed(live_engine: EngineClient, photo: PreparedImage) -> None:
    prompt = build_prompt("en")
    a = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=16, temperature=0, seed=1))[1]
    b = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=16, temperature=0, seed=2))[1]
    assert a.text == b.text


@pytest.mark.parametrize("language", ["ja", "en"])
def test_prompts_reach_the_model_through_the_chat_template(
    live_engine: EngineClient, photo: PreparedImage, language: str
) -> None:
    prompt = build_prompt(language)  # type: ignore[arg-type]
    out = run_caption(live_engine, photo, prompt, GenerationParams(max_tokens=4, seed=1))[1]
    assert out.prompt_text == (
        f"<|im_start|>system\n{prompt.system}<|im_end|>\n"
        f"<|im_start|>user\n<__media__>{prompt.user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # Byte-level BPE: the Japanese prompt costs far more tokens than its characters suggest.
    if language == "ja":
        assert out.stats.prompt_tokens > len(prompt.system + prompt.user)


def test_cancel_stops_within_a_token(live_engine: EngineClient, photo: PreparedImage) -> None:
    stream = live_engine.caption(photo, build_prompt("en"), GenerationParams(max_tokens=2000, seed=1, ignore_eos=True))
    seen = 0
    final: CaptionOutput | None = None
    for event in stream:
        if isinstance(event, CaptionText):
            seen += 1
            if seen == 5:
                live_engine.cancel()
        else:
            final = event.output
    assert final is not None
    assert final.stats.finish_reason == "cancelled"
    # The tiny test model runs at ~10,000 tok/s, so tens of pieces can already sit in the pipe when the client
    # reads piece 5 (seen: 31): how many the client saw says little. The engine reports what it made after it
    # read the cancel: nothing, since a cancel is read between two tokens and ends the caption there.
    assert final.stats.tokens_after_cancel == 0
    assert seen <= final.stats.output_tokens < 2000


def test_abandoning_a_stream_cancels_it_and_keeps_the_engine(live_engine: EngineClient, photo: PreparedImage) -> None:
    stream = live_engine.caption(photo, build_prompt("en"), GenerationParams(max_tokens=2000, ignore_eos=True))
    next(stream)
    stream.close()
    assert live_engine.running
    out = run_caption(live_engine, photo, build_prompt("en"), GenerationParams(max_tokens=5, ignore_eos=True))[1]
    assert out.stats.output_tokens == 5


def test_image_budget_sets_image_tokens(models: ModelFiles, tmp_path: Path) -> None:
    big = save_noise(tmp_path / "big.png", 1000, 1000)
    tokens = {}
    for budget in (64, 256):
        config = engine_config(models, image_budget=ImageBudget(max_tokens=budget))
        with EngineClient(config, log_dir=tmp_path) as client:
            client.start()
            image = load_image(big, config.image_budget.max_pixels(QWEN25VL_TOKEN_SIDE))
            out = run_caption(client, image, build_prompt("en"), GenerationParams(max_tokens=2))[1]
            tokens[budget] = out.stats.image_tokens
    # 1000x1000 px would be ~1275 tokens at llama.cpp's default limit; the budget caps it.
    assert 48 <= tokens[64] <= 64
    assert 200 <= tokens[256] <= 256


def test_prompt_longer_than_context(models: ModelFiles, tmp_path: Path, photo: PreparedImage) -> None:
    config = engine_config(models, context_tokens=256)
    long_prompt = build_prompt("en", custom_prompt="describe " * 300)
    with EngineClient(config, log_dir=tmp_path) as client:
        client.start()
        with pytest.raises(PromptTooLongError, match="lower the image budget"):
            run_caption(client, photo, long_prompt, GenerationParams(max_tokens=4))
        # The engine survives and captions the next image.
        assert run_caption(client, photo, build_prompt("en"), GenerationParams(max_tokens=4, ignore_eos=True))[1].text


def test_bad_model_file_is_reported_across_the_process(models: ModelFiles, tmp_path: Path) -> None:
    with EngineClient(engine_config(models, mmproj_path=str(models.model)), log_dir=tmp_path) as client:
        with pytest.raises(ModelFileError, match="is a text model"):
            client.start()
        assert not client.running


def test_killed_engine_is_reported_and_restarts(models: ModelFiles, tmp_path: Path, photo: PreparedImage) -> None:
    with EngineClient(engine_config(models), log_dir=tmp_path) as client:
        client.start()
        stream = client.caption(photo, build_prompt("en"), GenerationParams(max_tokens=2000, ignore_eos=True))
        next(stream)
        assert client.pid is not None
        os.kill(client.pid, signal.SIGKILL)
        with pytest.raises(EngineCrashedError, match="signal 9"):
            for _ in stream:
                pass
        assert not client.running
        client.start()
        assert run_caption(client, photo, build_prompt("en"), GenerationParams(max_tokens=3, ignore_eos=True))[1].text


def test_native_abort_in_llama_cpp_names_the_cause(models: ModelFiles, tmp_path: Path, photo: PreparedImage) -> None:
    # Every vision block on full attention: llama.cpp aborts the process when it encodes an image.
    broken = write_mmproj(tmp_path / "broken-mmproj.gguf", TINY, wa_pattern=1)
    with EngineClient(engine_config(models, mmproj_path=str(broken)), log_dir=tmp_path / "logs") as client:
        client.start()
        with pytest.raises(EngineCrashedError, match=r"SIGABRT.*Failed to get tensor window_mask") as caught:
            run_caption(client, photo, build_prompt("en"), GenerationParams(max_tokens=4))
        assert caught.value.exitcode == -signal.SIGABRT
        assert client.log_path.exists()
    assert client.log_path.exists()  # kept for the bug report


def test_an_edited_captions_tokens_are_counted_by_the_models_own_tokenizer(
    live_engine: EngineClient, models: ModelFiles
) -> None:
    text = "A red bicycle leans on a wall. 富士山の写真。"
    # llama-cpp-python's own tokenizer, in a process of its own: its output redirection leaves files open
    # that would warn at this process's exit.
    reference = ("import sys; from llama_cpp import Llama; v = Llama(model_path=sys.argv[1], vocab_only=True, "
                 "verbose=False); print(len(v.tokenize(sys.argv[2].encode(), add_bos=False, special=False))); "
                 "v.close()")
    done = subprocess.run([sys.executable, "-c", reference, str(models.model), text], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = int(done.stdout.strip().splitlines()[-1])
    assert live_engine.count_tokens(text) == expected > 0
    assert live_engine.count_tokens("") == 0
