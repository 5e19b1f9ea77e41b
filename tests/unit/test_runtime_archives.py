"""Unpacking runtime archives: the release layouts land side by side, and nothing lands outside the folder."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from caprl_desktop.core.runtimes.archives import ArchiveError, unpack, unpacked_size
from tests.support.runtime_release import tar_of


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip_of(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def test_a_linux_build_loses_its_top_folder_and_keeps_its_links_and_modes(tmp_path: Path) -> None:
    archive = _write(tmp_path / "llama-b1-bin-ubuntu-x64.tar.gz", tar_of({
        "llama-b1/": b"", "llama-b1/llama-server": b"#!/bin/sh\n", "llama-b1/libllama.so.0.5.0": b"lib",
        "llama-b1/libllama.so.0": "libllama.so.0.5.0", "llama-b1/LICENSE": b"MIT",
    }))
    into = tmp_path / "runtime"
    written = unpack(archive, into)
    assert sorted(p.name for p in into.iterdir()) == ["LICENSE", "libllama.so.0", "libllama.so.0.5.0",
                                                      "llama-server"]
    assert (into / "libllama.so.0").is_symlink() and (into / "libllama.so.0").read_bytes() == b"lib"
    assert os.access(into / "llama-server", os.X_OK)
    assert not (into / "llama-server").stat().st_mode & stat.S_IWOTH
    assert len(written) == 4
    assert unpacked_size(archive) == len(b"#!/bin/sh\n") + 3 + 3


def test_the_cuda_runtime_archive_unpacks_beside_the_build(tmp_path: Path) -> None:
    build = _write(tmp_path / "build.tar.gz", tar_of({"llama-b1/llama-server": b"x", "llama-b1/libggml-cuda.so": b"y"}))
    cudart = _write(tmp_path / "cudart.tar.gz", tar_of({"cudart-llama-b1/libcudart.so.12": b"z"}))
    into = tmp_path / "runtime"
    unpack(build, into)
    unpack(cudart, into)
    assert sorted(p.name for p in into.iterdir()) == ["libcudart.so.12", "libggml-cuda.so", "llama-server"]


def test_a_windows_zip_keeps_its_files_at_the_top(tmp_path: Path) -> None:
    archive = _write(tmp_path / "llama-b1-bin-win-cpu-x64.zip",
                     _zip_of({"llama-server.exe": b"MZ", "ggml.dll": b"d", "sub/extra.txt": b"t"}))
    into = tmp_path / "runtime"
    unpack(archive, into)
    assert (into / "llama-server.exe").read_bytes() == b"MZ"
    assert (into / "sub" / "extra.txt").read_bytes() == b"t"


@pytest.mark.parametrize("members", [
    {"llama-b1/llama-server": b"x", "llama-b1/../../evil": b"owned"},
    {"../evil": b"owned"},
    {"/tmp/evil-absolute-caprl": b"owned"},
    {"llama-b1/llama-server": b"x", "llama-b1/lib.so": "../../evil"},
    {"llama-b1/llama-server": b"x", "llama-b1/lib.so": "/etc/passwd"},
    {"llama-b1/sub/deep.so": "../../../evil"},
])
def test_a_tar_with_a_member_landing_outside_is_refused_and_nothing_is_written(
    tmp_path: Path, members: dict[str, bytes | str]
) -> None:
    archive = _write(tmp_path / "bad.tar.gz", tar_of(members))
    into = tmp_path / "base" / "runtime"
    with pytest.raises(ArchiveError, match=r"bad\.tar\.gz was not unpacked: its (member|link) .* (outside|absolute)"):
        unpack(archive, into)
    assert not into.exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "base" / "evil").exists()
    assert not Path("/tmp/evil-absolute-caprl").exists()


def test_a_zip_with_a_member_or_link_landing_outside_is_refused(tmp_path: Path) -> None:
    for name, data in (("climb.zip", _zip_of({"llama-server.exe": b"MZ", "..\\evil.dll": b"owned"})),
                       ("drive.zip", _zip_of({"C:/Windows/evil.dll": b"owned"})),
                       ("link.zip", _zip_of({"llama-server.exe": b"MZ"}, links={"lib.dll": "../../evil"}))):
        archive = _write(tmp_path / name, data)
        with pytest.raises(ArchiveError, match="was not unpacked"):
            unpack(archive, tmp_path / "runtime")
        assert not (tmp_path / "runtime").exists()


def test_special_files_and_hard_links_to_nothing_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        fifo = tarfile.TarInfo("llama-b1/pipe")
        fifo.type = tarfile.FIFOTYPE
        archive.addfile(fifo)
    with pytest.raises(ArchiveError, match="special file"):
        unpack(_write(tmp_path / "fifo.tar.gz", buffer.getvalue()), tmp_path / "a")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        hard = tarfile.TarInfo("llama-b1/libx.so")
        hard.type, hard.linkname = tarfile.LNKTYPE, "llama-b1/not-there"
        archive.addfile(hard)
    with pytest.raises(ArchiveError, match="not a file before it"):
        unpack(_write(tmp_path / "hard.tar.gz", buffer.getvalue()), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_later_archive_cannot_write_through_a_link_an_earlier_one_left(tmp_path: Path) -> None:
    """A link inside the folder is harmless on its own; a second archive's member under it would be written
    wherever it points."""
    outside = tmp_path / "outside"
    outside.mkdir()
    into = tmp_path / "runtime"
    unpack(_write(tmp_path / "one.tar.gz", tar_of({"llama-b1/llama-server": b"x", "llama-b1/lib": "."})), into)
    with pytest.raises(ArchiveError, match="written through the link"):
        unpack(_write(tmp_path / "two.tar.gz", tar_of({"x/lib/evil": b"owned"})), into)
    assert not (into / "evil").exists()


def test_a_damaged_archive_is_said_to_be_one(tmp_path: Path) -> None:
    good = tar_of({"llama-b1/llama-server": b"x" * 100_000})
    archive = _write(tmp_path / "cut.tar.gz", good[: len(good) // 2])
    with pytest.raises(ArchiveError, match=r"cut\.tar\.gz is not a readable archive"):
        unpack(archive, tmp_path / "runtime")
