"""Captions made by OpenAI-compatible servers (vLLM, llama.cpp's llama-server, LM Studio), one or several at once.

``RemoteEngine`` is the engine the scheduler already drives (``submit`` / ``next_reply`` / ``abandon``), so jobs,
the journal, resume, sidecars and exports need no second path; ``stop_caption`` ends one caption (a guard's
stop), ``cancel`` all (Stop). Each caption is one streamed chat completion (``wire``). Several servers share a
folder: each takes up to its number of captions at a time (given, said or measured: ``capacity``, which also sets
each caption's deadlines from the server's pace), and a caption goes to the server with the most room. A try
whose time is up has its stream closed; a server whose captions wait for a reply half that long is said to be
slow (``notice``, ``server_stats``).

A server that fails (refused, an HTTP error, no reply in time, a stream cut short) hands its caption to
another after a short back-off; a caption that had streamed text first says ``CaptionRestarted``, so the text
shown starts again and nothing is captioned twice. A 429, or a stream cut short while the server holds other
captions, says it takes fewer: neither counts against the server or the caption. After ``MAX_FAILURES`` in a
row a server leaves the rotation and is asked every ``PROBE_S`` seconds whether it answers again. Only when no
server has answered for ``GIVE_UP_S`` do the captions waiting fail, with the reason: the job ends resumable.

Threads: one per caption in flight (it reads the stream; closing it cancels the caption on the server) and one
that probes servers out of rotation; the thread waiting in ``next_reply`` holds the tries to their deadlines.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from caprl_desktop.core.engine.remote import wire
from caprl_desktop.core.engine.remote.capacity import MEASURE_START, Capacity, Deadlines
from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerInfo, ServerStats
from caprl_desktop.core.engine.remote.servers import Server
from caprl_desktop.core.engine.replies import CaptionDone, CaptionFailed, CaptionReply, CaptionRestarted, CaptionText
from caprl_desktop.core.errors import EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import PromptSpec

LOG = logging.getLogger(__name__)

MAX_FAILURES = 3  # in a row, before a server leaves the rotation
BACKOFF_S = 0.5  # before a failed caption is tried again; doubles with each failure of that caption
PROBE_S = 5.0  # how often a server out of rotation is asked whether it answers again
GIVE_UP_S = 60.0  # with no server answering for this long, the captions waiting fail
# A caption that failed this often (2 per server, at least 5: enough for one server to leave the rotation and
# come back) fails for good: a server that answers /v1/models but fails every caption cannot hold a job.
TRIES_PER_SERVER, MIN_TRIES = 2, 5
WATCH_S = 0.5  # how often the captions in flight are held to their deadlines


@dataclass
class _Server:
    spec: Server
    client: Any  # openai.OpenAI
    stats: ServerStats
    capacity: Capacity
    out_since: float | None = None  # when it left the rotation


@dataclass
class _Request:
    rid: int
    image_url: str
    width: int
    height: int
    prompt: PromptSpec
    params: GenerationParams
    seed: int
    attempts: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: bool = False  # its final reply was sent (or it was abandoned); guarded by the engine's lock
    attempt: _Attempt | None = None  # the try going on now


@dataclass(eq=False)
class _Attempt:
    """One try of a caption on one server (``key``: its flight in the server's ``capacity``)."""

    key: int
    request: _Request
    server: _Server
    reply_s: float  # the longest it may wait for a byte
    stream: Any = None  # its open stream, closed to cancel it (or when its time is up)
    reading: wire.Reading = field(default_factory=wire.Reading)  # what it has streamed
    released: bool = False  # its place on the server is given back


class RemoteEngine:
    """Spreads captions over OpenAI-compatible servers; the engine interface of ``EngineClient``.

    Every request ends with exactly one ``CaptionDone`` or ``CaptionFailed`` (unless abandoned): ``_end`` sends it
    under the lock and marks the request ended, and whatever its thread finds later is dropped.
    ``notice``: told (from the thread waiting for replies) when a server becomes slow, for the user."""

    def __init__(self, servers: Sequence[Server], *, give_up_s: float = GIVE_UP_S, backoff_s: float = BACKOFF_S,
                 probe_s: float = PROBE_S, deadlines: Deadlines | None = None,
                 notice: Callable[[str], None] | None = None,
                 client_factory: Callable[[Server, float], Any] = wire.make_client) -> None:
        if not servers:
            raise EngineError("no caption server was given")
        self._specs = list(servers)
        self._give_up_s, self._backoff_s, self._probe_s = give_up_s, backoff_s, probe_s
        self._deadlines = deadlines or Deadlines()
        self._notice, self._client_factory = notice, client_factory
        self._servers: list[_Server] = []
        self._lock = threading.Lock()
        self._replies: queue.Queue[CaptionReply] = queue.Queue()
        self._waiting: deque[_Request] = deque()  # submitted, no server free yet
        self._requests: dict[int, _Request] = {}  # submitted, not yet read to their end by ``next_reply``
        self._attempts: dict[int, _Attempt] = {}  # tries going on, by key
        self._ids, self._keys = itertools.count(1), itertools.count(1)
        self._seeds = itertools.count(int(time.time()) % 2**31)
        self._closed = threading.Event()
        self._watched = 0.0  # (monotonic) when the tries were last held to their deadlines
        self.info: RemoteInfo | None = None

    # --- the engine interface ---------------------------------------------------------------------

    def start(self) -> RemoteInfo:
        """Ask every server which model it serves; raises ``EngineError`` when none answers."""
        if self.info is not None:
            return self.info
        found: list[ServerInfo] = []
        for spec in self._specs:
            client = self._client_factory(spec, wire.PROBE_TIMEOUT_S)  # (each caption sets its own)
            model, reason = wire.served_model(client)
            said = None if spec.slots_given or reason else wire.server_slots(client, spec.url)
            slots = spec.slots if spec.slots_given else said or MEASURE_START
            measuring = not spec.slots_given and not said
            stats = ServerStats(spec.shown, model, spec.label, slots, measuring=measuring,
                                slots_from="given" if spec.slots_given else "server" if said else "measured",
                                in_rotation=not reason, reason=reason)
            deadlines = replace(self._deadlines, reply_s=spec.reply_timeout_s or self._deadlines.reply_s)
            capacity = Capacity(spec.shown, slots, measuring=measuring, fixed=spec.slots_given, deadlines=deadlines)
            self._servers.append(_Server(spec, client, stats, capacity, time.monotonic() if reason else None))
            found.append(ServerInfo(spec.shown, model, slots, not reason, reason, label=spec.label))
        if not any(s.answering for s in found):
            reasons = "; ".join(f"{s.shown}: {s.reason}" for s in found)
            raise EngineError(f"no caption server answers ({reasons})")
        self.info = RemoteInfo(tuple(found), sum(s.slots for s in found if s.answering))
        threading.Thread(target=self._probe_loop, name="caprl-remote-probe", daemon=True).start()
        return self.info

    @property
    def parallel(self) -> int:
        """Captions the servers in rotation take at once."""
        with self._lock:
            slots = sum(s.capacity.slots for s in self._servers if s.stats.in_rotation)
        return max(1, slots)

    def server_stats(self) -> list[ServerStats]:
        now = time.monotonic()
        with self._lock:
            return [replace(s.stats, slots=s.capacity.slots, measuring=s.capacity.measuring, silent_s=waited,
                            slow=slow) for s in self._servers for waited, slow in [s.capacity.waiting(now)]]

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        if self.info is None or self._closed.is_set():
            raise EngineError("the remote engine is not running")
        rid = next(self._ids)
        seed = params.seed if params.seed is not None else next(self._seeds)
        request = _Request(rid, wire.image_data_url(image), image.width, image.height, prompt, params, seed)
        with self._lock:
            self._requests[rid] = request
            self._waiting.append(request)
        self._dispatch()
        return rid

    def next_reply(self) -> CaptionReply:
        """The next reply to a caption in flight; waits for it (holding the captions to their deadlines)."""
        while True:
            with self._lock:
                if not self._requests:
                    raise EngineError("no caption is in flight")
            if time.monotonic() - self._watched >= WATCH_S:
                self._watch()
            try:
                reply = self._replies.get(timeout=WATCH_S)
            except queue.Empty:
                self._fail_waiting_if_no_server()
                continue
            with self._lock:
                request = self._requests.get(reply.request_id)
                if request is None:
                    continue  # the end of a caption abandoned
                if isinstance(reply, CaptionDone | CaptionFailed):
                    del self._requests[reply.request_id]
            return reply

    def abandon(self, request_ids: Iterable[int]) -> None:
        """Stop these captions; their replies are dropped (a running one gives its slot back when its read ends)."""
        with self._lock:
            stopped = [r for r in (self._requests.pop(rid, None) for rid in request_ids) if r is not None]
            for request in stopped:
                request.ended = True
            self._waiting = deque(r for r in self._waiting if r not in stopped)
        self._stop(stopped)

    def stop_caption(self, request_id: int) -> None:
        """End this caption now as cancelled, with what it streamed so far; its stream is closed, which stops it on
        its server. The others go on."""
        with self._lock:
            request = self._requests.get(request_id)
            if request is None or request.ended:
                return
            self._waiting = deque(r for r in self._waiting if r is not request)
            attempt = request.attempt
            reading = wire.Reading(list(attempt.reading.pieces) if attempt is not None else [], "cancelled")
            server = attempt.server.stats if attempt is not None else None
        request.cancel.set()
        output = wire.caption_output(reading, request.width, request.height, request.seed,
                                     engine=server.shown if server else "", model=server.model if server else "")
        self._end(request, CaptionDone(request.rid, output))
        self._stop([request])

    def cancel(self) -> None:
        """End every caption now as cancelled (Stop); their streams are closed, which stops them on the servers.
        Safe from any thread."""
        with self._lock:
            requests = [r for r in self._requests.values() if not r.ended]
            self._waiting.clear()
        for request in requests:
            request.cancel.set()
            cancelled = wire.caption_output(wire.Reading(finish="cancelled"), request.width, request.height,
                                            request.seed)
            self._end(request, CaptionDone(request.rid, cancelled))
        self._stop(requests)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            requests = list(self._requests.values())
            self._requests.clear()
            self._waiting.clear()
            for request in requests:
                request.ended = True
        self._stop(requests)
        for server in self._servers:
            getattr(server.client, "close", lambda: None)()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- spreading ------------------------------------------------------------------------------

    def _stop(self, requests: Iterable[_Request]) -> None:
        """Cancel these requests and close their streams (which stops them on the servers)."""
        for request in requests:
            request.cancel.set()
            attempt = request.attempt
            if attempt is not None and attempt.stream is not None:
                wire.close_stream(attempt.stream)

    def _end(self, request: _Request, reply: CaptionDone | CaptionFailed) -> None:
        """Send ``request``'s one final reply, unless it has one already (or was abandoned)."""
        with self._lock:
            if request.ended:
                return
            request.ended = True
        self._replies.put(reply)

    def _dispatch(self) -> None:
        """Start waiting captions on servers with room, the emptiest first."""
        starts: list[_Attempt] = []
        with self._lock:
            while self._waiting and (server := self._choose()) is not None:
                request = self._waiting.popleft()
                key = next(self._keys)
                reply_s = server.capacity.start(key, request.width * request.height, request.params.max_tokens,
                                                time.monotonic())
                server.stats.take()
                request.attempts += 1
                request.attempt = self._attempts[key] = _Attempt(key, request, server, reply_s)
                starts.append(request.attempt)
        for attempt in starts:
            try:
                threading.Thread(target=self._run, args=(attempt,), name=f"caprl-remote-{attempt.request.rid}",
                                 daemon=True).start()
            except RuntimeError as exc:  # no thread could be started (a system limit): this caption fails
                with self._lock:
                    self._release(attempt)
                self._end(attempt.request,
                          CaptionFailed(attempt.request.rid, EngineError(f"could not start a request: {exc}",
                                                                         kind="request_not_started", detail=str(exc))))

    def _choose(self) -> _Server | None:
        free = [s for s in self._servers if s.stats.in_rotation and s.capacity.has_room()]
        return min(free, key=lambda s: (s.capacity.in_flight / s.capacity.slots, s.stats.failures_in_row),
                   default=None)

    def _release(self, attempt: _Attempt, *, turned_away: bool = False,
                 made: tuple[float, float, int] | None = None) -> bool:
        """Give the try's place on its server back (once; under the lock). ``made``: it finished (first piece
        and decode seconds, tokens); ``turned_away``: the server answered busy or cut the stream short, and the
        result says whether that means it takes fewer (``Capacity.turned_away``)."""
        if attempt.released:
            return False
        attempt.released = True
        self._attempts.pop(attempt.key, None)
        attempt.server.stats.give_back()
        capacity = attempt.server.capacity
        if turned_away:
            return capacity.turned_away(attempt.key)
        if made is not None:
            capacity.finished(attempt.key, *made)
        else:
            capacity.ended(attempt.key)
        return False

    def _run(self, attempt: _Attempt) -> None:
        request, server = attempt.request, attempt.server
        started, first = time.perf_counter(), list[float]()
        caption = attempt.reading

        def piece(text: str) -> None:
            if request.cancel.is_set():
                raise _Stopped
            if not first:
                first.append(time.perf_counter())
            with self._lock:
                server.capacity.replied(attempt.key, time.monotonic())
            if not request.ended:
                self._replies.put(CaptionText(request.rid, text))

        try:
            if request.cancel.is_set():
                raise _Stopped
            attempt.stream = wire.open_stream(server.client, server.stats.model, request.image_url, request.prompt,
                                              request.params, request.seed, attempt.reply_s + WATCH_S)
            if request.cancel.is_set():  # stopped while the request was being made
                raise _Stopped
            wire.read_caption(attempt.stream, request.params.max_tokens, caption, piece)
        except _Stopped:
            with self._lock:
                self._release(attempt)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of a server sends the caption elsewhere
            with self._lock:
                overdue = server.capacity.overdue(time.monotonic()).get(attempt.key, "")
                stopped = request.cancel.is_set() and not overdue  # closed to stop it: not the server's fault
                if stopped:
                    self._release(attempt)
            if not stopped and caption.finish is None:  # (one that drops after the caption's end: it stands)
                self._failed(attempt, exc, overdue, restarted=bool(caption.pieces))
            if stopped or caption.finish is None:
                self._dispatch()
                return
        self._done(attempt, caption, started, first[0] if first else None)
        self._dispatch()

    def _done(self, attempt: _Attempt, caption: wire.Reading, started: float, first: float | None) -> None:
        request, server = attempt.request, attempt.server
        ended = time.perf_counter()
        first_s, decode_s = (first or ended) - started, ended - (first or ended)
        output = wire.caption_output(caption, request.width, request.height, request.seed, first_s=first_s,
                                     decode_s=decode_s, engine=server.stats.shown, model=server.stats.model)
        with self._lock:
            self._release(attempt, made=(first_s, decode_s, len(caption.pieces)))
            server.stats.failures_in_row = 0
            server.stats.made += 1
            server.stats.output_tokens += output.stats.output_tokens
        self._end(request, CaptionDone(request.rid, output))

    def _failed(self, attempt: _Attempt, exc: BaseException, overdue: str, *, restarted: bool) -> None:
        request, server = attempt.request, attempt.server
        reason = overdue or wire.describe(exc)
        LOG.warning("%s failed on caption %d: %s", server.stats.shown, request.rid, reason)
        refused = not overdue and wire.refused(exc)
        # Busy (429), or a stream cut short: while the server holds other captions, it takes fewer than it was
        # given. Neither its failure nor the caption's: the caption waits for the next free place.
        turned_away = not overdue and (wire.busy(exc) or (attempt.stream is not None and wire.cut_short(exc)))
        with self._lock:
            full = self._release(attempt, turned_away=turned_away)
            if full:
                request.attempts -= 1
            elif not refused:  # the server's fault, not this caption's
                server.stats.failures_in_row += 1
                server.stats.reason = reason
                if server.stats.failures_in_row >= MAX_FAILURES and server.stats.in_rotation:
                    server.stats.in_rotation = False
                    server.out_since = time.monotonic()
                    LOG.warning("%s left the rotation after %d failures in a row", server.stats.shown,
                                MAX_FAILURES)
            tries = max(MIN_TRIES, TRIES_PER_SERVER * len(self._servers))
        if refused or request.attempts >= tries:
            why = EngineError(f"{server.stats.shown} refused it: {reason}", kind="server_refused",
                              server=server.stats.shown, detail=reason) if refused else \
                EngineError(f"no server could caption it in {request.attempts} tries (last: {server.stats.shown}, "
                            f"{reason})", kind="servers_gave_up", tries=request.attempts, server=server.stats.shown,
                            detail=reason)
            self._end(request, CaptionFailed(request.rid, why))
            return
        if request.ended or request.cancel.is_set():
            return
        if restarted:
            self._replies.put(CaptionRestarted(request.rid, f"{server.stats.shown}: {reason}"))
        # A short back-off, longer for a caption that keeps failing, then it waits for any server with room.
        timer = threading.Timer(self._backoff_s * 2 ** min(request.attempts - 1, 5), self._requeue, args=(request,))
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError:
            self._requeue(request)

    def _watch(self) -> None:
        """Hold the tries to their deadlines: one whose time is up has its stream closed (its thread then fails
        it; one not yet open ends at its request's own time-out); a server just become slow is said to be."""
        now = self._watched = time.monotonic()
        said: list[str] = []
        with self._lock:
            late = [self._attempts[key] for s in self._servers for key in s.capacity.overdue(now)
                    if key in self._attempts]
            for server in self._servers:
                if (waited := server.capacity.newly_slow(now)) is not None:
                    said.append(f"server {server.stats.label} is slow (no reply for {waited:.0f} s)")
        for attempt in late:
            if attempt.stream is not None:
                wire.close_stream(attempt.stream)
        for line in said:
            LOG.warning("%s", line)
            if self._notice is not None:
                self._notice(line)

    def _requeue(self, request: _Request) -> None:
        with self._lock:
            if request.ended or request.cancel.is_set():
                return
            self._waiting.appendleft(request)
        self._dispatch()

    def _fail_waiting_if_no_server(self) -> None:
        """When every server has been out of the rotation for ``give_up_s``, the captions waiting fail (the job
        stays resumable)."""
        with self._lock:
            if any(s.stats.in_rotation for s in self._servers) or not self._waiting:
                return
            if time.monotonic() - max(s.out_since or 0.0 for s in self._servers) < self._give_up_s:
                return  # (since the last server left: an earlier outage never counts)
            waiting = list(self._waiting)
            self._waiting.clear()
            reasons = "; ".join(f"{s.stats.shown}: {s.stats.reason}" for s in self._servers)
        error = EngineError(f"no caption server answers ({reasons}); resume the job once one does",
                            kind="no_server_answers", detail=reasons)
        for request in waiting:
            self._end(request, CaptionFailed(request.rid, error))

    def _probe_loop(self) -> None:
        while not self._closed.wait(self._probe_s):
            with self._lock:
                out = [s for s in self._servers if not s.stats.in_rotation]
            for server in out:
                model, reason = wire.served_model(server.client)
                if reason:
                    continue
                with self._lock:
                    server.stats.model = server.stats.model or model
                    server.stats.in_rotation, server.stats.failures_in_row = True, 0
                    server.stats.reason, server.out_since = "", None
                LOG.warning("%s answers again and is back in the rotation", server.stats.shown)
                self._dispatch()


class _Stopped(Exception):
    """The caption was cancelled or abandoned: its thread gives the slot back and sends nothing."""
