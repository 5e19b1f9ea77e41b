"""Hostile folders through the whole run: a folder too deep for the system and a caption that is a link out.

A folder past the system's path limit (4,096 bytes on Linux, 1,024 on macOS) was skipped without a word; a
sidecar linked to a file outside its folder was read as the caption and exported. Now the first is named in
the run's summary and the window's, and the second is never read.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caprl_desktop.cli.main import main
from caprl_desktop.core.export.writers import read_csv
from caprl_desktop.core.jobs.discovery import PATH_LIMIT, UnreadFolder, find_images
from caprl_desktop.core.models.store import ModelStore
from caprl_desktop.ui.queue_controller import QueueController
from caprl_desktop.ui.settings import AppSettings
from tests.support.cli import fast_args, model_args
from tests.support.images import noise_image, save_noise
from tests.support.models import ModelFiles

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no such path limit for the app "
                                "(core/long_paths.py); symbolic links need a privilege there")

FAST = fast_args(seed=1234)
LEVEL = "x" * 238  # with two digits before it, a folder name of 240 bytes


def deep_tree(root: Path) -> Path:
    """Four images within reach, and one 5,300 bytes deep: made through folder handles (openat), as no path call
    reaches that far. Returns the deepest folder."""
    for i in range(4):
        save_noise(root / f"p{i}.jpg", seed=i)
    encoded = io.BytesIO()
    noise_image(160, 120, seed=9).save(encoded, "JPEG")
    directory = os.O_RDONLY | os.O_DIRECTORY
    handle = os.open(root, directory)
    folder = root
    for i in range(22):
        name = f"{i:02d}{LEVEL}"
        os.mkdir(name, dir_fd=handle)
        inner = os.open(name, directory, dir_fd=handle)
        os.close(handle)
        handle, folder = inner, folder / name
    image = os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=handle)
    os.write(image, encoded.getvalue())
    os.close(image)
    os.close(handle)
    assert PATH_LIMIT is not None and len(os.fsencode(folder / "deep.jpg")) > PATH_LIMIT
    return folder


def test_a_folder_too_deep_for_the_system_is_named_not_skipped(tmp_path: Path) -> None:
    deepest = deep_tree(tmp_path / "album")
    unread: list[UnreadFolder] = []
    items, missing = find_images([tmp_path / "album"], unread=unread)
    assert [i.path.name for i in items] == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"] and not missing
    assert [u.path for u in unread] == [deepest]  # read through folder handles: its one image is counted
    assert unread[0].reason.startswith(f"its path is too long for this system ({len(os.fsencode(deepest)):,} bytes;")
    assert unread[0].reason.endswith("so 1 image in it cannot be captioned there: move the folder higher up")


def test_the_run_summary_names_the_folder_it_could_not_read(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deepest = deep_tree(tmp_path / "album")
    code = main(["caption", str(tmp_path / "album"), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 0, err
    summary = err[err.index("Done: 4 captioned."):].splitlines()
    assert summary[1:] == ["Could not read 1 folder:", f"  {deepest}: its path is too long for this system "
                           f"({len(os.fsencode(deepest)):,} bytes; at most {PATH_LIMIT:,} can be opened), so 1 image "
                           "in it cannot be captioned there: move the folder higher up"]


@pytest.fixture
def modelless(qtbot: QtBot) -> Iterator[QueueController]:
    queue = QueueController(AppSettings(), ModelStore())  # an empty home: nothing starts
    yield queue
    queue.shutdown()
    queue.deleteLater()


def test_the_window_says_which_folder_it_could_not_read(qtbot: QtBot, modelless: QueueController,
                                                         tmp_path: Path) -> None:
    deepest = deep_tree(tmp_path / "album")
    with qtbot.waitSignal(modelless.message, timeout=10_000,
                          check_params_cb=lambda text, *_: text.startswith("Added")) as said:
        modelless.add_paths([tmp_path / "album"], start=False)
    assert said.args is not None
    assert said.args[0] == (f"Added 4 from album · could not read {deepest.name} (its path is too long for this "
                            f"system ({len(os.fsencode(deepest)):,} bytes; at most {PATH_LIMIT:,} can be opened), "
                            "so 1 image in it cannot be captioned there: move the folder higher up)")


def test_a_caption_linked_outside_its_folder_is_not_read_nor_exported(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ln -s ../secret.txt a.txt`` put the secret's text in the CSV as a.jpg's caption, and a.jpg was skipped as
    captioned."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is hunter2\n", encoding="utf-8")
    folder = tmp_path / "photos"
    save_noise(folder / "a.jpg", seed=1)
    save_noise(folder / "b.jpg", seed=2)
    (folder / "a.txt").symlink_to(Path("..") / "secret.txt")
    csv_path = tmp_path / "out.csv"
    main(["caption", str(folder), "--csv", str(csv_path), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "already have captions" not in err, err
    assert f"note: a.txt is a link to {secret}, outside {folder}: it is not read as the caption of a.jpg\n" in err
    assert "hunter2" not in csv_path.read_text(encoding="utf-8-sig")
    rows = {r["file_name"]: r for r in read_csv(csv_path)}
    assert rows["photos/b.jpg"]["caption"].strip()
    # Nothing is written through such a link either, so a.jpg is not captioned in vain: it fails, saying why.
    assert not rows["photos/a.jpg"]["caption"] and "a.txt is a link to" in rows["photos/a.jpg"]["error"]
    assert secret.read_text(encoding="utf-8") == "the password is hunter2\n"
