"""The built-in engine's stop of one caption, which the guards use: on the generated model in a real engine
process, the caption stopped ends with its own reply within a token while the one beside it streams on whole."""

from __future__ import annotations

from pathlib import Path

from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionText
from caprl_desktop.core.images.loading import load_image
from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE, GenerationParams
from caprl_desktop.core.prompts import build_prompt
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles, engine_config


def test_stopping_one_caption_ends_it_within_a_token_and_the_other_streams_whole(
    models: ModelFiles, tmp_path: Path
) -> None:
    images = [load_image(save_noise(tmp_path / f"p{i}.png", 120 + 17 * i, 90, seed=i),
                         TEST_BUDGET.max_pixels(QWEN25VL_TOKEN_SIDE)) for i in range(2)]
    params = GenerationParams(max_tokens=40, temperature=0.0, seed=3, ignore_eos=True)
    with EngineClient(engine_config(models, parallel=2), log_dir=tmp_path / "logs") as engine:
        engine.start()
        stopped, other = (engine.submit(image, build_prompt("en"), params) for image in images)
        replies: list[CaptionReply] = []
        while sum(isinstance(r, CaptionDone | CaptionFailed) for r in replies) < 2:
            reply = engine.next_reply()
            replies.append(reply)
            if isinstance(reply, CaptionText) and reply.request_id == stopped:
                engine.stop_caption(stopped)  # at its first piece (again at any later one: harmless)
        assert engine.running  # the engine goes on
    ends = {r.request_id: r for r in replies if isinstance(r, CaptionDone)}
    assert set(ends) == {stopped, other}, replies
    first = ends[stopped].output.stats
    assert first.finish_reason == "cancelled" and first.tokens_after_cancel == 0 and first.output_tokens < 40
    second = ends[other].output
    assert second.stats.finish_reason == "length" and second.stats.output_tokens == 40
    streamed = "".join(r.text for r in replies if isinstance(r, CaptionText) and r.request_id == other)
    assert streamed.strip() == second.text  # none of its pieces was read away
