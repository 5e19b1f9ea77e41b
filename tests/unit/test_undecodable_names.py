"""A file name whose bytes are not UTF-8 (Linux allows any bytes; ``os.fsdecode`` turns them into surrogates):
the run captions it beside the others, and the journal keeps its name exactly, for resuming and for exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import ItemFinished, JobEvent
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.session import resume_job, start_job
from tests.support.fake_engine import FakeEngine, Script
from tests.support.jobs import options

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows names are UTF-16: every byte sequence decodes")

NAME = os.fsdecode(b"\xff\xfe \xe5\x86\x99.png")  # two stray bytes, then a valid 写
BROKEN = os.fsdecode(b"\xe9t\xe9.png")  # Latin-1 "été": a failure must be recorded under it as well


def finished(events: list[JobEvent]) -> dict[str, ItemFinished]:
    return {e.item.path.name: e for e in events if isinstance(e, ItemFinished)}


def test_a_run_captions_a_name_that_is_not_utf8_and_the_journal_keeps_it(tmp_path: Path) -> None:
    engine = FakeEngine(scripts={NAME: Script(pieces=("A sign", " in a street.")),  # (the default repeats the name)
                                 BROKEN: Script(pieces=("x",), error=CaprlError(f"{BROKEN} could not be read"))})
    paths = engine.images(tmp_path / "photos", [NAME, "ok.png", BROKEN])
    items, _ = find_images([tmp_path / "photos"])
    with Journal() as journal, start_job(journal, items, options(), holder="test") as session:
        events = finished(list(session.run(engine)))
        job_id = session.job_id
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "finished"
        assert summary.counts == {"done": 2, "failed": 1}
        records = {r.path: r for r in journal.records(job_id)}
        sidecar = paths[0].with_suffix(".txt")
        assert journal.written_captions([sidecar]) == {sidecar: sidecar.read_text(encoding="utf-8").rstrip("\n")}
    assert events[NAME].record.error == "" and sidecar.exists()
    assert os.fsencode(sidecar.name) == b"\xff\xfe \xe5\x86\x99.txt"
    assert set(records) == {str(p.absolute()) for p in paths}  # the same names, byte for byte
    assert records[str(paths[0].absolute())].file_name == NAME
    assert records[str(paths[2].absolute())].error == f"{BROKEN} could not be read"


def test_a_stopped_run_resumes_the_name_that_is_not_utf8(tmp_path: Path) -> None:
    engine = FakeEngine(scripts={NAME: Script(pieces=("A sign.",))})
    paths = engine.images(tmp_path / "photos", [NAME, "ok.png"])
    items, _ = find_images([tmp_path / "photos"])
    with Journal() as journal:
        with start_job(journal, items, options(), holder="test") as session:
            job_id = session.job_id  # stopped before it ran: both images left
        with resume_job(journal, job_id, holder="test") as resumed:
            assert sorted(i.path for i in resumed.items) == sorted(p.absolute() for p in paths)
            list(resumed.run(engine))
        summary = journal.get(job_id)
        assert summary is not None and summary.status == "finished" and summary.counts == {"done": 2}
    assert paths[0].with_suffix(".txt").exists()
