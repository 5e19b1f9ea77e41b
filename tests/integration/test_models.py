"""The model manager against a hub stand-in on 127.0.0.1: listing, fit advice, download, resume, faults, store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.cli.model_choice import choose_model
from caprl_desktop.core.errors import CaprlError, ModelFileError
from caprl_desktop.core.models import downloads
from caprl_desktop.core.models.catalog import RemoteFile, bundled_catalog, family, recognise
from caprl_desktop.core.models.downloads import (
    ChecksumMismatchError,
    DownloadCancelled,
    DownloadError,
    DownloadProgress,
    NotEnoughSpaceError,
    download_file,
    part_path,
)
from caprl_desktop.core.models.fit import MemoryBudget, advise, recommend
from caprl_desktop.core.models.hub import HubClient, HubError, HubUnreachableError, fetch_catalog
from caprl_desktop.core.models.hub_problem import HubProblem
from caprl_desktop.core.models.install import add_local, install, plan_install
from caprl_desktop.core.models.store import ModelStore
from tests.support.cli import fast_args
from tests.support.hub_standin import COMMIT, IMATRIX, QWEN3VL_2B, QWEN3VL_4B, STATIC, HubStandIn
from tests.support.images import save_noise
from tests.support.models import HubFiles, ModelFiles

FAST = fast_args(max_tokens=8, seed=1234)  # unseeded, the random-weight model can say nothing


def client(hub: HubStandIn) -> HubClient:
    return HubClient(endpoint=hub.endpoint)


def big_quant(hub: HubStandIn) -> tuple[RemoteFile, Path]:
    """The several-MB "Q8_0" as the hub lists it, and where the store puts it."""
    big = fetch_catalog(family(), client(hub)).find_model("Q8_0")
    assert big is not None
    return big, ModelStore().destination(big)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- catalog ----------------------------------------------------------------------------------


def test_catalog_lists_and_recognises_both_repos(hub: HubStandIn, hub_files: HubFiles) -> None:
    catalog = fetch_catalog(family(), client(hub))
    assert catalog.from_hub and catalog.revisions == {STATIC: COMMIT, IMATRIX: COMMIT}
    assert [m.label for m in catalog.models] == ["Q4_K_M", "Q8_0", "i1-IQ2_M", "i1-Q4_K_M"]
    assert [p.quant for p in catalog.projectors] == ["Q8_0", "f16"]  # smallest first; README, imatrix.dat ignored
    q4 = catalog.find_model("q4_k_m")
    assert q4 is not None and q4.sha256 == sha(hub_files.model) and q4.size == len(hub_files.model)
    i1 = catalog.find_model("i1-Q4_K_M")
    assert i1 is not None and i1.imatrix and i1.repo == IMATRIX
    assert catalog.find_model("Q4_K_M", imatrix=True) == i1
    assert catalog.find_model("Q6_K") is None


@pytest.mark.parametrize(
    ("repo", "name", "expected"),
    [
        (STATIC, "CapRL-3B.Q4_K_M.gguf", ("model", "Q4_K_M", False)),
        (STATIC, "CapRL-3B.IQ4_XS.gguf", ("model", "IQ4_XS", False)),
        (STATIC, "CapRL-3B.f16.gguf", ("model", "f16", False)),
        (STATIC, "CapRL-3B.mmproj-Q8_0.gguf", ("mmproj", "Q8_0", False)),
        (IMATRIX, "CapRL-3B.i1-IQ1_S.gguf", ("model", "IQ1_S", True)),
        (IMATRIX, "CapRL-3B.i1-Q4_K_M.gguf", ("model", "Q4_K_M", True)),
        (STATIC, "CapRL-3B.Q8_0-00001-of-00002.gguf", None),
        (STATIC, "Other-7B.Q4_K_M.gguf", None),  # another model's file in the listing
        (STATIC, "CapRL-3B.imatrix.dat", None),
    ],
)
def test_recognise_caprl_3b_names(repo: str, name: str, expected: object) -> None:
    assert recognise(family(), repo, name) == expected


def test_other_families_are_data_recognised_from_their_listing() -> None:
    qwen3 = family("caprl-qwen3vl-2b")
    assert qwen3.imatrix_repo is None
    assert recognise(qwen3, qwen3.static_repo, "CapRL-Qwen3VL-2B-Q4_K_M.gguf") == ("model", "Q4_K_M", False)
    assert recognise(qwen3, qwen3.static_repo, "mmproj-CapRL-Qwen3VL-2B-F16.gguf") == ("mmproj", "F16", False)
    assert recognise(qwen3, qwen3.static_repo, "README.md") is None


@pytest.mark.parametrize(
    ("name", "quants", "projectors"),
    [
        ("2b", ["Q4_K_M"], ["Q8_0", "F16"]),  # Name-Q4_K_M.gguf, mmproj-Name-F16.gguf: two projectors
        ("caprl-qwen3vl-4b", ["q4_k_m", "q8_0"], ["f16"]),  # name-q4_k_m.gguf, mmproj-model-f16.gguf
    ],
)
def test_caprl_2_families_are_read_from_their_own_listing(hub: HubStandIn, name: str, quants: list[str],
                                                          projectors: list[str]) -> None:
    chosen = family(name)
    catalog = fetch_catalog(chosen, client(hub))
    assert catalog.from_hub and catalog.note == ""
    assert [m.quant for m in catalog.models] == quants and [p.quant for p in catalog.projectors] == projectors
    assert {f.repo for f in (*catalog.models, *catalog.projectors)} == {chosen.static_repo}
    assert catalog.find_model("Q4_K_M") is not None  # however the file spells it


def test_cli_downloads_a_caprl_2_model_with_its_own_projector_and_captions_with_it(
    hub: HubStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "download", "--family", "2b", "--yes"]) == 0
    assert "Installed Q4_K_M (default)" in capsys.readouterr().err
    assert main(["models", "download", "q4_k_m", "--family", "caprl-qwen3vl-4b", "--yes", "--no-default"]) == 0
    capsys.readouterr()
    store = ModelStore()
    pairs = {m.family: store.pair_for(m) for m in store.models()}
    assert pairs["caprl-qwen3vl-2b"].mmproj.filename == "mmproj-CapRL-Qwen3VL-2B-Q8_0.gguf"  # the default precision
    assert pairs["caprl-qwen3vl-4b"].mmproj.filename == "mmproj-model-f16.gguf"  # its own repo's, the one there
    assert {p.mmproj.repo for p in pairs.values()} == {QWEN3VL_2B, QWEN3VL_4B}
    # Both families have a Q4_K_M: the quant alone is ambiguous, the family in front says which.
    assert main(["models", "use", "Q4_K_M"]) == 2
    assert "say which: 2b:Q4_K_M or 4b:q4_k_m" in capsys.readouterr().err
    assert main(["models", "use", "4b:Q4_K_M"]) == 0
    assert store.default_id() == f"{QWEN3VL_4B}/caprl-qwen3vl-4b-q4_k_m.gguf"
    assert main(["models", "use", "caprl-qwen3vl-2b:q4_k_m"]) == 0
    capsys.readouterr()

    photo = save_noise(tmp_path / "photo.png")
    assert main(["caption", str(photo), "--lang", "en", *FAST]) == 0
    captured = capsys.readouterr()
    assert "Model: CapRL-Qwen3VL-2B-Q4_K_M.gguf + mmproj-CapRL-Qwen3VL-2B-Q8_0.gguf" in captured.err


def test_a_repository_without_a_projector_is_refused_with_the_reason(
    hub: HubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    del hub.repos[QWEN3VL_4B]["mmproj-model-f16.gguf"]
    assert main(["models", "list", "--remote", "--family", "4b"]) == 0
    assert f"{QWEN3VL_4B} lists no vision projector" in capsys.readouterr().out
    assert main(["models", "download", "--family", "4b", "--yes"]) == 2
    assert f"{QWEN3VL_4B} lists no vision projector (mmproj)" in capsys.readouterr().err
    assert ModelStore().models() == []


def test_remote_list_shows_every_family_with_its_description(hub: HubStandIn,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--remote"]) == 0
    out = capsys.readouterr().out
    for key, short in (("caprl-3b", "3b"), ("caprl-qwen3vl-2b", "2b"), ("caprl-qwen3vl-4b", "4b")):
        chosen = family(key)
        header = next(line for line in out.splitlines() if line.startswith(f"== {chosen.label} "))
        assert f"--family {short}" in header and chosen.card in header and chosen.base_model in header
    with pytest.raises(SystemExit) as exited:
        main(["models", "download", "--family", "9b"])
    assert exited.value.code == 2 and "unknown model family '9b'" in capsys.readouterr().err


def test_unreachable_hub_falls_back_to_the_bundled_list() -> None:
    catalog = fetch_catalog(family(), HubClient(endpoint="http://127.0.0.1:9"))
    assert not catalog.from_hub
    assert "cannot be reached" in catalog.note
    assert catalog.problem is HubProblem.NO_CONNECTION and "ConnectError" in catalog.detail
    assert catalog.find_model("Q4_K_M") is not None and catalog.find_projector("f16") is not None
    assert all(m.sha256 is None for m in catalog.models)  # nothing to verify against: no downloads from it


@pytest.mark.parametrize("telemetry", [None, "0"])
def test_only_listings_are_requested(hub: HubStandIn, tmp_path: Path, telemetry: str | None) -> None:
    """huggingface-hub fetches an agent registry for its telemetry unless told not to (the app tells it)."""
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf")}
    if telemetry is not None:
        env["HF_HUB_DISABLE_TELEMETRY"] = telemetry  # the user's own choice wins
    script = "from caprl_desktop.core.models.catalog import family; from caprl_desktop.core.models.hub import " \
             "HubClient, fetch_catalog; fetch_catalog(family(), HubClient())"
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    listings = {f"/api/models/{STATIC}", f"/api/models/{IMATRIX}"}
    if telemetry is None:
        assert {r.path for r in hub.log} == listings
    else:
        assert {r.path for r in hub.log} > listings  # proves the check can see the telemetry request


def test_offline_mode_makes_no_request(hub: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    catalog = fetch_catalog(family(), client(hub))
    assert not catalog.from_hub and "Offline mode is on" in catalog.note
    assert catalog.problem is HubProblem.OFFLINE_MODE
    assert hub.log == []


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers: a hub that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_each_kind_of_hub_failure_is_named(hub: HubStandIn, silent_server: str) -> None:
    """The window says these in the user's language from the kind; the command line keeps the sentence."""
    with pytest.raises(HubUnreachableError) as refused:
        HubClient(endpoint="http://127.0.0.1:9").list_repo(STATIC)
    assert refused.value.problem is HubProblem.NO_CONNECTION and refused.value.problem.offline
    with pytest.raises(HubUnreachableError) as slow:
        HubClient(endpoint=silent_server, timeout=0.5).list_repo(STATIC)
    assert slow.value.problem is HubProblem.TIMEOUT and "did not answer in time" in str(slow.value)
    hub.faults.garbled_listing.add(STATIC)
    with pytest.raises(HubError) as portal:
        client(hub).list_repo(STATIC)
    assert portal.value.problem is HubProblem.NOT_THE_HUB and portal.value.problem.offline
    with pytest.raises(HubError) as missing:
        client(hub).list_repo("nobody/none")
    assert missing.value.problem is HubProblem.NOT_FOUND and not missing.value.problem.offline


