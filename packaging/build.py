"""Build the one-folder app with PyInstaller, then check it: ``python packaging/build.py [--no-check]``.

The checks run the built executables, not the source: ``--version``; the window starts (offscreen) and
stays up; and the console entry captions an image with a tiny generated GGUF pair, which proves that
llama.cpp's shared libraries, the engine process (multiprocessing in a frozen app) and the package data
all made it into the folder.  ``--folder`` checks the executables of another folder than dist/caprl-desktop:
on macOS the release checks those inside the app bundle it ships
(``--check-only --folder "dist/CapRL Desktop.app/Contents/MacOS"``).  Needs ``pip install pyinstaller`` and,
for the check, the dev extras.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
APP = DIST / "caprl-desktop"
EXE = ".exe" if os.name == "nt" else ""


def build() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        # As every other command: one sentence saying what to install, not a CalledProcessError traceback.
        raise SystemExit('PyInstaller is not installed in this Python: pip install -e ".[dev]" pyinstaller '
                         "(packaging/README.md), then run this again.")
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(DIST), "--workpath",
                    str(ROOT / "build" / "pyinstaller"), str(ROOT / "packaging" / "caprl-desktop.spec")],
                   check=True, cwd=ROOT)


def check(app: Path = APP) -> None:
    from PIL import Image

    sys.path.insert(0, str(ROOT))  # the test support package lives in the repository, not in the app
    from tests.support.synthetic_gguf import TINY, write_mmproj, write_text_model

    cli = app / f"caprl-desktop{EXE}"
    gui = app / f"CapRL Desktop{EXE}"
    if not cli.is_file():
        raise SystemExit(f"{cli} does not exist: build first (python packaging/build.py), or name the folder "
                         "that holds the built executables with --folder.")
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"--version: {version}")

    with tempfile.TemporaryDirectory() as folder:
        # As on a user's PC: no CUDA toolkit on PATH (CUDA_PATH is where a build machine's DLLs come from, so a
        # package missing them would pass here with it), and a home folder whose name is not ASCII.
        work = Path(folder) / "ユーザー"
        work.mkdir()
        env = {name: value for name, value in os.environ.items() if name not in ("CUDA_PATH", "HIP_PATH")}
        env.update({"CAPRL_DESKTOP_HOME": str(work / "home"), "QT_QPA_PLATFORM": "offscreen", "HOME": str(work),
                    "USERPROFILE": str(work)})
        window = subprocess.Popen([str(gui)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(8)
        if window.poll() is not None:
            raise SystemExit(f"the window exited at once ({window.returncode}):\n{window.stdout.read().decode()}")  # type: ignore[union-attr]
        window.terminate()
        window.wait(10)
        print("window: started and stayed up")

        model = write_text_model(work / "CapRL-3B.F32.gguf", TINY)
        mmproj = write_mmproj(work / "CapRL-3B.mmproj-f32.gguf", TINY)
        image = work / "photos" / "写真.png"
        image.parent.mkdir()
        Image.new("RGB", (96, 64), (200, 120, 40)).save(image)
        started = time.monotonic()
        result = subprocess.run([str(cli), "caption", str(image.parent), "--model", str(model), "--mmproj",
                                 str(mmproj), "--max-tokens", "8", "--image-max-tokens", "64", "--seed", "1"],
                                env=env, capture_output=True, text=True, timeout=300)
        caption = image.with_suffix(".txt")
        if result.returncode != 0 or not caption.exists():
            raise SystemExit(f"captioning failed ({result.returncode}):\n{result.stderr}")
        print(f"caption: {caption.name} written in {time.monotonic() - started:.1f} s by the built CLI")

        # The backend the built app reports: a GPU build that fell back to its CPU build says so here.
        doctor = subprocess.run([str(cli), "doctor"], env=env, capture_output=True, text=True, timeout=300)
        lines = doctor.stdout.splitlines()
        section = lines.index("[llama.cpp]") if "[llama.cpp]" in lines else len(lines)  # its first line is it
        print("backend: " + (lines[section + 1].strip() if section + 1 < len(lines) else "(not reported)"))
        if doctor.returncode != 0:
            raise SystemExit(f"doctor failed ({doctor.returncode}):\n{doctor.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="build only")
    parser.add_argument("--check-only", action="store_true", help="check an existing build")
    parser.add_argument("--folder", type=Path, default=APP,
                        help="the folder holding the executables to check (default: %(default)s)")
    args = parser.parse_args()
    if not args.check_only:
        build()
    if not args.no_check:
        check(args.folder.resolve())
    size = sum(p.stat().st_size for p in APP.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"{APP}: {size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
