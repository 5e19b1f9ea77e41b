r"""Paths past Windows' MAX_PATH get the ``\\?\`` form, by Windows' rules run here through ``ntpath``."""

from __future__ import annotations

import ntpath
from pathlib import Path, PureWindowsPath

from caprl_desktop.core.jobs.sidecars import root_folder_name
from caprl_desktop.core.long_paths import LIMIT, extended, for_os

DEEP = "\\".join(["Photos 2024 family trip"] * 12)  # 12 × 24 characters: a real archive's depth


def test_short_paths_and_other_systems_are_left_alone() -> None:
    assert extended(r"C:\Photos\a.txt", windows=True) == r"C:\Photos\a.txt"
    assert extended("C:\\" + DEEP + "\\a.txt", windows=False) == "C:\\" + DEEP + "\\a.txt"
    assert for_os(Path("/tmp") / ("x" * 300)) == Path("/tmp") / ("x" * 300)  # this OS is not Windows


def test_a_long_drive_path_gets_the_device_form_normalised() -> None:
    given = "C:/" + DEEP.replace("\\", "/") + "/sub/../a.txt"
    long = extended(given, windows=True)
    assert long == "\\\\?\\C:\\" + DEEP + "\\a.txt"  # "/" and ".." resolved: Windows no longer does it
    assert len(long) > LIMIT


def test_a_long_share_path_gets_the_unc_device_form() -> None:
    long = extended("\\\\nas\\photos\\" + DEEP + "\\a.txt", windows=True)
    assert long == "\\\\?\\UNC\\nas\\photos\\" + DEEP + "\\a.txt"
    assert ntpath.splitdrive(long)[1].endswith("a.txt")


def test_a_path_already_in_device_form_is_kept() -> None:
    already = "\\\\?\\C:\\" + DEEP + "\\a.txt"
    assert extended(already, windows=True) == already


def test_caption_folders_for_roots_without_a_name_keep_apart() -> None:
    names = [root_folder_name(PureWindowsPath(p)) for p in ("E:\\", "F:\\", "\\\\nas\\photos\\", "C:\\Photos")]
    assert names == ["E-drive", "F-drive", "nas-photos", "Photos"]
    assert root_folder_name(Path("/")) == "root"
