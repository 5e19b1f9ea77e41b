"""What the command line prints of outside text, in a real process: file names and folder names holding terminal
escapes, a server whose model name and captions hold them, and a file name whose bytes are not UTF-8.

A terminal obeys ESC and C1 sequences (OSC 52 sets the clipboard, OSC 0 the title, CSI 2J clears the screen):
none may reach standard output or standard error raw, while the files keep every caption exactly as made.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.core.export.writers import read_csv, read_jsonl
from tests.support.cli import REPO, fast_args, model_args
from tests.support.images import save_noise
from tests.support.models import ModelFiles
from tests.support.servers import StandInServer

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: puts "rm -rf ~" on the clipboard
TITLE = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J\x1b[H"
C1_CLEAR = "\x9b2J"  # the same as a C1 control
PIECES = ("A sign reading ", CLIPBOARD, " and ", CLEAR, C1_CLEAR, "\r", "done.")
CAPTION = "".join(PIECES)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and new line

posix_only = pytest.mark.skipif(os.name == "nt", reason="these names are not allowed on Windows")


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CAPRL_DESKTOP_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "caprl_desktop.cli.main", *args], env=env, capture_output=True,
                          timeout=300)


def assert_nothing_raw(output: bytes) -> str:
    """The output as text, after checking it holds no control character but tab and new line."""
    text = output.decode("utf-8")  # valid UTF-8: a name's stray bytes are shown, not passed on
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters reached the terminal: {found!r}\n{text}"
    return text


@pytest.fixture
def escaping_server() -> Iterator[StandInServer]:
    server = StandInServer(model=f"{TITLE}evil-model").start()
    server.script.pieces = PIECES
    yield server
    server.stop()


@posix_only
def test_escapes_in_names_and_a_servers_words_are_shown_not_obeyed(
    escaping_server: StandInServer, tmp_path: Path, isolated_home: Path
) -> None:
    folder = tmp_path / f"photos{TITLE}"
    images = [save_noise(folder / name, seed=i) for i, name in enumerate([f"{CLEAR}a.png", f"{CLIPBOARD}b.png",
                                                                          f"c{C1_CLEAR}.png"])]
    records = tmp_path / "records.jsonl"
    result = run_cli("caption", str(folder), "--engine", escaping_server.url, "--max-tokens", "8",
                     "--jsonl", str(records), home=isolated_home)
    assert result.returncode == 0, result.stderr
    err = assert_nothing_raw(result.stderr)
    assert_nothing_raw(result.stdout)
    assert "\\x1b]0;owned\\x07evil-model" in err  # the server's model name, shown
    assert "\\x1b[2J\\x1b[Ha.png" in err and "c\\x9b2J.png" in err  # the names, shown
    # The files keep what the server said and the names exactly.
    for image in images:
        assert image.with_suffix(".txt").read_bytes().decode("utf-8") == CAPTION + "\n"
    rows = read_jsonl(records)
    assert sorted(str(r["file_name"]) for r in rows) == sorted(p.relative_to(tmp_path).as_posix() for p in images)
    assert {r["caption"] for r in rows} == {CAPTION}

    listed = run_cli("jobs", "list", home=isolated_home)
    assert listed.returncode == 0
    assert "photos\\x1b]0;owned\\x07" in assert_nothing_raw(listed.stdout)


@posix_only
def test_a_caption_streamed_to_standard_output_is_shown_not_obeyed(
    escaping_server: StandInServer, tmp_path: Path, isolated_home: Path
) -> None:
    image = save_noise(tmp_path / f"{TITLE}.png")
    result = run_cli("caption", str(image), "--engine", escaping_server.url, "--max-tokens", "8", home=isolated_home)
    assert result.returncode == 0, result.stderr
    out = assert_nothing_raw(result.stdout)
    assert_nothing_raw(result.stderr)
    assert "A sign reading \\x1b]52;c;cm0gLXJmIH4=\\x07 and \\x1b[2J\\x1b[H\\x9b2J\\x0ddone." in out
    assert image.with_suffix(".txt").read_bytes().decode("utf-8") == CAPTION + "\n"


@posix_only
def test_a_name_that_is_not_utf8_is_captioned_with_the_rest_and_exported_round_trip(
    models: ModelFiles, tmp_path: Path, isolated_home: Path
) -> None:
    folder = tmp_path / "photos"
    odd = save_noise(Path(os.fsdecode(os.fsencode(folder) + b"/\xff\xfe.png")), seed=1)
    plain = save_noise(folder / "ok.png", seed=2)
    csv_path, jsonl_path = tmp_path / "out.csv", tmp_path / "out.jsonl"
    result = run_cli("caption", str(folder), "--csv", str(csv_path), "--jsonl", str(jsonl_path),
                     *fast_args(max_tokens=6, seed=3), *model_args(models), home=isolated_home)
    assert result.returncode == 0, result.stderr
    err = assert_nothing_raw(result.stderr)
    assert "\\xff\\xfe.png" in err  # its bytes shown
    assert odd.with_suffix(".txt").exists() and plain.with_suffix(".txt").exists()
    names = {f"photos/{odd.name}", f"photos/{plain.name}"}  # (relative to the exports' folder)
    assert {r["file_name"] for r in read_csv(csv_path)} == names
    assert {r["path"] for r in read_csv(csv_path)} == {str(odd), str(plain)}
    assert {str(r["file_name"]) for r in read_jsonl(jsonl_path)} == names
    jsonl_path.read_bytes().decode("utf-8")  # still UTF-8 for any JSON reader
    listed = run_cli("jobs", "list", home=isolated_home)
    assert listed.returncode == 0 and "2 done" in assert_nothing_raw(listed.stdout)


def test_an_argument_the_parser_rejects_is_shown_not_obeyed(isolated_home: Path) -> None:
    result = run_cli("jobs", "list", f"{CLEAR}{CLIPBOARD}.png", home=isolated_home)  # as a shell glob passes it
    assert result.returncode == 2
    assert "unrecognized arguments: \\x1b[2J\\x1b[H\\x1b]52;" in assert_nothing_raw(result.stderr)
