"""Provenance: filled per job and per caption, exported (JSON Lines nested, CSV "full" flat), journaled (and an
older journal migrated), and model checksums computed once and then read from the store or the cache."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from caprl_desktop import __version__
from caprl_desktop.core.engine.backend import BackendInfo, DeviceInfo
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.export.provenance import PROVENANCE_COLUMNS, Provenance
from caprl_desktop.core.export.writers import (
    COLUMNS,
    FULL_COLUMNS,
    CaptionRecord,
    read_csv,
    read_jsonl,
    record_from_json,
    write_records,
)
from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.core.jobs.events import ItemFinished
from caprl_desktop.core.jobs.journal import SCHEMA_VERSION, Journal, journaled
from caprl_desktop.core.jobs.provenance import device_of
from caprl_desktop.core.jobs.scheduler import run_job
from caprl_desktop.core.models import checksums, downloads
from caprl_desktop.core.models.files import ModelPairInfo
from caprl_desktop.core.models.store import InstalledFile, ModelStore
from caprl_desktop.core.params import GenerationParams, ImageBudget
from tests.support.fake_engine import FakeEngine
from tests.support.jobs import options

CPU = BackendInfo(gpu_offload=False, devices=(), system_info="")
GPU = BackendInfo(gpu_offload=True, devices=(DeviceInfo("CUDA", "CUDA0", "NVIDIA GeForce RTX 4070", "gpu", 12 << 30,
                                                      10 << 30),), system_info="")


def engine_info(model: Path, mmproj: Path, backend: BackendInfo = CPU, gpu_layers: int = 0) -> EngineInfo:
    pair = ModelPairInfo(model, mmproj, "qwen2vl", "CapRL 3B", 2048, "qwen2.5vl_merger", model.stat().st_size,
                         mmproj.stat().st_size, True)
    return EngineInfo(pair, backend, "CPU", gpu_layers, 36, 4096, 2, ImageBudget(64), 0.1, parallel=1)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "weights" / "CapRL-3B.Q4_K_M.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF model bytes")
    mmproj = model.with_name("CapRL-3B.mmproj-f16.gguf")
    mmproj.write_bytes(b"GGUF projector bytes")
    return model, mmproj


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file hashed, in order (the real hashing still runs)."""
    calls: list[Path] = []
    real = downloads.sha256_of

    def counting(path: Path, meter: object = None) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(downloads, "sha256_of", counting)
    return calls


def caption_folder(tmp_path: Path, engine: FakeEngine, seed: int | None = 5) -> list[ItemFinished]:
    engine.images(tmp_path / "pics", ["a.png", "b.png"])
    items, _ = find_images([tmp_path / "pics"])
    job = run_job(items, options(params=GenerationParams(max_tokens=16, seed=seed, temperature=0.7)), engine)
    return [e for e in job if isinstance(e, ItemFinished)]


def test_each_record_carries_the_job_and_its_caption(tmp_path: Path, pair: tuple[Path, Path],
                                                     hashed: list[Path]) -> None:
    model, mmproj = pair
    engine = FakeEngine(info=engine_info(model, mmproj))
    finished = caption_folder(tmp_path, engine)
    assert len(finished) == 2
    for event in finished:
        p = event.record.provenance
        assert p is not None and event.stats is not None
        assert p.app_version == __version__
        assert (p.model_file, p.model_family, p.model_quant) == (model.name, "CapRL-3B", "Q4_K_M")
        assert p.model_sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
        assert p.projector_sha256 == hashlib.sha256(mmproj.read_bytes()).hexdigest()
        assert p.model_path == str(model) and p.projector_file == mmproj.name
        assert (p.backend, p.device) == ("CPU", "CPU")
        assert p.system_prompt == options().prompt.system and p.preset == "detailed"
        assert (p.temperature, p.max_tokens, p.requested_seed, p.seed) == (0.7, 16, 5, event.stats.seed)
        assert (p.image_tokens, p.image_width, p.image_height) == (
            event.stats.image_tokens, event.stats.image_width, event.stats.image_height)
        assert p.finish_reason == "stop" and p.image_max_tokens == options().image_budget.max_tokens
    # Hashed once per file for the whole job, not per caption.
    assert sorted(hashed) == sorted([model.resolve(), mmproj.resolve()])


def test_an_engine_without_a_report_gives_records_without_provenance(tmp_path: Path) -> None:
    finished = caption_folder(tmp_path, FakeEngine())
    assert [e.record.provenance for e in finished] == [None, None]


def test_the_device_names_the_gpu_only_when_layers_run_on_it() -> None:
    assert device_of(GPU, -1) == ("CUDA", "CUDA: NVIDIA GeForce RTX 4070")
    assert device_of(GPU, 0) == ("CPU", "CPU")
    assert device_of(CPU, -1) == ("CPU", "CPU")


