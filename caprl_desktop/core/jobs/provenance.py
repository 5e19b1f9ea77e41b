"""A job's ``Provenance``: filled once from what the engine loaded and the job's options.

The checksums come from the model store or the checksum cache (``core/models/checksums.py``), so only the
first job on a file given by path pays for hashing it. Each caption then adds its own seed, image size and
timings (``caption_provenance``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caprl_desktop import __version__
from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.reports import CaptionStats, EngineInfo
from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.jobs.options import JobOptions
from caprl_desktop.core.models.catalog import families, family, family_of_repo, recognise
from caprl_desktop.core.models.checksums import file_sha256, installed_entry


def device_of(backend: BackendInfo, gpu_layers: int) -> tuple[str, str]:
    """(backend, device): ("CUDA", "CUDA: NVIDIA GeForce RTX 4070") when layers run on a GPU, else ("CPU", "CPU")."""
    if backend.gpu_offload and backend.gpus and gpu_layers != 0:
        gpu = backend.gpus[0]
        return gpu.backend, f"{gpu.backend}: {gpu.description or gpu.name}"
    return "CPU", "CPU"


def model_identity(path: Path, gguf_name: str) -> tuple[str, str]:
    """(family, quant) of a model file: as installed, else from its file name, else the name the GGUF gives."""
    entry = installed_entry(path)
    if entry is not None and entry.quant:
        known = family_of_repo(entry.repo) if entry.repo else None
        return (known.label if known is not None else entry.family or gguf_name), entry.label
    default = family()
    found = recognise(default, default.static_repo, path.name)
    if found is not None:
        _, quant, imatrix = found
        return default.label, f"i1-{quant}" if imatrix else quant
    return gguf_name, ""


def job_provenance(info: EngineInfo, options: JobOptions) -> Provenance:
    model, mmproj = info.model.model_path, info.model.mmproj_path
    model_family, quant = model_identity(model, info.model.name)
    backend, device = device_of(info.backend, info.gpu_layers)
    return Provenance(
        app_version=__version__,
        model_file=model.name,
        model_path=str(model.absolute()),
        model_family=model_family,
        model_quant=quant,
        model_sha256=file_sha256(model),
        projector_file=mmproj.name,
        projector_path=str(mmproj.absolute()),
        projector_sha256=file_sha256(mmproj),
        backend=backend,
        device=device,
        **_asked(options, info.parallel),
    )


def remote_job_provenance(info: RemoteInfo, options: JobOptions) -> Provenance:
    """A job on servers: no model files here to name or hash; the served model ids, and which server made each
    caption (``engine`` per caption)."""
    models = info.models
    return Provenance(
        app_version=__version__, model_file=", ".join(models), model_path="", model_family=_family_of_id(models),
        model_quant="", model_sha256="", projector_file="", projector_path="", projector_sha256="",
        backend="server", device=info.line, **_asked(options, info.parallel),
    )


def _asked(options: JobOptions, parallel: int) -> dict[str, Any]:
    """What the job asked for, the same wherever its captions are made: prompt, image budget, sampling."""
    params = options.params
    return {
        "preset": options.prompt.preset,
        "system_prompt": options.prompt.system,
        "image_max_tokens": options.image_budget.max_tokens,
        "image_min_tokens": options.image_budget.min_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "repeat_penalty": params.repeat_penalty,
        "max_tokens": params.max_tokens,
        "requested_seed": params.seed,
        "parallel": parallel,
    }


def _family_of_id(model_ids: list[str]) -> str:
    """The family a served model's id names ("internlm/CapRL-Qwen3VL-4B", "CapRL-3B.Q4_K_M.gguf"), else ""."""
    joined = " ".join(model_ids).lower()
    for known in sorted(families(), key=lambda f: len(f.label), reverse=True):
        if known.label.lower() in joined:
            return known.label
    return ""


def caption_provenance(job: Provenance, stats: CaptionStats) -> Provenance:
    return job.with_caption(
        seed=stats.seed, image_tokens=stats.image_tokens, image_width=stats.image_width,
        image_height=stats.image_height, prompt_tokens=stats.prompt_tokens, finish_reason=stats.finish_reason,
        image_encode_ms=stats.image_encode_ms, prompt_ms=stats.prompt_ms, decode_ms=stats.decode_ms,
        engine=stats.engine, engine_model=stats.engine_model)