def test_a_download_stopped_by_the_hub_carries_the_kind(hub: HubStandIn) -> None:
    big, dest = big_quant(hub)
    hub.faults.status[big.filename] = 403
    with pytest.raises(DownloadError, match="HTTP 403") as info:
        download_file(client(hub), big, dest)
    assert info.value.problem is HubProblem.HUB_ERROR


def test_missing_repo_and_missing_file_give_clear_messages(hub: HubStandIn) -> None:
    with pytest.raises(HubError, match=r"nobody/none was not found"):
        client(hub).list_repo("nobody/none")
    catalog = fetch_catalog(family(), client(hub))
    q4 = catalog.find_model("Q4_K_M")
    assert q4 is not None
    del hub.repos[STATIC][q4.filename]  # listed a moment ago, gone now
    with pytest.raises(DownloadError, match=r"CapRL-3B.Q4_K_M.gguf is not in mradermacher/CapRL-3B-GGUF"):
        download_file(client(hub), q4, ModelStore().destination(q4))


def test_a_page_that_is_not_the_hub_gives_a_clear_message(hub: HubStandIn) -> None:
    hub.faults.garbled_listing.add(IMATRIX)
    with pytest.raises(HubError, match=r"the answer from http://127.0.0.1:\d+ could not be read"):
        client(hub).list_repo(IMATRIX)
    catalog = fetch_catalog(family(), client(hub))  # the static repo alone still installs
    assert catalog.from_hub and "could not be read" in catalog.note
    assert catalog.problem is HubProblem.NOT_THE_HUB
    assert [m.label for m in catalog.models] == ["Q4_K_M", "Q8_0"]


