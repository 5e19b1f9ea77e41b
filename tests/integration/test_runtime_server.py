"""A llama.cpp runtime end to end: a CPU ``llama-server`` built from the llama.cpp that llama-cpp-python vendors,
packed as the release packs it, served by a stand-in release API, installed, chosen and captioning.

The build is made once per machine (``tests/support/llama_server_build.py``, minutes on two cores) and kept in a
cache folder; CI builds it ahead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core import paths
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.export.writers import read_jsonl
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import EngineRestarted, ItemFinished, ItemStarted, ItemText, JobFinished
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import GenerationParams, ImageBudget
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.core.runtimes import store
from caprl_desktop.core.runtimes.catalog import RELEASES_ENV, TAG, Platform, asset_names, fetch_release, this_platform
from caprl_desktop.core.runtimes.choice import local_engine
from caprl_desktop.core.runtimes.engine import RuntimeEngine
from caprl_desktop.core.runtimes.install import install
from caprl_desktop.core.runtimes.store import InstalledRuntime
from caprl_desktop.ui.engines import LocalEngine
from tests.support.cli import REPO
from tests.support.images import save_noise
from tests.support.llama_server_build import BuildUnavailable, build_server
from tests.support.models import ModelFiles, engine_config
from tests.support.runtime_release import ReleaseStandIn, pack_build, tar_of

NAME = f"{TAG}-cpu"
LABEL = f"llama.cpp {TAG} (cpu)"
# Greedy, short, small images: the tiny CapRL 2.0 pair writes a different caption for each image.
GREEDY = ["--temperature", "0", "--max-tokens", "16", "--image-max-tokens", "64", "--threads", "2", "--seed", "1"]


# The first test here builds llama-server from the source llama-cpp-python vendors when this machine has no build
# cached yet (~/.cache/caprl-desktop-tests): minutes on two cores, counted in that test's time.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def where() -> Platform:
    found = this_platform()
    assert found is not None, "the tests run on a computer llama.cpp builds for"
    return found


@pytest.fixture(scope="module")
def cpu_build(where: Platform) -> bytes:
    """The CPU ``llama-server`` as the release's CPU asset for this computer."""
    try:
        folder = build_server()
    except BuildUnavailable as exc:
        pytest.skip(f"no llama-server could be built here: {exc}")
    return pack_build(folder)


@pytest.fixture
def release(cpu_build: bytes, where: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReleaseStandIn]:
    standin = ReleaseStandIn().start()
    standin.add(asset_names(where, "cpu")[0], cpu_build)
    monkeypatch.setenv(RELEASES_ENV, standin.endpoint)
    yield standin
    standin.stop()


@pytest.fixture
def runtime(release: ReleaseStandIn, where: Platform) -> InstalledRuntime:
    return install("cpu", where).runtime


def servers_of(pid: int) -> list[psutil.Process]:
    """The llama-server processes that ``pid`` started (and that still run)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if c.name() == "llama-server" and c.status() != psutil.STATUS_ZOMBIE]


def running(engine: LocalEngine) -> bool:
    return engine.running


def model_args(models: ModelFiles) -> list[str]:
    return ["--model", str(models.model), "--mmproj", str(models.mmproj)]


def test_a_folder_captioned_through_the_runtime_equals_the_built_in_engine(
    release: ReleaseStandIn, qwen3vl_models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Install, use, caption, back to the built-in engine: greedy captions are the same words.

    They cannot always be equal to the byte: a caption cut at ``--max-tokens`` in the middle of a character ends
    in the built-in engine with U+FFFD for the incomplete bytes, where llama-server holds such bytes back until
    the character is whole (and so never sends them); so the runtime's caption is the built-in one, or the
    built-in one without its last U+FFFD."""
    folder = tmp_path / "photos"
    for seed in range(3):
        save_noise(folder / f"img{seed}.png", 320, 256, seed=seed)
    assert main(["runtime", "install", "cpu"]) == 0
    assert "100 %" in capsys.readouterr().err
    assert main(["runtime", "use", NAME]) == 0
    runtime_records = tmp_path / "runtime.jsonl"
    assert main(["caption", str(folder), "--jsonl", str(runtime_records), *GREEDY, *model_args(qwen3vl_models)]) == 0
    err = capsys.readouterr().err
    assert f"· {LABEL} on CPU ·" in err and "Done: 3 captioned." in err
    assert servers_of(os.getpid()) == []  # ended with the run
    made = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))}
    records = {r["file_name"]: r for r in read_jsonl(runtime_records)}
    for record in records.values():
        provenance = record["provenance"]
        assert isinstance(provenance, dict)
        assert provenance["engine"] == LABEL and provenance["engine_model"] == qwen3vl_models.model.name
        assert provenance["model_file"] == qwen3vl_models.model.name and len(provenance["model_sha256"]) == 64
        assert (provenance["backend"], provenance["device"]) == ("CPU", "CPU")
    assert NAME in store.read_choice().proven and store.read_choice().fallback is None  # it has captioned
    logs = list(paths.log_dir().glob("runtime-*.log"))
    assert logs and "listening on http://127.0.0.1:" in logs[0].read_text(encoding="utf-8", errors="replace")

    assert main(["runtime", "use", "builtin"]) == 0
    builtin_records = tmp_path / "builtin.jsonl"
    assert main(["caption", str(folder), "--overwrite", "--jsonl", str(builtin_records), *GREEDY,
                 *model_args(qwen3vl_models)]) == 0
    err = capsys.readouterr().err
    assert LABEL not in err
    for record in read_jsonl(builtin_records):
        provenance = record["provenance"]
        assert isinstance(provenance, dict) and provenance["engine"] is None
        name, builtin = str(record["file_name"]), str(record["caption"])
        assert builtin and records[name]["caption"] in (builtin, builtin.removesuffix("\ufffd")), \
            (name, builtin, records[name]["caption"])
        sidecar = Path(str(record["path"])).with_suffix(".txt")
        text = sidecar.read_text(encoding="utf-8")
        assert made[sidecar.name] in (text, text.replace("\ufffd\n", "\n"))
    assert len(set(made.values())) == 3


