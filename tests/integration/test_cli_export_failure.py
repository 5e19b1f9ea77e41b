"""An export that fails mid-run ends the command with its sentence, the job stopped and resumable, and nothing
left for the garbage collector to write into a closed journal ("Exception ignored … closed database")."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from caprl_desktop.cli import caption_command
from caprl_desktop.cli.main import main
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.export.writers import CaptionRecord, open_exporter
from caprl_desktop.core.jobs.journal import Journal
from tests.support.cli import fast_args, model_args
from tests.support.images import save_noise
from tests.support.models import ModelFiles


def test_an_export_failing_mid_run_stops_the_job_cleanly(
    models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    for i in range(3):
        save_noise(folder / f"p{i}.jpg", seed=i)
    class Failing:
        """The real exporter, whose second row fails as a disk that went away would."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.real = open_exporter(*args, **kwargs)
            self.rows = 0

        def write(self, record: CaptionRecord) -> None:
            self.rows += 1
            if self.rows == 2:
                raise CaprlError("the export's disk went away")
            self.real.write(record)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    monkeypatch.setattr(caption_command, "open_exporter", Failing)
    code = main(["caption", str(folder), "--csv", str(tmp_path / "o.csv"), *fast_args(), *model_args(models)])
    gc.collect()  # an unclosed job would write to the closed journal now (pytest makes that an error)
    assert code != 0
    assert "the export's disk went away" in capsys.readouterr().err
    with Journal() as journal:
        [job] = journal.jobs()
        assert job.status == "stopped" and job.resumable