def test_a_file_given_by_path_is_hashed_once_then_again_only_when_it_changes(
        pair: tuple[Path, Path], hashed: list[Path]) -> None:
    model, _ = pair
    first = checksums.file_sha256(model)
    assert checksums.file_sha256(model) == first  # a second run: from the cache
    assert hashed == [model.resolve()]
    assert str(model.resolve()) in json.loads(checksums.cache_path().read_text(encoding="utf-8"))
    model.write_bytes(b"GGUF another model, longer")
    assert checksums.file_sha256(model) != first
    assert len(hashed) == 2


def test_an_installed_file_uses_the_checksum_recorded_at_install(pair: tuple[Path, Path],
                                                                 hashed: list[Path]) -> None:
    model, _ = pair
    store = ModelStore()
    store.record(InstalledFile("m", "model", model.name, str(model), model.stat().st_size, "ab" * 32, "local",
                               family="caprl-3b", quant="Q4_K_M"))
    assert checksums.file_sha256(model, store) == "ab" * 32
    assert hashed == []


def provenance(seed: int = 7) -> Provenance:
    return Provenance("1.0", "m.gguf", "/m/m.gguf", "CapRL-3B", "Q4_K_M", "aa", "p.gguf", "/m/p.gguf", "bb", "CPU",
                      "CPU", "detailed", "Sys", 64, None, 0.7, 1.0, 1.0, 16, None, 1).with_caption(
        seed=seed, image_tokens=64, image_width=224, image_height=224, prompt_tokens=30, finish_reason="stop",
        image_encode_ms=12.345, prompt_ms=3.0, decode_ms=40.0)


def record(name: str, prov: Provenance | None) -> CaptionRecord:
    return CaptionRecord(name, "a cat", "en", "Describe.", "m.gguf", 0.5, 9, "", f"/pics/{name}", prov)


def test_exports_hold_the_provenance(tmp_path: Path) -> None:
    records = [record("a.png", provenance()), record("b.png", None)]
    write_records(tmp_path / "plain.csv", "csv", records)
    assert tuple(read_csv(tmp_path / "plain.csv")[0]) == COLUMNS  # today's columns unless asked
    write_records(tmp_path / "full.csv", "csv", records, csv_columns="full")
    rows = read_csv(tmp_path / "full.csv")
    assert tuple(rows[0]) == FULL_COLUMNS and set(PROVENANCE_COLUMNS) <= set(FULL_COLUMNS)
    assert (rows[0]["seed"], rows[0]["model_sha256"], rows[0]["image_encode_ms"]) == ("7", "aa", "12.3")
    assert rows[1]["seed"] == "" and rows[1]["caption"] == "a cat"
    write_records(tmp_path / "out.jsonl", "jsonl", records)
    lines = read_jsonl(tmp_path / "out.jsonl")
    assert lines[0]["provenance"] == provenance().to_dict() and lines[1]["provenance"] is None
    assert [record_from_json(line) for line in lines] == records  # read back whole, for replay
    with pytest.raises(ValueError, match="not a CapRL Desktop caption record"):
        record_from_json({"file_name": "x"})


def test_the_journal_keeps_each_caption_provenance_for_exports_of_the_whole_run(
        tmp_path: Path, pair: tuple[Path, Path]) -> None:
    engine = FakeEngine(info=engine_info(*pair))
    engine.images(tmp_path / "pics", ["a.png", "b.png"])
    items, _ = find_images([tmp_path / "pics"])
    with Journal() as journal:
        job_id = journal.create(items, options())
        made = [e for e in journaled(run_job(items, options(), engine), journal, job_id) if isinstance(e, ItemFinished)]
        assert [r.provenance for r in journal.records(job_id)] == [e.record.provenance for e in made]
        assert all(r.provenance is not None and r.provenance.seed is not None for r in journal.records(job_id))


def test_a_version_1_journal_gains_the_provenance_column_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE jobs (id INTEGER PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, status TEXT NOT NULL,
            pid INTEGER, pid_started REAL, host TEXT, roots TEXT NOT NULL, options TEXT NOT NULL);
        CREATE TABLE items (job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
            path TEXT NOT NULL, root TEXT NOT NULL, state TEXT NOT NULL, caption TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '', seconds REAL, output_tokens INTEGER, sidecar TEXT,
            PRIMARY KEY (job_id, seq));
        PRAGMA user_version=1;
    """)
    from caprl_desktop.core.jobs.journal import options_to_json
    db.execute("INSERT INTO jobs VALUES (1, 'x', 'x', 'finished', NULL, NULL, NULL, '[\"/pics\"]', ?)",
               (options_to_json(options()),))
    db.execute("INSERT INTO items VALUES (1, 0, '/pics/a.png', '/pics', 'done', 'old caption', '', 1.0, 3, NULL)")
    db.commit()
    db.close()
    with Journal(path) as journal:
        [old] = journal.records(1)
        assert (old.caption, old.provenance) == ("old caption", None)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert "provenance" in {row[1] for row in db.execute("PRAGMA table_info(items)")}
    db.close()