# --- fit advice -------------------------------------------------------------------------------

GB = 1_000_000_000


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (MemoryBudget("GPU memory (CUDA: test)", 24 * GB, gpu=True), "Q8_0"),  # capped below f16
        (MemoryBudget("GPU memory (CUDA: test)", 6 * GB, gpu=True), "Q8_0"),
        (MemoryBudget("GPU memory (CUDA: test)", int(4.5 * GB), gpu=True), "Q4_K_M"),
        (MemoryBudget("GPU memory (CUDA: test)", 4 * GB, gpu=True), "Q3_K_S"),
        (MemoryBudget("RAM", 32 * GB, gpu=False), "Q4_K_M"),  # CPU: speed caps the size
        (MemoryBudget("RAM", None, gpu=False), "Q4_K_M"),  # unknown machine
        (MemoryBudget("RAM", 1 * GB, gpu=False), "Q2_K"),  # nothing fits: the smallest
    ],
)
def test_recommendation_for_given_memory(budget: MemoryBudget, expected: str) -> None:
    catalog = bundled_catalog(family())
    advice = advise(catalog, budget, catalog.find_projector("Q8_0"), n_ctx=3328)
    best = recommend(catalog, advice, budget)
    assert best is not None and best.label == expected


def test_fit_verdicts_count_projector_kv_cache_and_buffers() -> None:
    catalog = bundled_catalog(family())
    budget = MemoryBudget("GPU memory (CUDA: test)", 5 * GB, gpu=True)
    advice = {a.file.label: a for a in advise(catalog, budget, catalog.find_projector("Q8_0"), n_ctx=4096)}
    q4 = advice["Q4_K_M"]
    assert q4.needed == 1_930_000_000 + 850_000_000 + 4096 * 36864 + 800_000_000
    assert q4.verdict == "fits"  # 3.73 GB: within 85 % of 5 GB
    assert advice["Q6_K"].verdict == "tight"  # 4.40 GB
    assert advice["Q8_0"].verdict == "too big"  # 5.09 GB
    unknown = advise(catalog, MemoryBudget("RAM", None, gpu=False), None, 4096)
    assert {a.verdict for a in unknown} == {"unknown"}


