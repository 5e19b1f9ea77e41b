"""One settings model: the same choices made in the window and on the command line give the same run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.cli import arguments
from caprl_desktop.cli.main import build_parser
from caprl_desktop.core.settings import CaptionSettings
from caprl_desktop.ui.settings import AppSettings

MODEL, MMPROJ = Path("/models/CapRL-3B.Q4_K_M.gguf"), Path("/models/CapRL-3B.mmproj-Q8_0.gguf")


def cli_settings(*argv: str) -> CaptionSettings:
    args = build_parser().parse_args(["caption", "photo.jpg", *argv])
    return arguments.settings_from_args(args)


def test_the_same_choices_in_the_window_and_on_the_command_line_give_identical_options(tmp_path: Path) -> None:
    window = AppSettings()  # the window's stored choices (an INI file under the test's home)
    window.language = "ja"
    window.preset = "short"
    window.detail = "fast"
    window.max_tokens = 300
    window.temperature = 0.0
    window.seed = 42
    window.gpu_layers = 0
    window.threads = 3
    window.parallel = 2
    window.overwrite = True
    window.caption_folder = str(tmp_path / "captions")
    window.metadata = "embed"
    window.metadata_existing = "replace"
    window.sync()
    stored = AppSettings().choices  # as the next start reads them

    cli = cli_settings("--lang", "ja", "--preset", "short", "--detail", "fast", "--max-tokens", "300",
                       "--temperature", "0", "--seed", "42", "--gpu-layers", "0", "--threads", "3", "--parallel", "2",
                       "--overwrite", "--output-dir", str(tmp_path / "captions"), "--metadata", "embed",
                       "--metadata-existing", "replace")

    assert stored == cli
    assert stored.job_options(MODEL.name) == cli.job_options(MODEL.name)
    assert stored.engine_config(MODEL, MMPROJ) == cli.engine_config(MODEL, MMPROJ)
    options = cli.job_options(MODEL.name)
    assert (options.prompt.language, options.prompt.preset, options.params.seed) == ("ja", "short", 42)
    assert options.image_budget.max_tokens == 256 and options.overwrite
    assert options.caption_folder == str((tmp_path / "captions").absolute())


def test_a_custom_prompt_is_the_same_choice_in_both_faces() -> None:
    window = AppSettings()
    window.language = "en"
    window.preset = None  # the window's "Custom prompt" entry
    window.custom_prompt = "List every number in the chart."
    cli = cli_settings("--lang", "en", "--prompt", "List every number in the chart.")
    assert window.choices.job_options("m") == cli.job_options("m")
    assert cli.prompt().user == "List every number in the chart." and cli.prompt().preset == "custom"


def test_untouched_defaults_agree_between_the_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert AppSettings().choices == cli_settings() == CaptionSettings()
    assert CaptionSettings().language == "ja"


def test_one_image_gets_one_sequence_unless_captions_at_a_time_is_set() -> None:
    assert CaptionSettings().engine_config(MODEL, MMPROJ, images=1).parallel == 1
    assert CaptionSettings().engine_config(MODEL, MMPROJ, images=5).parallel is None
    assert CaptionSettings(parallel=3).engine_config(MODEL, MMPROJ, images=1).parallel == 3


def test_a_resumed_run_keeps_its_own_budget_and_caption_length() -> None:
    run = CaptionSettings(detail="max", max_tokens=77).job_options("m")
    config = CaptionSettings(detail="fast", threads=2).engine_config(MODEL, MMPROJ, run)
    assert config.image_budget == run.image_budget and config.max_output_tokens == 77 and config.threads == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"preset": "poem"}, "unknown prompt preset"),
    ({"detail": "huge"}, "unknown detail"),
    ({"temperature": -1.0}, "temperature cannot be negative"),
    ({"image_max_tokens": 5}, "image max tokens"),
    ({"parallel": 0}, "at least 1"),
])
def test_invalid_choices_are_refused_with_a_sentence(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CaptionSettings().replace(**change)


def test_jobs_resume_offers_every_option_that_makes_sense_for_a_resume() -> None:
    result = subprocess.run([sys.executable, "-m", "caprl_desktop", "jobs", "resume", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for flag in ("--parallel", "--max-tokens", "--temperature", "--top-p", "--repeat-penalty", "--seed",
                 "--gpu-layers", "--threads", "--model", "--mmproj", "--csv", "--jsonl", "--output-dir"):
        assert flag in text, flag
    for flag in ("--lang", "--preset", "--overwrite", "--detail"):  # a run keeps these; they are not offered
        assert flag not in text, flag


def test_resume_changes_only_what_is_given() -> None:
    run = CaptionSettings(temperature=0.7, seed=3, max_tokens=100).job_options("m")
    args = build_parser().parse_args(["jobs", "resume", "4", "--max-tokens", "500"])
    changed = arguments.resume_changes(args).apply(run)
    assert changed.params.max_tokens == 500
    assert (changed.params.temperature, changed.params.seed) == (0.7, 3)
    assert changed.prompt == run.prompt and changed.caption_folder == run.caption_folder
