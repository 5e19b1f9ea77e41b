"""How a runtime's llama-server is started: the run's model, slots, context, image budget, and its key kept out of
its command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from caprl_desktop.core.models.files import check_model_pair
from caprl_desktop.core.params import EngineConfig, ImageBudget
from caprl_desktop.core.runtimes.catalog import Variant
from caprl_desktop.core.runtimes.engine import amx_cpu, plan_launch
from caprl_desktop.core.runtimes.server import KEY_ENV, Launch, child_environment, command
from caprl_desktop.core.runtimes.store import InstalledRuntime
from tests.support.models import ModelFiles


def runtime(variant: Variant) -> InstalledRuntime:
    return InstalledRuntime(f"b1-{variant}", "b1", variant, Path("/opt/runtimes") / f"b1-{variant}", 0)


def test_the_server_gets_the_runs_model_slots_context_and_image_budget(models: ModelFiles) -> None:
    pair = check_model_pair(models.model, models.mmproj)
    config = EngineConfig(str(models.model), str(models.mmproj), image_budget=ImageBudget(256, min_tokens=64),
                          max_output_tokens=128, parallel=3, threads=2)
    launch = plan_launch(runtime("cuda-12"), config, pair)
    assert (launch.slots, launch.ctx_per_slot, launch.gpu_layers) == (3, config.n_ctx, None)  # llama.cpp fits -ngl
    args = command(runtime("cuda-12"), launch, 43210)
    joined = " ".join(args)
    assert args[0] == "/opt/runtimes/b1-cuda-12/llama-server"
    assert "--host 127.0.0.1 --port 43210" in joined and "--no-webui" in args
    assert f"-m {models.model} --mmproj {models.mmproj}" in joined
    assert f"-np 3 -c {3 * config.n_ctx}" in joined  # -c is shared by the slots: each gets what one caption needs
    assert "--image-max-tokens 256" in joined and "--image-min-tokens 64" in joined
    assert "-t 2 -tb 2" in joined and "-fa auto" in joined and "-ngl" not in args
    assert f"--alias {models.model.name}" in joined
    cpu = plan_launch(runtime("cpu"), EngineConfig(str(models.model), str(models.mmproj)), pair)
    assert (cpu.gpu_layers, cpu.slots) == (0, 4)
    assert "-ngl 0" in " ".join(command(runtime("cpu"), cpu, 1))


def test_the_key_is_in_the_servers_environment_not_its_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPRL_RUNTIME_KEY_1_1", "another-runs-key")
    monkeypatch.setenv("LLAMA_ARG_N_GPU_LAYERS", "0")  # a user's setting for another llama-server
    monkeypatch.setenv(KEY_ENV, "a user's key for another llama-server")
    env = child_environment("the-key")
    assert env[KEY_ENV] == "the-key"
    assert "CAPRL_RUNTIME_KEY_1_1" not in env and "LLAMA_ARG_N_GPU_LAYERS" not in env
    launch = Launch(Path("m.gguf"), Path("p.gguf"), slots=1, ctx_per_slot=512, gpu_layers=None, threads=1,
                    image_max_tokens=64)
    assert not any("the-key" in arg for arg in command(runtime("cpu"), launch, 1))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/cpuinfo")
def test_amx_cpus_get_the_servers_repacking_off_as_the_built_in_engine_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n")
    monkeypatch.delenv("CAPRL_ALLOW_AMX", raising=False)
    assert amx_cpu(cpuinfo)
    monkeypatch.setenv("CAPRL_ALLOW_AMX", "1")
    assert not amx_cpu(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu avx512f\n")
    monkeypatch.delenv("CAPRL_ALLOW_AMX")
    assert not amx_cpu(cpuinfo)