# --- downloads --------------------------------------------------------------------------------


def test_install_reports_progress_verifies_and_records(hub: HubStandIn, hub_files: HubFiles) -> None:
    store = ModelStore()
    catalog = fetch_catalog(family(), client(hub))
    plan = plan_install(catalog, store, "Q8_0")
    assert [f.filename for f in plan.downloads] == ["CapRL-3B.mmproj-Q8_0.gguf", "CapRL-3B.Q8_0.gguf"]
    events: list[DownloadProgress] = []
    hub.faults.bytes_per_second = 15_000_000  # loopback is too fast to see progress otherwise
    model = install(plan, catalog, store, client(hub), on_progress=events.append)

    big = [e for e in events if e.filename == "CapRL-3B.Q8_0.gguf"]
    downloading = [e.done for e in big if e.phase == "downloading"]
    assert downloading == sorted(downloading) and downloading[-1] == len(hub_files.big)
    assert len(downloading) >= 3  # reported while it came, not only at the end
    assert [e.phase for e in big][-1] == "verifying" and big[-1].done == big[-1].total
    assert any(e.bytes_per_second for e in big)

    pair = store.default_pair()
    assert pair is not None and pair.model == model
    assert pair.model_path.read_bytes() == hub_files.big
    assert pair.model.sha256 == sha(hub_files.big) and pair.model.revision == COMMIT
    assert pair.mmproj.label == "mmproj-Q8_0"
    assert not list(store.root.rglob("*.part*"))
    manifest = json.loads(store.manifest_path.read_text(encoding="utf-8"))
    assert manifest["default"] == f"{STATIC}/CapRL-3B.Q8_0.gguf"

    # A second quant reuses the projector: only the model is downloaded.
    plan2 = plan_install(fetch_catalog(family(), client(hub)), store, "Q4_K_M", imatrix=True)
    assert [f.filename for f in plan2.downloads] == ["CapRL-3B.i1-Q4_K_M.gguf"]


