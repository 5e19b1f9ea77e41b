"""Installing runtimes from a stand-in release API: the asset list, progress, resume, the sha256 check, unsafe
archives, the CUDA runtime beside its build, updates kept until they have captioned, and the CLI."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core.models import downloads
from caprl_desktop.core.models.downloads import ChecksumMismatchError, DownloadError, DownloadProgress
from caprl_desktop.core.runtimes import store
from caprl_desktop.core.runtimes.archives import ArchiveError
from caprl_desktop.core.runtimes.catalog import (
    RELEASES_ENV,
    TAG,
    Platform,
    ReleaseError,
    asset_names,
    fetch_release,
    parse_release,
)
from caprl_desktop.core.runtimes.install import install
from tests.support.runtime_release import ReleaseStandIn, tar_of

LINUX = Platform("linux", "x64")
CPU_ASSET = f"llama-{TAG}-bin-ubuntu-x64.tar.gz"
SERVER = b"#!/bin/sh\necho not a real server\n" + random.Random(0).randbytes(300_000)  # progress moves


def build(tag: str = TAG, server: bytes = SERVER) -> bytes:
    return tar_of({f"llama-{tag}/": b"", f"llama-{tag}/llama-server": server, f"llama-{tag}/libllama.so.0": b"lib",
                   f"llama-{tag}/libllama.so": "libllama.so.0"})


@pytest.fixture
def release(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReleaseStandIn]:
    standin = ReleaseStandIn().start()
    monkeypatch.setenv(RELEASES_ENV, standin.endpoint)
    monkeypatch.setattr(downloads, "_BACKOFF_SCALE", 0.01)
    yield standin
    standin.stop()


def test_asset_names_follow_the_release_workflow() -> None:
    assert asset_names(LINUX, "cpu", "b1") == ("llama-b1-bin-ubuntu-x64.tar.gz",)
    assert asset_names(LINUX, "cuda-12", "b1") == ("llama-b1-bin-ubuntu-cuda-12.8-x64.tar.gz",
                                                   "cudart-llama-b1-bin-ubuntu-cuda-12.8-x64.tar.gz")
    windows = Platform("windows", "x64")
    # Windows' CUDA runtime archive has no tag in its name.
    assert asset_names(windows, "cuda-13", "b1") == ("llama-b1-bin-win-cuda-13.4-x64.zip",
                                                     "cudart-llama-bin-win-cuda-13.4-x64.zip")
    assert asset_names(windows, "cuda-12", "b1")[1] == "cudart-llama-bin-win-cuda-12.4-x64.zip"
    assert asset_names(Platform("macos", "arm64"), "metal", "b1") == ("llama-b1-bin-macos-arm64.tar.gz",)
    with pytest.raises(ReleaseError,
                       match=r"no metal build for Linux x64 \(there: cpu, cuda-12, cuda-13, vulkan, hip\)"):
        asset_names(LINUX, "metal")


def test_the_asset_list_comes_from_the_release_api_with_digests(release: ReleaseStandIn) -> None:
    digest = release.add(CPU_ASSET, build())
    listed = fetch_release()
    [asset] = listed.pick(LINUX, "cpu")
    assert (asset.name, asset.size, asset.sha256) == (CPU_ASSET, len(build()), digest)
    assert asset.url == f"{release.endpoint}/download/{TAG}/{CPU_ASSET}"
    with pytest.raises(ReleaseError, match=f"release {TAG} does not list llama-{TAG}-bin-ubuntu-vulkan-x64.tar.gz"):
        listed.pick(LINUX, "vulkan")
    with pytest.raises(ReleaseError, match=r"release b1 was not found at http://127\.0\.0\.1"):
        fetch_release("b1")
    nameless = parse_release("b2", {"assets": [{"name": "a.tar.gz", "size": 1, "browser_download_url": "http://x/a",
                                                "digest": None}]})
    assert nameless.assets["a.tar.gz"].sha256 is None


def test_an_unreachable_release_server_is_said_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RELEASES_ENV, "http://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(ReleaseError, match=r"^the release server cannot be reached \(http://127.0.0.1:9/repos/"):
        fetch_release()


def test_install_shows_progress_and_lays_the_runtime_out(release: ReleaseStandIn) -> None:
    release.add(CPU_ASSET, build())
    events: list[DownloadProgress] = []
    done = install("cpu", LINUX, on_progress=events.append)
    runtime = done.runtime
    assert runtime.name == f"{TAG}-cpu" and runtime.folder == store.runtimes_dir() / f"{TAG}-cpu"
    assert runtime.server.read_bytes() == SERVER and (runtime.folder / "libllama.so").is_symlink()
    manifest = json.loads((runtime.folder / "runtime.json").read_text())
    assert manifest["assets"][0]["name"] == CPU_ASSET and len(manifest["assets"][0]["sha256"]) == 64
    assert {e.phase for e in events} == {"downloading", "verifying"}
    assert events[0].done == 0 and events[-1].done == events[-1].total == len(build())
    assert not list((store.runtimes_dir() / ".downloads").glob("*.tar.gz*"))  # unpacked, so deleted
    assert [r.name for r in store.installed()] == [runtime.name]
    assert install("cpu", LINUX).already


def test_a_dropped_connection_resumes_from_the_last_byte(release: ReleaseStandIn) -> None:
    data = build()
    release.add(CPU_ASSET, data)
    release.drop_after[CPU_ASSET] = [len(data) // 3]
    install("cpu", LINUX)
    ranges = [r.range for r in release.downloads_of(CPU_ASSET)]
    assert ranges == [None, f"bytes={len(data) // 3}-"]


def test_a_cancelled_install_keeps_what_was_fetched_for_the_next(
    release: ReleaseStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = build()
    release.add(CPU_ASSET, data)
    cancel = threading.Event()

    def stop_half_way(event: DownloadProgress) -> None:
        if event.done >= len(data) // 2:
            cancel.set()

    monkeypatch.setattr(downloads, "_REPORT_EVERY", 0.0)  # every piece reported: the cancel comes half way
    with pytest.raises(downloads.DownloadCancelled, match="are kept and the next download continues"):
        install("cpu", LINUX, on_progress=stop_half_way, cancel=cancel)
    kept = downloads.part_path(store.runtimes_dir() / ".downloads" / CPU_ASSET).stat().st_size
    assert kept >= len(data) // 2
    install("cpu", LINUX)
    assert release.downloads_of(CPU_ASSET)[-1].range == f"bytes={kept}-"


def test_a_body_with_another_digest_is_refused_and_nothing_is_unpacked(release: ReleaseStandIn) -> None:
    release.add(CPU_ASSET, build())
    release.digests[CPU_ASSET] = "sha256:" + "0" * 64
    with pytest.raises(ChecksumMismatchError, match=r"does not match the one llama\.cpp's release gives"):
        install("cpu", LINUX)
    root = store.runtimes_dir()
    assert sorted(p.name for p in root.iterdir()) == [".downloads"]  # no runtime, no staging folder
    assert not [p for p in (root / ".downloads").iterdir() if p.name != ".locks"]  # the bad body deleted too
    assert store.installed() == []


def test_an_archive_with_members_outside_is_refused_and_nothing_installed(
    release: ReleaseStandIn, tmp_path: Path
) -> None:
    release.add(CPU_ASSET, tar_of({f"llama-{TAG}/llama-server": b"x", f"llama-{TAG}/../../../escaped": b"owned"}))
    with pytest.raises(ArchiveError, match=r"would land outside the runtime's folder"):
        install("cpu", LINUX)
    assert store.installed() == []
    assert not list(tmp_path.rglob("escaped"))
    assert sorted(p.name for p in store.runtimes_dir().iterdir()) == [".downloads"]


def test_an_archive_without_the_server_is_not_installed(release: ReleaseStandIn) -> None:
    release.add(CPU_ASSET, tar_of({f"llama-{TAG}/README.md": b"nothing here"}))
    with pytest.raises(ArchiveError, match=f"{CPU_ASSET} holds no llama-server; nothing was installed"):
        install("cpu", LINUX)
    assert store.installed() == []


def test_a_cuda_build_gets_its_cuda_runtime_beside_it(release: ReleaseStandIn) -> None:
    main_asset, cudart = asset_names(LINUX, "cuda-12")
    release.add(main_asset, tar_of({f"llama-{TAG}/llama-server": SERVER, f"llama-{TAG}/libggml-cuda.so": b"c"}))
    release.add(cudart, tar_of({f"{cudart.removesuffix('.tar.gz')}/libcudart.so.12": b"rt"}))
    runtime = install("cuda-12", LINUX).runtime
    assert sorted(p.name for p in runtime.folder.iterdir()) == ["libcudart.so.12", "libggml-cuda.so",
                                                               "llama-server", "runtime.json"]
    assert runtime.size == sum(len(d) for d in release.assets.values())


def test_an_update_of_the_runtime_in_use_is_used_and_the_old_kept_until_it_has_captioned(
    release: ReleaseStandIn,
) -> None:
    release.add(CPU_ASSET, build())
    old = install("cpu", LINUX).runtime
    store.use(old.name)
    store.captioned(old.name)
    newer = ReleaseStandIn("b99999").start()
    try:
        newer.add("llama-b99999-bin-ubuntu-x64.tar.gz", build("b99999"))
        done = install("cpu", LINUX, tag="b99999", release=fetch_release("b99999", newer.endpoint))
    finally:
        newer.stop()
    assert done.replaces == old.name
    choice = store.read_choice()
    assert (choice.chosen, choice.fallback, choice.replaces) == ("b99999-cpu", old.name, old.name)
    assert old.folder.is_dir()  # kept: the new one has not captioned yet
    assert store.captioned("b99999-cpu") == old.name
    assert not old.folder.exists() and [r.name for r in store.installed()] == ["b99999-cpu"]


def test_a_runtime_that_cannot_start_before_it_captioned_gives_its_place_back(release: ReleaseStandIn) -> None:
    release.add(CPU_ASSET, build())
    runtime = install("cpu", LINUX).runtime
    assert store.use(runtime.name).fallback == store.BUILTIN
    assert store.roll_back(runtime.name, "exit code 1") == store.BUILTIN
    choice = store.read_choice()
    assert choice.chosen is None and choice.failed == {runtime.name: "exit code 1"}
    store.use(runtime.name)
    store.captioned(runtime.name)
    assert store.roll_back(runtime.name, "exit code 1") is None  # proven: no rollback, the error is said
    assert store.read_choice().chosen == runtime.name


def test_the_command_line_installs_lists_uses_and_removes(
    release: ReleaseStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    release.add(CPU_ASSET, build())
    assert main(["runtime", "install", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert f"Downloading {CPU_ASSET}" in err and "100 %" in err
    assert f"Installed {TAG}-cpu" in out and f"caprl-desktop runtime use {TAG}-cpu" in out
    assert main(["runtime", "list"]) == 0
    out = capsys.readouterr().out
    assert "In use: the built-in engine (builtin)" in out
    assert f"{TAG}-cpu " in out and "cpu                CPU, " in out and "(installed)" in out
    assert main(["runtime", "use", f"{TAG}-cpu"]) == 0
    assert "the built-in engine stays the one to go back to" in capsys.readouterr().out
    assert main(["runtime", "remove", f"{TAG}-cpu"]) == 2
    assert "is the runtime in use; choose another first" in capsys.readouterr().err
    assert main(["runtime", "use", "nothing-such"]) == 2
    assert "no runtime named 'nothing-such' is installed" in capsys.readouterr().err
    assert main(["runtime", "use", "builtin"]) == 0
    assert main(["runtime", "remove", f"{TAG}-cpu"]) == 0
    assert store.installed() == [] and not (store.runtimes_dir() / f"{TAG}-cpu").exists()


def test_install_from_a_release_server_that_fails_says_why_and_keeps_nothing_half_done(
    release: ReleaseStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runtime", "install", "vulkan"]) == 2
    assert f"does not list llama-{TAG}-bin-ubuntu-vulkan-x64.tar.gz" in capsys.readouterr().err
    release.add(CPU_ASSET, build())
    release.drop_after[CPU_ASSET] = [100] * 10  # it keeps dropping: the tries run out
    with pytest.raises(DownloadError, match=r"the server cannot be reached .* are kept; downloading again"):
        install("cpu", LINUX)
    assert store.installed() == []