def test_the_server_listens_on_this_computer_only_and_answers_only_its_key(
    runtime: InstalledRuntime, qwen3vl_models: ModelFiles, tmp_path: Path
) -> None:
    with RuntimeEngine(runtime, engine_config(qwen3vl_models, parallel=1), log_dir=tmp_path) as engine:
        engine.start()
        server = engine.server
        assert server is not None and server.pid is not None
        pid = server.pid
        models_url = f"http://127.0.0.1:{server.port}/v1/models"
        assert httpx2.get(models_url).status_code == 401
        assert httpx2.get(models_url, headers={"Authorization": f"Bearer {server.key}"}).status_code == 200
        process = psutil.Process(pid)
        assert server.key not in " ".join(process.cmdline())  # (another user could read a command line)
        listening = [c.laddr for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert listening and {address.ip for address in listening} == {"127.0.0.1"}
    assert not psutil.pid_exists(pid)  # ended (and reaped) with the engine


def test_the_runtime_engine_is_what_the_window_keeps_and_counts_tokens_as_the_built_in_one(
    runtime: InstalledRuntime, qwen3vl_models: ModelFiles, tmp_path: Path
) -> None:
    store.use(runtime.name)
    config = engine_config(qwen3vl_models, parallel=1)
    kept: LocalEngine = local_engine(config, log_dir=tmp_path)  # (what ui/engines.RealEngines.local returns)
    text = "A red bicycle leans on a wall. 赤い自転車。"
    with EngineClient(config, log_dir=tmp_path) as builtin:
        builtin.start()
        expected = builtin.count_tokens(text)
    try:
        assert not running(kept)
        kept.start()
        first = kept.pid
        assert running(kept) and first is not None and kept.count_tokens(text) == expected
        kept.start(engine_config(qwen3vl_models, parallel=2))  # the window reloads with other settings
        assert kept.parallel == 2 and kept.pid != first and not psutil.pid_exists(first)
    finally:
        kept.close()
    assert not running(kept)


def test_the_server_killed_mid_run_is_restarted_and_its_image_retried(
    runtime: InstalledRuntime, qwen3vl_models: ModelFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "job"
    for i in range(3):
        save_noise(folder / f"p{i}.png", 160, 120, seed=i)
    items, _ = find_images([folder])
    options = JobOptions(prompt=build_prompt("en"), params=GenerationParams(max_tokens=120, temperature=0.0, seed=1),
                         image_budget=ImageBudget(64), model_label="tiny")
    events = []
    config = engine_config(qwen3vl_models, parallel=1, image_budget=ImageBudget(64))
    killed: list[int] = []
    with RuntimeEngine(runtime, config, log_dir=tmp_path / "logs") as engine:
        engine.start()
        first = engine.server.pid if engine.server else None
        for event in run_job(items, options, engine):
            events.append(event)
            if isinstance(event, ItemText) and event.index == 1 and not killed:
                assert engine.server is not None and engine.server.pid is not None
                killed.append(engine.server.pid)
                os.kill(engine.server.pid, signal.SIGKILL)
        assert engine.server is not None and engine.server.pid not in (None, first)  # a fresh server
    finished = [e for e in events if isinstance(e, ItemFinished)]
    assert sorted(e.item.file_name for e in finished) == ["p0.png", "p1.png", "p2.png"]  # each once
    assert all(e.ok for e in finished)
    restarts = [e for e in events if isinstance(e, EngineRestarted)]
    assert len(restarts) == 1 and f"the runtime's server ({LABEL}) stopped (signal 9" in restarts[0].reason
    # The image in flight when the server died (p1, unless p1 was made whole before the kill landed and p2 was
    # in flight) is started again after the restart and finished there; every other image is started once.
    started = [e.index for e in events if isinstance(e, ItemStarted)]
    [retried] = [index for index in set(started) if started.count(index) == 2]
    assert len(started) == 4 and retried in (1, 2)
    restart = events.index(restarts[0])
    assert next(e.index for e in events[restart:] if isinstance(e, ItemStarted)) == retried
    assert any(isinstance(e, ItemFinished) and e.index == retried for e in events[restart:])
    summary = events[-1]
    assert isinstance(summary, JobFinished) and (summary.captioned, summary.failed) == (3, 0)
    assert all((folder / f"p{i}.txt").read_text(encoding="utf-8").strip() for i in range(3))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_app_killed_mid_run_leaves_no_server_running(
    runtime: InstalledRuntime, qwen3vl_models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.use(runtime.name)
    folder = tmp_path / "many"
    for i in range(6):
        save_noise(folder / f"m{i}.png", 160, 120, seed=i)
    app = subprocess.Popen(
        [sys.executable, "-m", "caprl_desktop.cli.main", "caption", str(folder), "--max-tokens", "400",
         "--image-max-tokens", "64", "--threads", "2", "--parallel", "1", *model_args(qwen3vl_models)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    with app:
        assert app.stderr is not None
        for line in app.stderr:  # once it says which engine loaded, the server runs and captions begin
            if line.startswith("Model: "):
                break
        servers = servers_of(app.pid)
        assert len(servers) == 1 and LABEL in line
        app.kill()
        app.wait()
    _, alive = psutil.wait_procs(servers, timeout=10)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for process in alive:
        process.kill()
    assert not alive, "llama-server outlived the app killed with SIGKILL"
    # The run resumes through the runtime and captions what the killed one left, each image once.
    done_before = {p.name for p in folder.glob("*.txt")}
    assert main(["caption", "--resume", "--max-tokens", "8", *model_args(qwen3vl_models)]) == 0
    err = capsys.readouterr().err
    assert "Resuming" in err and f"· {LABEL} on CPU ·" in err
    assert sorted(p.name for p in folder.glob("*.txt")) == [f"m{i}.txt" for i in range(6)]
    assert f"Done: {6 - len(done_before)} captioned." in err


def broken_build(tag: str) -> bytes:
    """A runtime whose server cannot start, as a driver too old for its build would leave it."""
    script = b"#!/bin/sh\necho 'error: this build cannot run here (ggml_cuda_init failed)' >&2\nexit 1\n"
    return tar_of({f"llama-{tag}/": b"", f"llama-{tag}/llama-server": script})


def test_an_update_that_cannot_start_rolls_back_to_the_runtime_before_it(
    runtime: InstalledRuntime, qwen3vl_models: ModelFiles, where: Platform, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    store.use(runtime.name)
    store.captioned(runtime.name)  # the runtime in use has captioned before
    newer = ReleaseStandIn("b99999").start()
    try:
        newer.add(asset_names(where, "cpu", "b99999")[0], broken_build("b99999"))
        update = install("cpu", where, tag="b99999", release=fetch_release("b99999", newer.endpoint))
    finally:
        newer.stop()
    assert update.replaces == runtime.name and store.read_choice().chosen == "b99999-cpu"
    folder = tmp_path / "photos"
    save_noise(folder / "a.png", seed=1)
    records = tmp_path / "records.jsonl"
    assert main(["caption", str(folder), "--jsonl", str(records), *GREEDY, *model_args(qwen3vl_models)]) == 0
    err = capsys.readouterr().err
    assert "warning: llama.cpp b99999 (cpu) could not start (llama.cpp b99999 (cpu) stopped before it was ready " \
           "(exit code 1): error: this build cannot run here (ggml_cuda_init failed)); went back to " \
           f"{LABEL}, which was in use before it" in err
    [record] = read_jsonl(records)
    assert isinstance(record["provenance"], dict) and record["provenance"]["engine"] == LABEL
    choice = store.read_choice()
    assert choice.chosen == runtime.name and "b99999-cpu" in choice.failed
    assert runtime.folder.is_dir()  # never removed: the update never captioned


def test_a_first_runtime_that_cannot_start_rolls_back_to_the_built_in_engine(
    release: ReleaseStandIn, where: Platform, qwen3vl_models: ModelFiles, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    release.assets[asset_names(where, "cpu")[0]] = broken_build(TAG)
    assert main(["runtime", "install", "cpu"]) == 0
    assert main(["runtime", "use", NAME]) == 0
    folder = tmp_path / "photos"
    save_noise(folder / "a.png", seed=1)
    records = tmp_path / "records.jsonl"
    capsys.readouterr()
    assert main(["caption", str(folder), "--jsonl", str(records), *GREEDY, *model_args(qwen3vl_models)]) == 0
    err = capsys.readouterr().err
    assert f"could not start ({LABEL} stopped before it was ready (exit code 1)" in err
    assert "went back to the built-in engine" in err and "Done: 1 captioned." in err
    [record] = read_jsonl(records)
    assert isinstance(record["provenance"], dict) and record["provenance"]["engine"] is None
    assert store.read_choice().chosen is None
    assert main(["runtime", "list"]) == 0
    assert f"could not start: {LABEL} stopped before it was ready" in capsys.readouterr().out