def test_dropped_connection_resumes_within_the_call(hub: HubStandIn, hub_files: HubFiles) -> None:
    big, dest = big_quant(hub)
    hub.faults.drop_after[big.filename] = [2_500_000, 5_000_000]
    download_file(client(hub), big, dest)
    assert dest.read_bytes() == hub_files.big
    ranges = [r.range for r in hub.downloads_of(big.filename)]
    assert ranges[0] is None and len(ranges) == 3
    starts = [int(r.removeprefix("bytes=").rstrip("-")) for r in ranges[1:] if r]
    assert 0 < starts[0] <= 2_500_000 < starts[1] <= 5_000_000  # continued, not restarted


def test_cancel_keeps_the_part_and_the_next_download_continues(hub: HubStandIn, hub_files: HubFiles) -> None:
    big, dest = big_quant(hub)
    hub.faults.bytes_per_second = 4_000_000
    cancel = threading.Event()

    def on_progress(event: DownloadProgress) -> None:
        if event.done > 1_000_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="kept"):
        download_file(client(hub), big, dest, on_progress=on_progress, cancel=cancel)
    kept = part_path(dest).stat().st_size
    assert 1_000_000 < kept < len(hub_files.big) and not dest.exists()

    hub.faults.bytes_per_second = None
    events: list[DownloadProgress] = []
    download_file(client(hub), big, dest, on_progress=events.append)
    assert hub.downloads_of(big.filename)[-1].range == f"bytes={kept}-"
    assert events[0].resumed_from == kept
    assert dest.read_bytes() == hub_files.big


def test_server_ignoring_range_restarts_cleanly(hub: HubStandIn, hub_files: HubFiles) -> None:
    big, dest = big_quant(hub)
    hub.faults.drop_after[big.filename] = [3_000_000]
    hub.faults.ignore_range.add(big.filename)
    download_file(client(hub), big, dest)
    assert dest.read_bytes() == hub_files.big


def test_corrupted_body_is_rejected_and_deleted(hub: HubStandIn) -> None:
    store = ModelStore()
    catalog = fetch_catalog(family(), client(hub))
    hub.faults.corrupt.add("CapRL-3B.Q4_K_M.gguf")
    plan = plan_install(catalog, store, "Q4_K_M")
    with pytest.raises(ChecksumMismatchError, match=r"sha256 does not match.*deleted"):
        install(plan, catalog, store, client(hub))
    dest = store.destination(plan.model)
    assert not dest.exists() and not part_path(dest).exists()
    assert store.models() == []  # the projector came through and is recorded; the model is not
    assert [p.label for p in store.projectors()] == ["mmproj-Q8_0"]


def test_server_errors_end_in_a_message_and_keep_the_bytes(hub: HubStandIn) -> None:
    big, dest = big_quant(hub)
    hub.faults.drop_after[big.filename] = [2_000_000]
    hub.faults.bytes_per_second = 10_000_000

    def server_breaks(event: DownloadProgress) -> None:
        if event.done >= 1_000_000:
            hub.faults.status[big.filename] = 500  # every retry after the drop fails

    with pytest.raises(DownloadError, match=r"HTTP 500.*kept") as info:
        download_file(client(hub), big, dest, on_progress=server_breaks)
    assert "\n" not in str(info.value) and big.filename in str(info.value)  # one sentence naming the file
    assert part_path(dest).stat().st_size > 0 and not dest.exists()
    assert len(hub.downloads_of(big.filename)) == 1 + 5  # the first request, then five retries


