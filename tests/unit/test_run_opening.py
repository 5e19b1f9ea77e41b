"""One place opens a run for both faces (``core/jobs/opening.py``): which starts first, the engine or the session;
how the records name the model; and what a resume changes, the same from the command line and the window."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from caprl_desktop.cli import arguments
from caprl_desktop.cli.main import build_parser
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.opening import (
    NewRun,
    OnServers,
    OnThisComputer,
    Resume,
    ResumeChanges,
    ServedEngine,
    open_run,
)
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import CaptionEngine
from caprl_desktop.core.jobs.session import JobSession, NothingToResumeError
from caprl_desktop.core.prompts import build_prompt
from caprl_desktop.core.settings import CaptionSettings
from caprl_desktop.ui.caption_worker import LocalModel, RunRequest
from tests.support.fake_engine import FakeEngine
from tests.support.fake_engines import FakeEngines, FakeServers
from tests.support.jobs import options

MODEL, MMPROJ = Path("/models/CapRL-3B.Q4_K_M.gguf"), Path("/models/CapRL-3B.mmproj-Q8_0.gguf")


def stopped_run(folder: Path, run: JobOptions) -> int:
    items, _ = find_images(FakeEngine().images(folder, ["a.png", "b.png"]))
    with Journal() as journal:
        job = journal.create(items, run)
        journal.set_status(job, "stopped")
    return job


def here(order: list[str], fails: bool = False) -> OnThisComputer:
    @contextlib.contextmanager
    def start(options: JobOptions) -> Iterator[CaptionEngine]:
        if fails:
            raise EngineError("the model file is damaged")
        order.append(f"engine for {options.model_label}")
        yield FakeEngine()

    return OnThisComputer(MODEL, start)


def servers(order: list[str], *, model: str = "served") -> OnServers:
    @contextlib.contextmanager
    def start() -> Iterator[ServedEngine]:
        engine = FakeServers(FakeEngines(served_model=model), (Server("http://127.0.0.1:9/v1"),))
        engine.start()
        order.append("servers")
        yield engine

    return OnServers(start)


def test_both_faces_send_the_same_resume(tmp_path: Path) -> None:
    run = options(prompt=build_prompt("ja", "short"))
    job = stopped_run(tmp_path / "photos", run)
    out = tmp_path / "captions"
    cli = arguments.resume_changes(build_parser().parse_args(["jobs", "resume", str(job), "--output-dir", str(out)]))
    items, _ = find_images([tmp_path / "photos"])
    window = RunRequest(items, CaptionSettings(language="en"), LocalModel(MODEL, MMPROJ), job_id=job,
                        caption_folder=str(out)).to_open()
    assert isinstance(window, Resume) and window.job_id == job
    assert window.changes == cli == ResumeChanges(caption_folder=out)

    expected = dataclasses.replace(run, caption_folder=str(out.absolute()), model_label=MODEL.name)
    for face in (Resume(job, cli), window):
        with Journal() as journal, open_run(journal, face, here([]), holder="test") as opened:
            assert opened.session.job_id == job and opened.session.options == expected
        with Journal() as journal:
            summary = journal.get(job)
        assert summary is not None and summary.options == expected and summary.resumable


def test_an_engine_here_starts_once_the_session_holds_the_run_and_servers_before_it(tmp_path: Path) -> None:
    items, _ = find_images(FakeEngine().images(tmp_path, ["a.png"]))
    for start, expected, label in ((here, ["session", f"engine for {MODEL.name}"], MODEL.name),
                                   (servers, ["servers", "session"], "served")):
        order: list[str] = []

        def held(session: JobSession, order: list[str] = order) -> None:
            order.append("session")

        with Journal() as journal, open_run(journal, NewRun(items, CaptionSettings()), start(order), holder="test",
                                            opened=held) as opened:
            assert order == expected and opened.session.options.model_label == label


def test_servers_that_name_no_model_are_recorded_as_server(tmp_path: Path) -> None:
    items, _ = find_images(FakeEngine().images(tmp_path, ["a.png"]))
    with Journal() as journal, open_run(journal, NewRun(items, CaptionSettings()), servers([], model=""),
                                        holder="test") as opened:
        assert opened.session.options.model_label == "server"


def test_a_run_that_cannot_be_resumed_any_more_starts_anew_for_the_window_and_is_refused_on_the_command_line(
    tmp_path: Path
) -> None:
    job = stopped_run(tmp_path / "gone", options(prompt=build_prompt("ja", "short")))
    items, _ = find_images([tmp_path / "gone"])
    with Journal() as journal:
        journal.forget(job)
    with Journal() as journal, pytest.raises(NothingToResumeError, match=f"there is no job {job}"), open_run(
            journal, Resume(job), here([]), holder="test"):
        pass
    window = Resume(job, only=tuple(i.path for i in items), otherwise=NewRun(items, CaptionSettings(language="en")))
    with Journal() as journal, open_run(journal, window, here([]), holder="test") as opened:
        assert opened.session.options.prompt.language == "en"  # a new run, with the window's choices
        assert [i.path for i in opened.session.items] == [i.path for i in items]


def test_an_engine_that_does_not_start_leaves_the_run_stopped_and_resumable(tmp_path: Path) -> None:
    items, _ = find_images(FakeEngine().images(tmp_path, ["a.png"]))
    opened: list[int] = []
    with Journal() as journal, pytest.raises(EngineError, match="damaged"), open_run(
            journal, NewRun(items, CaptionSettings()), here([], fails=True), holder="test",
            opened=lambda session: opened.append(session.job_id)):
        pass
    with Journal() as journal:
        summary = journal.get(opened[0])
    assert summary is not None and summary.status == "stopped" and summary.resumable


def test_a_resume_changes_only_what_is_given() -> None:
    run = CaptionSettings(temperature=0.7, seed=3, max_tokens=100, metadata="xmp").job_options("m")
    assert ResumeChanges().apply(run) == run
    changed = ResumeChanges(max_tokens=500, top_p=0.9, metadata_existing="replace", model_label="n").apply(run)
    assert (changed.params.max_tokens, changed.params.top_p, changed.params.temperature, changed.params.seed) == (
        500, 0.9, 0.7, 3)
    assert (changed.metadata, changed.metadata_existing, changed.model_label) == ("xmp", "replace", "n")
    assert changed.prompt == run.prompt and changed.caption_folder == run.caption_folder
