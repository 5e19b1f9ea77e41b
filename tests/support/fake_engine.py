"""A scripted stand-in for the caption engine: what each image streams, where the engine crashes or fails.

``FakeEngine`` is the scheduler's ``CaptionEngine`` without llama.cpp or a process, so the job's rules can
be tested exactly.  ``images()`` writes small solid PNGs, each of a colour of its own, which is how the
engine knows which image it was sent.  Replies are deterministic: the captions decoding take turns, one
reply each, in the order they were submitted; at most ``parallel`` decode at once and the rest wait, as in
the real engine.  Everything asked of it is recorded (``log``, ``submitted``, ``abandoned``, ``stopped``,
``starts``, and each request's ``params`` and ``prompts``); ``streamed`` counts the pieces each image's tries
streamed, so a test sees how soon a caption was stopped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from caprl_desktop.core.engine.remote.info import RemoteInfo
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionText
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import CaprlError, EngineCrashedError, EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import PromptSpec


@dataclass(frozen=True)
class Script:
    """What the engine does with one image (by file name); an image without a script is captioned plainly."""

    pieces: tuple[str, ...] | None = None  # the caption as streamed; None: ("<name>", " caption")
    retry_pieces: tuple[str, ...] | None = None  # what its later tries stream (None: ``pieces`` again)
    crashes: int = 0  # the engine crashes this many times while this image decodes, then captions it
    crash_after: int = 1  # pieces streamed before each of those crashes (no more than it has)
    dead_at_submit: int = 0  # the engine is found dead this many times when this image is sent
    error: CaprlError | None = None  # after its pieces, the caption fails with this
    finish_reason: str = "stop"


@dataclass
class _Request:
    name: str
    script: Script
    pieces: tuple[str, ...]
    image: PreparedImage
    params: GenerationParams
    streamed: int = 0
    cancelled: bool = False


@dataclass
class FakeEngine:
    """Implements ``CaptionEngine``; starts out running, as a client the caller has started."""

    parallel: int = 1
    scripts: Mapping[str, Script] = field(default_factory=dict)
    start_error: CaprlError | None = None  # start() raises this (a model that no longer loads)
    info: EngineInfo | RemoteInfo | None = None  # what it says it loaded: records get provenance when set

    running: bool = True
    starts: int = 0  # calls of start(): restarts, since it starts out running
    crashes: int = 0
    log: list[str] = field(default_factory=list)  # "submit a.png", "crash", "start", "abandon a.png", …
    submitted: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    in_flight_at_submit: list[int] = field(default_factory=list)  # captions in flight, the new one included
    prompts: list[PromptSpec] = field(default_factory=list)
    params: list[GenerationParams] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # images whose caption was ended by ``stop_caption``
    streamed: dict[str, list[int]] = field(default_factory=dict)  # pieces each try of an image streamed, by name

    _names: dict[bytes, str] = field(default_factory=dict)
    _in_flight: dict[int, _Request] = field(default_factory=dict)
    _turns: deque[int] = field(default_factory=deque)
    _next_id: int = 1
    _killed: bool = False
    _crashes_of: dict[str, int] = field(default_factory=dict)
    _deaths_of: dict[str, int] = field(default_factory=dict)

    # --- set-up -------------------------------------------------------------------------------

    def images(self, folder: Path, names: Iterable[str]) -> list[Path]:
        """Write a PNG per name under ``folder`` (names may hold sub-folders) that this engine recognises."""
        paths = []
        for name in names:
            n = len(self._names) + 1
            colour = (n % 256, n // 256 % 256, 77)
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (12, 8), colour).save(path, format="PNG")
            self._names[bytes(colour)] = name
            paths.append(path)
        return paths

    def kill(self) -> None:
        """The engine dies while idle (killed, out of memory): the next call on it finds it dead."""
        self._killed = True

    def cancel(self) -> None:
        """Like the window's Stop: every caption in flight ends as cancelled at its next turn."""
        for request in self._in_flight.values():
            request.cancelled = True

    @property
    def in_flight(self) -> list[str]:
        return [request.name for request in self._in_flight.values()]

    @property
    def most_in_flight(self) -> int:
        return max(self.in_flight_at_submit, default=0)

    # --- CaptionEngine ------------------------------------------------------------------------

    def start(self) -> None:
        self.starts += 1
        self.log.append("start")
        self._drop_all()
        if self.start_error is not None:
            self.running = False
            raise self.start_error
        self.running, self._killed = True, False

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        name = self._names[image.rgb[:3]]
        script = self.scripts.get(name, Script())
        if self._killed:
            raise self._crash("found dead at submit")
        if not self.running:
            raise EngineError("the engine is not running")
        deaths = self._deaths_of.get(name, 0)
        if deaths < script.dead_at_submit:
            self._deaths_of[name] = deaths + 1
            raise self._crash("found dead at submit")
        rid = self._next_id
        self._next_id += 1
        tries = self.streamed.setdefault(name, [])
        pieces = script.retry_pieces if tries and script.retry_pieces is not None else script.pieces
        pieces = pieces if pieces is not None else (name, " caption")
        tries.append(0)
        self._in_flight[rid] = _Request(name, script, pieces, image, params)
        self._turns.append(rid)
        self.log.append(f"submit {name}")
        self.submitted.append(name)
        self.in_flight_at_submit.append(len(self._in_flight))
        self.prompts.append(prompt)
        self.params.append(params)
        return rid

    def next_reply(self) -> CaptionReply:
        if self._killed:
            raise self._crash("found dead")
        if not self._in_flight:
            raise EngineError("no caption is in flight")
        rid = self._take_turn()
        request = self._in_flight[rid]
        if request.cancelled:
            return self._end(rid, "cancelled")
        crashed = self._crashes_of.get(request.name, 0)
        if crashed < request.script.crashes and request.streamed == request.script.crash_after:
            self._crashes_of[request.name] = crashed + 1
            raise self._crash(f"decoding {request.name}")
        if request.streamed < len(request.pieces):
            request.streamed += 1
            self.streamed[request.name][-1] += 1
            return CaptionText(rid, request.pieces[request.streamed - 1])
        if request.script.error is not None:
            del self._in_flight[rid]
            self._turns.remove(rid)
            self.log.append(f"failed {request.name}")
            return CaptionFailed(rid, request.script.error)
        return self._end(rid, request.script.finish_reason)

    def abandon(self, request_ids: Iterable[int]) -> None:
        for rid in request_ids:
            request = self._in_flight.pop(rid, None)
            if request is not None:
                self._turns.remove(rid)
                self.log.append(f"abandon {request.name}")
                self.abandoned.append(request.name)

    def stop_caption(self, request_id: int) -> None:
        """As the engine does: that caption ends as cancelled at its next turn, the others go on."""
        request = self._in_flight.get(request_id)
        if request is not None and not request.cancelled:
            request.cancelled = True
            self.log.append(f"stop {request.name}")
            self.stopped.append(request.name)

    # --- inside -------------------------------------------------------------------------------

    def _take_turn(self) -> int:
        """The next caption to reply for: round the ``parallel`` first submitted, the rest wait their turn."""
        decoding = set(list(self._in_flight)[: self.parallel])
        rid = next(rid for rid in self._turns if rid in decoding)
        self._turns.remove(rid)
        self._turns.append(rid)
        return rid

    def _end(self, rid: int, finish_reason: str) -> CaptionDone:
        request = self._in_flight.pop(rid)
        self._turns.remove(rid)
        self.log.append(f"done {request.name}")
        text = "".join(request.pieces[: request.streamed]).strip()
        stats = CaptionStats(
            image_tokens=4, image_width=request.image.width, image_height=request.image.height, prompt_tokens=10,
            image_encode_ms=1.0, prompt_ms=2.0, output_tokens=request.streamed, decode_ms=3.0 * request.streamed,
            total_seconds=0.1234 * (1 + request.streamed), finish_reason=finish_reason,
            seed=request.params.seed if request.params.seed is not None else 0,
        )
        return CaptionDone(rid, CaptionOutput(text, stats, prompt_text=""))

    def _crash(self, where: str) -> EngineCrashedError:
        self.crashes += 1
        self.log.append("crash")
        self._drop_all()
        self.running = False
        self._killed = False
        return EngineCrashedError(f"the caption engine stopped (signal 9, SIGKILL: it was killed) [crash "
                                  f"{self.crashes}, {where}]", -9, "")

    def _drop_all(self) -> None:
        self._in_flight.clear()
        self._turns.clear()
