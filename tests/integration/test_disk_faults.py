"""Read-only folders and full disks, end to end: a clear stop, nothing made is lost, resume saves it.

Two kinds of test.  Injected faults (always run): the OS call that creates a file is made to fail with
EACCES or ENOSPC for one folder, after a set number of successes, so the failure lands exactly mid-run.
Real faults (where the kernel lets an unprivileged test make its own mount namespace, as on CI's Linux):
a read-only bind mount and a tiny tmpfs that really fills up, with the real CLI in a subprocess.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from caprl_desktop.cli.main import main
from caprl_desktop.core import atomic
from caprl_desktop.core.engine.client import EngineClient
from caprl_desktop.core.export.writers import read_csv
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import ItemFinished, JobFinished
from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import build_prompt
from tests.support.cli import REPO, fast_args, model_args
from tests.support.faults import fail_writes
from tests.support.images import save_noise
from tests.support.models import TEST_BUDGET, ModelFiles

FAST = fast_args(seed=7)


def folder_of(tmp_path: Path, name: str = "scans", count: int = 3) -> list[Path]:
    return [save_noise(tmp_path / name / f"p{i}.jpg", seed=i) for i in range(count)]


def test_folder_turning_read_only_mid_run_keeps_the_caption_and_resume_saves_it_elsewhere(
    models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    images = folder_of(tmp_path)
    folder = images[0].parent
    # The folder probe and p0's caption succeed; p1's caption is made, then its write is refused.
    fail_writes(monkeypatch, folder, errno.EACCES, after=2)
    first_csv = tmp_path / "first.csv"
    code = main(["caption", str(folder), "--csv", str(first_csv), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"no permission to write in {folder}" in err
    assert "caption --resume --output-dir" in err
    assert (folder / "p0.txt").exists() and not (folder / "p1.txt").exists() and not (folder / "p2.txt").exists()
    rows = {r["file_name"].removeprefix("scans/"): r for r in read_csv(first_csv)}  # (named from the CSV's folder)
    assert set(rows) == {"p0.jpg", "p1.jpg"}  # p2 was not captioned in vain
    made = rows["p1.jpg"]["caption"]
    assert made and rows["p1.jpg"]["error"].startswith("caption made but not saved")
    with Journal() as journal:
        [job] = journal.jobs()
    assert (job.status, job.counts) == ("stopped", {"done": 1, "unsaved": 1, "pending": 1})

    out = tmp_path / "captions"
    resumed_csv = tmp_path / "resumed.csv"
    code = main(["caption", "--resume", "--output-dir", str(out), "--csv", str(resumed_csv), "--threads", "2",
                 *model_args(models)])
    assert code == 0, capsys.readouterr().err
    assert (out / "scans" / "p1.txt").read_bytes().decode() == made.rstrip() + "\n"  # the caption made, saved
    assert (out / "scans" / "p2.txt").exists()
    assert not (out / "scans" / "p0.txt").exists()  # done before, beside its image
    rows = {r["file_name"].removeprefix("scans/"): r for r in read_csv(resumed_csv)}
    assert sorted(rows) == ["p0.jpg", "p1.jpg", "p2.jpg"] and not any(r["error"] for r in rows.values())
    assert rows["p1.jpg"]["seconds"] == ""  # saved, not captioned a second time
    with Journal() as journal:
        [job] = journal.jobs()
    assert job.status == "finished" and job.left == 0


def test_full_disk_is_found_before_any_caption_is_made(
    models: ModelFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = folder_of(tmp_path)[0].parent
    free = atomic._open_temp
    calls = fail_writes(monkeypatch, folder, errno.ENOSPC)
    code = main(["caption", str(folder), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"the disk holding {folder} is full" in err and "Free some space" in err
    assert calls() == 1  # one probe, no caption attempted
    with Journal() as journal:
        [job] = journal.jobs()
    assert job.counts == {"pending": 3} and job.resumable

    monkeypatch.setattr(atomic, "_open_temp", free)  # space freed
    assert main(["caption", "--resume", "--threads", "2", *model_args(models)]) == 0
    assert all((folder / f"p{i}.txt").exists() for i in range(3))


def test_a_name_too_long_for_its_sidecar_fails_alone(
    models: ModelFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "long"
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    # Two images with one stem: the second's sidecar is its whole name plus .txt, one byte over the limit.
    stem = "長" * ((limit - 7) // 3) + "x" * ((limit - 7) % 3)
    first = save_noise(folder / f"{stem}.jpg", seed=1)
    second = save_noise(folder / f"{stem}.png", seed=2)
    assert len(second.name.encode()) == limit - 3
    save_noise(folder / "z.jpg", seed=3)
    code = main(["caption", str(folder), *FAST, *model_args(models)])
    err = capsys.readouterr().err
    assert code == 1
    assert first.with_suffix(".txt").exists() and (folder / "z.txt").exists()  # the job went on
    assert "too long for this disk" in err
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- real faults in a private mount namespace ----------------------------------------------------------


def _namespaces_work() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null"
                            " || mount -t tmpfs -o size=64k tmpfs /tmp"], capture_output=True)
    return probe.returncode == 0


real_mounts = pytest.mark.skipif(not _namespaces_work(), reason="needs unshare -rm (user + mount namespaces)")


def in_namespace(script: str, *args: str | Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``args`` as $1… in a private mount namespace; paths travel as arguments, never text."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CAPRL_PY": sys.executable, **env_vars}
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


@real_mounts
def test_real_read_only_mount_stops_at_once_and_resumes_into_an_output_folder(
    models: ModelFiles, tmp_path: Path
) -> None:
    folder = folder_of(tmp_path, "card")[0].parent
    out = tmp_path / "out"
    script = """
        mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" || exit 99
        dir="$1"; out="$2"; shift 2
        "$CAPRL_PY" -m caprl_desktop.cli.main caption "$dir" "$@" 2>&1; echo "first exit $?"
        "$CAPRL_PY" -m caprl_desktop.cli.main caption --resume --output-dir "$out" "$@" 2>&1; echo "second exit $?"
    """
    result = in_namespace(script, folder, out, *FAST, *model_args(models))
    log = result.stdout + result.stderr
    assert "first exit 1" in log and "second exit 0" in log, log
    assert f"{folder} is on a read-only disk" in log
    assert sorted(p.name for p in folder.iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]  # nothing written there
    assert sorted(p.name for p in (out / "card").iterdir()) == ["p0.txt", "p1.txt", "p2.txt"]


@real_mounts
def test_real_disk_filling_up_mid_run_keeps_every_caption(models: ModelFiles, tmp_path: Path) -> None:
    sources = folder_of(tmp_path, "src")
    kept = tmp_path / "kept"
    # A 1 MiB tmpfs holding the images, then filled; shrinking the filler frees two 4 KiB pages: room for
    # two sidecars, so the third image's caption meets a really full disk after it is made.
    script = """
        disk="$1"; kept="$2"; shift 2
        mkdir -p "$disk" && mount -t tmpfs -o size=1m tmpfs "$disk" || exit 99
        mkdir "$disk/photos" && cp "$SRC"/*.jpg "$disk/photos/"
        head -c 2m /dev/zero > "$disk/filler" 2>/dev/null
        truncate -s -8192 "$disk/filler"
        "$CAPRL_PY" -m caprl_desktop.cli.main caption "$disk/photos" "$@" 2>&1; echo "first exit $?"
        rm "$disk/filler"
        "$CAPRL_PY" -m caprl_desktop.cli.main caption --resume "$@" 2>&1; echo "second exit $?"
        cp -r "$disk/photos" "$kept"
    """
    result = in_namespace(script, tmp_path / "disk", kept, *FAST, *model_args(models), SRC=str(sources[0].parent))
    log = result.stdout + result.stderr
    assert "first exit 1" in log and "second exit 0" in log, log
    assert "the disk is full; p2.txt was not written" in log
    assert sorted(p.name for p in kept.iterdir()) == ["p0.jpg", "p0.txt", "p1.jpg", "p1.txt", "p2.jpg", "p2.txt"]
    for sidecar in kept.glob("*.txt"):
        assert sidecar.read_text(encoding="utf-8").strip()


def test_a_made_caption_that_cannot_be_saved_for_its_own_reason_does_not_stop_the_rest(
    live_engine: EngineClient, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    stem = "x" * (limit - 6)
    long_png = save_noise(folder / f"{stem}.png", seed=1)  # its sidecar, "<stem>.png.txt", is one byte too long
    save_noise(folder / f"{stem}.jpg", seed=2)  # takes "<stem>.txt"
    plain = save_noise(folder / "plain.jpg", seed=3)
    items = [i for i in find_images([folder])[0] if i.path != folder / f"{stem}.jpg"]
    options = JobOptions(prompt=build_prompt("en"), params=GenerationParams(max_tokens=8, seed=1),
                         image_budget=TEST_BUDGET, model_label="tiny")
    events = list(run_job(items, options, live_engine, made={long_png: "made before"}))
    finished = {e.item.path: e for e in events if isinstance(e, ItemFinished)}
    # Failed with its caption kept in the record; not "unsaved": saving it again would fail the same way.
    assert not finished[long_png].unsaved and "too long" in finished[long_png].record.error
    assert finished[long_png].record.caption == "made before"
    assert finished[plain].ok and plain.with_suffix(".txt").exists()  # the job went on
    summary = events[-1]
    assert isinstance(summary, JobFinished) and (summary.captioned, summary.failed) == (1, 1)