def test_not_enough_disk_space_is_refused_before_downloading(
    hub: HubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ModelStore()
    catalog = fetch_catalog(family(), client(hub))
    plan = plan_install(catalog, store, "Q8_0")
    monkeypatch.setattr(downloads, "free_space", lambda folder: 10 << 20)
    with pytest.raises(NotEnoughSpaceError, match=r"Not enough disk space.*needed.*free"):
        install(plan, catalog, store, client(hub))
    assert not any(r.path.endswith(".gguf") for r in hub.log)


def test_second_downloader_of_the_same_file_is_told(hub: HubStandIn) -> None:
    big, dest = big_quant(hub)
    hub.faults.bytes_per_second = 2_000_000
    started = threading.Event()
    cancel = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            download_file(client(hub), big, dest, on_progress=lambda e: started.set(), cancel=cancel)
        except DownloadCancelled as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    try:
        with pytest.raises(DownloadError, match="already being downloaded"):
            download_file(client(hub), big, dest)
    finally:
        cancel.set()
        thread.join(10)
    assert errors and isinstance(errors[0], DownloadCancelled)


# --- store ------------------------------------------------------------------------------------


def test_damaged_manifest_is_rebuilt_from_the_files(hub: HubStandIn) -> None:
    store = ModelStore()
    catalog = fetch_catalog(family(), client(hub))
    install(plan_install(catalog, store, "Q4_K_M"), catalog, store, client(hub))
    store.manifest_path.write_text('{"files": [', encoding="utf-8")
    pair = ModelStore().default_pair()
    assert pair is not None and pair.model.label == "Q4_K_M" and pair.mmproj.label == "mmproj-Q8_0"
    assert list(store.root.glob("manifest.json.broken-*"))


def test_add_remove_and_missing_files(models: ModelFiles, tmp_path: Path) -> None:
    store = ModelStore()
    with pytest.raises(ModelFileError, match=r"swapped|projector"):
        add_local(store, models.mmproj, models.model)
    added = add_local(store, models.model, models.mmproj)
    assert added.sha256 == sha(models.model.read_bytes()) and added.source == "local"
    pair = store.default_pair()
    assert pair is not None and pair.model_path == models.model.resolve()
    lines = store.remove(added)
    assert all("left in place" in line for line in lines) and models.model.exists()
    assert store.default_pair() is None

    copy = tmp_path / "copy.gguf"
    copy.write_bytes(models.model.read_bytes())
    add_local(store, copy, models.mmproj)
    copy.unlink()
    with pytest.raises(ModelFileError, match="is gone"):
        store.default_pair()


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def lm_studio(tmp_path: Path, models: ModelFiles) -> Path:
    """A folder as LM Studio keeps one: the model, its projector named after it, and another projector."""
    folder = tmp_path / "LM Studio"
    folder.mkdir()
    shutil.copy(models.model, folder / "tiny.gguf")
    shutil.copy(models.mmproj, folder / "tiny.mmproj.gguf")
    shutil.copy(models.mmproj, folder / "mmproj-other-f16.gguf")
    return folder


def test_model_file_without_mmproj_finds_the_projector_beside_it(
    lm_studio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line takes the same projector the window's local-files dialog finds."""
    assert choose_model(str(lm_studio / "tiny.gguf"), None, assume_yes=False) == (
        lm_studio / "tiny.gguf", lm_studio / "tiny.mmproj.gguf")
    assert main(["models", "add", str(lm_studio / "tiny.gguf")]) == 0
    assert "Added tiny.gguf with tiny.mmproj.gguf" in capsys.readouterr().out
    pair = ModelStore().default_pair()
    assert pair is not None and pair.mmproj_path == (lm_studio / "tiny.mmproj.gguf").resolve()

    (lm_studio / "tiny.mmproj.gguf").unlink()
    (lm_studio / "mmproj-more-f16.gguf").write_bytes((lm_studio / "mmproj-other-f16.gguf").read_bytes())
    (lm_studio / "alone.gguf").write_bytes((lm_studio / "tiny.gguf").read_bytes())
    with pytest.raises(CaprlError, match=r"no vision projector for alone.gguf was found beside it.*--mmproj"):
        choose_model(str(lm_studio / "alone.gguf"), None, assume_yes=False)  # two others: no one answer
    assert main(["models", "add", str(lm_studio / "alone.gguf")]) == 2
    assert "--mmproj FILE" in capsys.readouterr().err



def test_cli_download_then_caption_with_no_other_flags(
    hub: HubStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = save_noise(tmp_path / "photo.jpg")
    assert main(["caption", str(photo), *FAST]) == 2
    assert "caprl-desktop models download" in capsys.readouterr().err

    assert main(["models", "download", "Q4_K_M"]) == 0
    err = capsys.readouterr().err
    assert "Installed Q4_K_M (default)" in err

    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "* Q4_K_M" in listed and "CapRL-3B.mmproj-Q8_0.gguf" in listed

    assert main(["caption", str(photo), "--lang", "en", *FAST]) == 0
    captured = capsys.readouterr()
    assert "Model: CapRL-3B.Q4_K_M.gguf + CapRL-3B.mmproj-Q8_0.gguf" in captured.err
    assert captured.out.strip()


def test_cli_remote_list_use_path_and_remove(hub: HubStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list", "--remote"]) == 0
    out = capsys.readouterr().out
    assert "Q4_K_M" in out and "i1-IQ2_M" in out and "recommended" in out and "fits" in out

    assert main(["models", "download", "Q4_K_M", "--imatrix"]) == 0
    assert main(["models", "download", "Q4_K_M", "--mmproj", "f16", "--no-default"]) == 0
    capsys.readouterr()
    store = ModelStore()
    assert store.default_id() == f"{IMATRIX}/CapRL-3B.i1-Q4_K_M.gguf"

    assert main(["models", "use", "q4_k_m"]) == 0
    assert store.default_id() == f"{STATIC}/CapRL-3B.Q4_K_M.gguf"
    assert main(["models", "path", "Q4_K_M"]) == 0
    model_path, mmproj_path = capsys.readouterr().out.split()[-2:]
    assert Path(model_path).name == "CapRL-3B.Q4_K_M.gguf" and Path(mmproj_path).name == "CapRL-3B.mmproj-f16.gguf"

    assert main(["models", "remove", "Q4_K_M"]) == 0
    out = capsys.readouterr().out
    assert "deleted" in out and "CapRL-3B.mmproj-f16.gguf" in out  # its projector had no other user
    assert not Path(model_path).exists() and not Path(mmproj_path).exists()
    assert store.default_id() == f"{IMATRIX}/CapRL-3B.i1-Q4_K_M.gguf"
    assert main(["models", "use", "Q6_K"]) == 2
    assert "No installed model called 'Q6_K'" in capsys.readouterr().err


def test_caption_yes_downloads_the_recommended_quant(
    hub: HubStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = save_noise(tmp_path / "photo.png")
    assert main(["caption", str(photo), "--yes", *FAST]) == 0
    err = capsys.readouterr().err
    assert "Recommended for this machine" in err and "Q4_K_M" in err  # no GPU here: the CPU ceiling


def test_offline_after_install(
    hub: HubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "download", "Q4_K_M"]) == 0
    hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    photo = save_noise(tmp_path / "photo.jpg")
    capsys.readouterr()
    assert main(["caption", str(photo), *FAST]) == 0
    assert main(["models", "list"]) == 0
    assert "Q4_K_M" in capsys.readouterr().out
    assert main(["models", "download", "Q8_0"]) == 2
    assert "offline" in capsys.readouterr().err.lower()


@pytest.mark.slow
def test_killed_download_resumes_where_it_stopped(hub: HubStandIn, hub_files: HubFiles, tmp_path: Path) -> None:
    hub.faults.bytes_per_second = 3_000_000
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "caprl_desktop.cli.main", "models", "download", "Q8_0"]
    store = ModelStore()
    dest = store.root / "mradermacher--CapRL-3B-GGUF" / "CapRL-3B.Q8_0.gguf"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if part_path(dest).exists() and part_path(dest).stat().st_size > 2_000_000:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the download never got going")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(10)
    kept = part_path(dest).stat().st_size
    assert not dest.exists() and kept < len(hub_files.big)
    assert store.models() == []  # nothing half-installed is recorded

    hub.faults.bytes_per_second = None
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "continuing from" in result.stderr
    assert hub.downloads_of("CapRL-3B.Q8_0.gguf")[-1].range == f"bytes={kept}-"
    assert dest.read_bytes() == hub_files.big
    pair = ModelStore().default_pair()
    assert pair is not None and pair.model.label == "Q8_0"
