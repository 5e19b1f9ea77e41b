"""The window's start imports nothing it does not need to show itself (issue 26: start-up back under 0.6 s).

What is left out here is imported where it is first used: numpy and gguf when a model file's header is read,
the hub's client (huggingface-hub, httpx, yaml, asyncio through tqdm) when the model dialog opens or a download
starts, Exiv2 when a description is read or written, psutil when a run starts, the OpenAI client when servers
are asked. Each costs the start 15–350 ms on a 2-core machine (``python -X importtime``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

LEFT_OUT = ("numpy", "gguf", "huggingface_hub", "httpx2", "httpx", "yaml", "asyncio", "exiv2", "psutil", "openai",
            "keyring", "llama_cpp")


@pytest.mark.parametrize("module", ["caprl_desktop.ui.app", "caprl_desktop.ui.main_window", "caprl_desktop.cli.main"])
def test_the_first_window_imports_none_of_what_it_does_not_need(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps([m for m in {LEFT_OUT!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("arguments", [[], ["gui"], ["gui", "photos"], ["photos"]])
def test_opening_the_window_imports_none_of_them_either(arguments: list[str]) -> None:
    """`caprl-desktop`, `caprl-desktop gui [PATH]` and `caprl-desktop PATH` go to the window without building the
    commands' parser (which imports the hub's client for `models download`)."""
    code = ("import json, sys; import caprl_desktop.ui.app as app; app.run_gui = lambda arguments: 0; "
            f"from caprl_desktop.cli.main import main; assert main({arguments!r}) == 0; "
            f"print(json.dumps([m for m in {LEFT_OUT!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
