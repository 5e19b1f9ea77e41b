"""How long the window takes to be usable, from the command being run to the window's first event loop turn.

    python -m tests.benchmarks.startup [--runs 5] [--model M.gguf --mmproj P.gguf]

Each run is a fresh ``python`` process with a home of its own (with the given model installed, so the
window starts loading it as it would every day); the time is measured from just before the process is
started to the moment the shown window handles its first queued event.  The child also reports whether
llama.cpp was imported on the way: it must not be, the model loads in the engine process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(started: float) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])

    def ready() -> None:
        report = {"ready_s": time.time() - started, "llama_cpp_imported": "llama_cpp" in sys.modules}
        print(json.dumps(report), flush=True)
        app.quit()

    QTimer.singleShot(0, ready)  # runs once the event loop turns, after the window is shown
    from caprl_desktop.cli.main import main

    return main(["gui"])


def measure(runs: int, model: Path | None, mmproj: Path | None) -> list[dict[str, float]]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="caprl-startup-") as home:
            env = {**os.environ, "CAPRL_DESKTOP_HOME": home, "XDG_CONFIG_HOME": f"{home}/config",
                   "XDG_DATA_HOME": f"{home}/data", "XDG_STATE_HOME": f"{home}/state"}
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
            if model is not None and mmproj is not None:
                add = ["models", "add", str(model), "--mmproj", str(mmproj), "--default"]
                subprocess.run([sys.executable, "-m", "caprl_desktop", *add], env=env, check=True, capture_output=True)
            started = time.time()
            process = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.startup", "--child",
                                        repr(started)], env=env, stdout=subprocess.PIPE, text=True)
            assert process.stdout is not None
            line = process.stdout.readline()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            results.append(json.loads(line))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--mmproj", type=Path)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child)
    results = measure(args.runs, args.model, args.mmproj)
    times = [r["ready_s"] for r in results]
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    print(f"window usable after {statistics.fmean(times):.2f} ± {sd:.2f} s "
          f"({min(times):.2f}–{max(times):.2f}, {len(times)} runs); "
          f"llama.cpp imported on the way: {any(r['llama_cpp_imported'] for r in results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
