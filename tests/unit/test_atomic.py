"""Atomic writes: permissions like any file the user makes, the replaced file's mode kept, and durable renames."""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.core.atomic import WriteError, atomic_write_text, probe_writable

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
    """A file already named as the temporary copy would be (another program's, a copy a kill left) is neither
    written into nor replaced: the next name is taken."""
    names = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(names))
    taken = tmp_path / ".x.txt.aaaa.tmp"
    taken.write_text("someone else's\n", encoding="utf-8")
    atomic_write_text(tmp_path / "x.txt", "caption\n")
    assert (tmp_path / "x.txt").read_text(encoding="utf-8") == "caption\n"
    assert taken.read_text(encoding="utf-8") == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.txt.aaaa.tmp", "x.txt"]  # .bbbb was renamed


def sharing_violation() -> PermissionError:
    exc = PermissionError(13, "The process cannot access the file because it is being used by another process")
    exc.winerror = 32  # type: ignore[attr-defined]  # what Windows adds
    return exc


def test_a_file_held_open_by_another_program_is_replaced_once_it_lets_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel holding the CSV, Defender or OneDrive reading the new file: Windows refuses the rename a moment."""
    target = tmp_path / "captions.csv"
    target.write_text("old\n", encoding="utf-8")
    real, tries = Path.replace, []

    def busy_twice(self: Path, other: Path) -> Path:
        tries.append(self)
        if len(tries) <= 2:
            raise sharing_violation()
        return real(self, other)

    monkeypatch.setattr(Path, "replace", busy_twice)
    atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n" and len(tries) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.csv"]


def test_a_file_that_stays_in_use_is_that_files_problem_not_a_read_only_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "photo.txt"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o444)  # the read-only attribute an old caption may carry: cleared on the way

    def always_busy(self: Path, other: Path) -> Path:
        raise sharing_violation()

    monkeypatch.setattr(Path, "replace", always_busy)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    with pytest.raises(WriteError, match=r"photo\.txt is in use by another program") as caught:
        atomic_write_text(target, "new\n")
    assert caught.value.problem == "other"  # the run goes on with the other images
    assert target.read_text(encoding="utf-8") == "old\n" and target.stat().st_mode & stat.S_IWRITE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.txt"]  # no temporary left
