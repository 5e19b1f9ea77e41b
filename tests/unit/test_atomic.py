"""Atomic writes: permissions like any file the user makes, the replaced file's mode kept, and durable renames."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.core import atomic
from caprl_desktop.core.atomic import atomic_write_text, probe_writable

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_a_new_file_follows_the_umask(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "photo.txt"
    atomic_write_text(target, "a caption\n")
    assert mode(target) == 0o644  # what `touch` would make, not mkstemp's 0600
    os.umask(0o077)
    private = tmp_path / "private.txt"
    atomic_write_text(private, "a caption\n")
    assert mode(private) == 0o600  # a user who asks for private files gets them


@posix_only
def test_an_overwritten_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "photo.txt"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n" and mode(target) == 0o640
    target.chmod(0o664)
    atomic_write_text(target, "newer\n")
    assert mode(target) == 0o664


@posix_only
def test_the_file_is_synced_before_the_rename_and_the_folder_after(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "photo.txt"
    steps: list[str] = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd: int) -> None:
        steps.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(self: Path, other: Path) -> Path:
        steps.append("rename")
        return real_replace(self, other)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    atomic_write_text(target, "durable\n")
    assert steps == ["fsync file", "rename", "fsync folder"]
    assert target.read_text(encoding="utf-8") == "durable\n"


def test_the_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    assert probe_writable(tmp_path / "new" / "folder") is None
    assert list((tmp_path / "new" / "folder").iterdir()) == []


def test_temporary_names_never_collide_with_an_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(names))
    fd, first = atomic._open_temp(tmp_path, ".x.")
    os.close(fd)
    fd, second = atomic._open_temp(tmp_path, ".x.")  # "aaaa" is taken: the next name is used
    os.close(fd)
    assert (first.name, second.name) == (".x.aaaa.tmp", ".x.bbbb.tmp")
