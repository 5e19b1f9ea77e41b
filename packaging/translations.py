"""Keep the interface translations in step with the code: ``python packaging/translations.py``.

The ``.ts`` files in ``caprl_desktop/ui/i18n`` are the source (edit them with ``pyside6-linguist``); this
extracts every ``tr()`` string from the UI into them (keeping what is translated, dropping what the code no
longer has) and compiles them to the ``.qm`` files the app loads. ``--check`` changes nothing and reports
strings without a translation and ``.qm`` files that do not match their ``.ts``; the test suite runs it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import PySide6

UI = Path(__file__).resolve().parent.parent / "caprl_desktop" / "ui"
I18N = UI / "i18n"
LANGUAGES = ("ja",)


def _tool(name: str) -> str:
    """lupdate and lrelease ship inside the PySide6 wheel (PySide6-Essentials included)."""
    folder = Path(PySide6.__file__).resolve().parent
    for candidate in (folder / name, folder / f"{name}.exe", folder / "Qt" / "libexec" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(f"pyside6-{name}")
    if found is None:
        raise FileNotFoundError(f"{name} not found in {folder}; install PySide6-Essentials")
    return found


def ts_path(language: str) -> Path:
    return I18N / f"caprl_desktop_{language}.ts"


def qm_path(language: str) -> Path:
    return I18N / f"caprl_desktop_{language}.qm"


def extract(ts: Path, language: str) -> None:
    sources = sorted(str(p) for p in UI.glob("*.py"))
    subprocess.run([_tool("lupdate"), *sources, "-no-obsolete", "-locations", "none", "-source-language", "en",
                    "-target-language", language, "-ts", str(ts)], check=True, capture_output=True)


def compile_ts(ts: Path, qm: Path) -> None:
    subprocess.run([_tool("lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True, capture_output=True)


def untranslated(ts: Path) -> list[str]:
    problems = []
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            if translation is None or translation.get("type") == "unfinished" or not (translation.text or ""):
                problems.append(f"{name}: {message.findtext('source', '')!r}")
    return problems


def check() -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for language in LANGUAGES:
            ts = Path(tmp) / ts_path(language).name
            shutil.copyfile(ts_path(language), ts)
            before = ts.read_bytes()
            extract(ts, language)
            problems += [f"[{language}] untranslated: {p}" for p in untranslated(ts)]
            if ts.read_bytes() != before:
                problems.append(f"[{language}] {ts_path(language).name} is not up to date with the code")
            qm = Path(tmp) / qm_path(language).name
            compile_ts(ts_path(language), qm)
            if not qm_path(language).exists() or qm.read_bytes() != qm_path(language).read_bytes():
                problems.append(f"[{language}] {qm_path(language).name} does not match its .ts")
    return problems


def update() -> None:
    I18N.mkdir(exist_ok=True)
    for language in LANGUAGES:
        extract(ts_path(language), language)
        compile_ts(ts_path(language), qm_path(language))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="report problems, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    update()
    for language in LANGUAGES:
        for problem in untranslated(ts_path(language)):
            print(f"[{language}] untranslated: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
