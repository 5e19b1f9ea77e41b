"""Stand-in engine processes for testing the client's waiting: they load at once, then reply late or die without
a word. Each is an ``EngineClient(process_main=...)``: it gets its end of the pipe and a log path, as the real
engine process does."""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

from caprl_desktop.core.engine.backend import BackendInfo
from caprl_desktop.core.engine.protocol import Caption, Load, Loaded, Piece
from caprl_desktop.core.engine.reports import EngineInfo
from caprl_desktop.core.models.files import ModelPairInfo
from caprl_desktop.core.params import EngineConfig


def engine_info(config: EngineConfig) -> EngineInfo:
    """What a stand-in engine says it loaded (plain data; the files need not exist)."""
    pair = ModelPairInfo(model_path=Path(config.model_path), mmproj_path=Path(config.mmproj_path),
                         architecture="qwen2vl", name="stand-in", n_embd=8, projector_type="qwen2.5vl_merger",
                         model_bytes=1, mmproj_bytes=1, has_chat_template=True)
    return EngineInfo(model=pair, backend=BackendInfo(gpu_offload=False, devices=(), system_info="CPU"),
                      backend_line="CPU", gpu_layers=0, n_layer=1, n_ctx=config.n_ctx, threads=1,
                      image_budget=config.image_budget, load_seconds=0.0)


def _load_and_take_a_caption(conn: Connection) -> Caption:
    load = conn.recv()
    assert isinstance(load, Load)
    conn.send(Loaded(engine_info(load.config)))
    caption = conn.recv()
    assert isinstance(caption, Caption)
    return caption


def reply_after(conn: Connection, log_path: str, *, seconds: float) -> None:
    caption = _load_and_take_a_caption(conn)
    time.sleep(seconds)
    conn.send(Piece(caption.request_id, "late"))
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # the client's Shutdown, or its end


def die_after(conn: Connection, log_path: str, *, seconds: float) -> None:
    """Exit without a reply, as llama.cpp's abort() ends the engine."""
    _load_and_take_a_caption(conn)
    time.sleep(seconds)
    os._exit(3)
