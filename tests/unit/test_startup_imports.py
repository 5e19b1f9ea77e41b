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

LEFT_OUT = ("numpy", "gguf", "huggingface_hub", "httpx2", "httpx", "yaml", "asyncio", "exiv2", "psutil", "openai",
            "keyring", "llama_cpp")


# Each way to the window, in one process (a few seconds less than a process each): what each step imported of
# those it must leave out, so a failure names the step.
_STEPS = """
import json, sys
left_out = {left_out!r}
seen = {{}}
for module in ("caprl_desktop.cli.main", "caprl_desktop.ui.main_window", "caprl_desktop.ui.app"):
    __import__(module)
    seen["import " + module] = [m for m in left_out if m in sys.modules]
import caprl_desktop.ui.app as app
app.run_gui = lambda arguments: 0  # (the window itself is not opened: its imports are what is looked at)
from caprl_desktop.cli.main import main
for arguments in ([], ["gui"], ["gui", "photos"], ["photos"]):
    assert main(arguments) == 0
    seen["caprl-desktop " + " ".join(arguments)] = [m for m in left_out if m in sys.modules]
print(json.dumps(seen))
"""


def test_the_first_window_imports_none_of_what_it_does_not_need() -> None:
    """Importing the window, and `caprl-desktop`, `caprl-desktop gui [PATH]` and `caprl-desktop PATH` on their way
    to it (without building the commands' parser, which imports the hub's client for `models download`)."""
    result = subprocess.run([sys.executable, "-c", _STEPS.format(left_out=LEFT_OUT)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert len(seen) == 7 and {step: found for step, found in seen.items() if found} == {}
