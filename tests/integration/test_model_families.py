"""CapRL-3B (Qwen2.5-VL) and CapRL 2.0 (Qwen3-VL) side by side, through the real llama.cpp on generated pairs.

Each family's image tokens cover its own square of pixels (28 and 32 a side): the detail budgets must give
either family the tokens they name, so these tests read the tokens llama.cpp actually used from the records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.core.visible_text import visible
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config

BUDGET = 256


@pytest.fixture(params=["caprl-3b", "caprl-qwen3vl"])
def family_pair(request: pytest.FixtureRequest) -> tuple[ModelFiles, int]:
    """A generated pair and the side, in pixels, of the square one of its image tokens covers."""
    if request.param == "caprl-3b":
        return request.getfixturevalue("models"), 28
    return request.getfixturevalue("qwen3vl_models"), 32


def test_the_projector_says_how_many_pixels_a_token_covers(family_pair: tuple[ModelFiles, int]) -> None:
    files, side = family_pair
    assert check_model_pair(files.model, files.mmproj).image_token_side == side


def test_image_tokens_follow_each_familys_own_patch_size(
    family_pair: tuple[ModelFiles, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, side = family_pair
    sizes = {"photo.jpg": (2000, 1500), "tall.png": (600, 2400), "small.png": (400, 300)}
    for name, (width, height) in sizes.items():
        save_noise(tmp_path / name, width, height)
    out = tmp_path / "records.jsonl"
    assert main(["caption", str(tmp_path), "--model", str(files.model), "--mmproj", str(files.mmproj),
                 "--image-max-tokens", str(BUDGET), "--max-tokens", "1", "--seed", "1", "--threads", "2",
                 "--no-sidecar", "--jsonl", str(out)]) in (0, 1)  # a 1-token caption may be empty: tokens still count
    capsys.readouterr()
    tokens = {Path(r["path"]).name: r["provenance"]["image_tokens"]
              for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    # Larger than the budget: scaled to land just under it, in either family (Qwen3-VL once got 3/4 of it).
    assert 0.85 * BUDGET <= tokens["photo.jpg"] <= BUDGET
    assert 0.85 * BUDGET <= tokens["tall.png"] <= BUDGET
    # Smaller: as it is, one token per side × side square (llama.cpp rounds each side to whole tokens).
    width, height = sizes["small.png"]
    assert abs(tokens["small.png"] - width * height / side**2) <= (width + height) / side


REFERENCE = """
import base64, json, sys
from llama_cpp import Llama
from llama_cpp.llama_chat_format import MTMDChatHandler

model, mmproj, *images = sys.argv[1:]
handler = MTMDChatHandler(clip_model_path=mmproj, verbose=False)
llm = Llama(model_path=model, chat_handler=handler, n_ctx=4096, n_threads=2, n_threads_batch=2, flash_attn=True,
            verbose=False)
texts = []
for path in images:
    uri = "data:image/png;base64," + base64.b64encode(open(path, "rb").read()).decode()
    reply = llm.create_chat_completion(
        messages=[{"role": "system", "content": "You are a helpful assistant."},
                  {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}},
                                               {"type": "text", "text": "Describe the image."}]}],
        max_tokens=24, temperature=0)
    texts.append(reply["choices"][0]["message"]["content"])
print(json.dumps(texts))
"""


def test_greedy_captions_of_caprl_2_match_llama_cpp_pythons_own_multimodal_chat(
    qwen3vl_models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app's engine (its own batching, side-by-side sequences, prompt rendering) against the handler
    people use today, on a Qwen3-VL pair: the same words for the same image, other words for another."""
    images = [save_noise(tmp_path / f"photo-{seed}.png", 320, 256, seed=seed) for seed in range(4)]
    ours = []
    pair = ["--model", str(qwen3vl_models.model), "--mmproj", str(qwen3vl_models.mmproj)]
    for image in images:
        assert main(["caption", str(image), *pair, "--temperature", "0", "--system-prompt",
                     "You are a helpful assistant.", "--prompt", "Describe the image.", "--no-sidecar",
                     "--max-tokens", "24", "--threads", "2"]) == 0
        ours.append(capsys.readouterr().out.strip("\n"))
    done = subprocess.run([sys.executable, "-c", REFERENCE, str(qwen3vl_models.model), str(qwen3vl_models.mmproj),
                           *map(str, images)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reference = json.loads(done.stdout.strip().splitlines()[-1])
    for mine, theirs in zip(ours, reference, strict=True):
        # Where the model emits bytes that are not UTF-8, the app shows U+FFFD and the handler drops them; the
        # handler also returns one token more than max_tokens. The app prints control characters as escapes.
        shown = mine.replace("\ufffd", "")
        assert shown and visible(theirs).startswith(shown), (mine, theirs)
    assert len(set(ours)) == len(ours)  # the image reaches the model: each photo gets its own caption


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_caprl_2_side_by_side_gives_the_same_text_as_one_at_a_time(
    qwen3vl_models: ModelFiles, tmp_path: Path, temperature: float
) -> None:
    """Qwen3-VL's M-RoPE positions and deepstack inputs stay per sequence when four captions share a batch."""
    paths = [save_noise(tmp_path / f"p{i}.png", 130 + 37 * i, 100 + 21 * i, seed=i) for i in range(5)]
    prepared = [load_image(p, TEST_BUDGET.max_pixels(32)) for p in paths]
    params = GenerationParams(max_tokens=24, temperature=temperature, seed=1234, ignore_eos=True)
    prompt = build_prompt("en")
    logs = tmp_path / "logs"
    with EngineClient(engine_config(qwen3vl_models, parallel=1), log_dir=logs) as alone_engine:
        alone_engine.start()
        alone = []
        for image in prepared:
            *_, last = alone_engine.caption(image, prompt, params)
            assert isinstance(last, CaptionDone)
            alone.append(last.output.text)
    with EngineClient(engine_config(qwen3vl_models, parallel=4), log_dir=logs) as together:
        assert together.start().parallel == 4
        ids = [together.submit(image, prompt, params) for image in prepared]
        outputs: dict[int, str] = {}
        while len(outputs) < len(ids):
            reply = together.next_reply()
            assert not isinstance(reply, CaptionFailed), reply
            if isinstance(reply, CaptionDone):
                outputs[reply.request_id] = reply.output.text
    assert [outputs[rid] for rid in ids] == alone
    assert len(set(alone)) == len(alone)
