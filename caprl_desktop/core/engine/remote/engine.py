"""Captions made by OpenAI-compatible servers (vLLM, llama.cpp's llama-server, LM Studio), one or several at once.

``RemoteEngine`` is the engine the scheduler already drives (``submit`` / ``next_reply`` / ``abandon``), so jobs,
the journal, resume, sidecars and exports need no second path. Each caption is one streamed chat completion:
the image as the app prepared it (scaled to the detail budget, PNG so nothing is lost on the way), the
language's system and user prompts, the sampling settings and seed.

Several servers share a folder: each takes up to its ``slots`` captions at a time, and a caption goes to the
server with the most room. A server given without ``#N`` has that number found: llama-server says it
(``/props``); for the others it starts at ``MEASURE_START`` and doubles while captions sent side by side
start as fast as one alone, until captions wait in the server's queue (their first piece comes a caption's
time late) or the server says it is busy (429): then it keeps the most it saw streaming at once (``_learn``).

A server that fails (refused, an HTTP error, 429, a time-out, a stream cut short) hands its caption to
another after a short back-off; a caption that had streamed text first says ``CaptionRestarted``, so the text
shown starts again and nothing is captioned twice. After ``MAX_FAILURES`` in a row a server leaves the rotation
and is asked every ``PROBE_S`` seconds whether it answers again. Only when no server has answered for
``GIVE_UP_S`` do the captions waiting fail, with the reason: the job then ends resumable.

Threads: one per caption in flight (it reads the stream; closing the stream cancels the caption on the server)
and one that probes servers out of rotation. They hand their replies to ``next_reply`` through one queue.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import logging
import queue
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from PIL import Image

from caprl_desktop.core.engine.remote import keys
from caprl_desktop.core.engine.remote.info import RemoteInfo, ServerInfo
from caprl_desktop.core.engine.remote.servers import MAX_SLOTS, Server, check_address, shown_url
from caprl_desktop.core.engine.replies import (
    CaptionDone,
    CaptionFailed,
    CaptionReply,
    CaptionRestarted,
    CaptionText,
)
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats
from caprl_desktop.core.errors import CaprlError, EngineError
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
PROBE_TIMEOUT_S = 10.0  # /v1/models must answer within this, or the server counts as not answering
CONNECT_TIMEOUT_S = 10.0
MEASURE_START = 2  # captions at a time a server starts with while its number is measured
MEASURE_CEILING = 64  # the most measuring reaches (vLLM takes more: give it with #N)
QUEUED_TO_SETTLE = 2  # captions seen waiting in a server's queue before its number is settled
MIN_QUEUE_WAIT_S = 0.05  # a wait shorter than this is a busy machine's hiccup, whatever the captions' length
READ_TIMEOUT_S = 300.0  # between two pieces of a stream: a large image's encode on a busy CPU server


@dataclass
class ServerStats:
    """How a server has done in this engine's life: for the status bar and the records."""

    shown: str
    model: str
    label: str = ""  # its saved name, else its address
    slots: int = 1  # captions it takes at a time: as given, as it said, or as measured so far
    measuring: bool = False  # ``slots`` is still being measured from its replies
    slots_from: str = "given"  # where ``slots`` comes from: "given" (#N), "server" (it said), "measured"
    in_flight: int = 0
    made: int = 0
    output_tokens: int = 0
    active_s: float = 0.0  # wall time with at least one caption in flight, up to ``active_since``
    active_since: float | None = None  # (monotonic) captions are in flight since then
    failures_in_row: int = 0
    in_rotation: bool = True
    reason: str = ""

    def busy_seconds(self) -> float:
        """Wall time it has had work: captions side by side count once, so speeds are the server's own."""
        return self.active_s + (time.monotonic() - self.active_since if self.active_since is not None else 0.0)

    @property
    def tokens_per_second(self) -> float:
        busy = self.busy_seconds()
        return self.output_tokens / busy if busy > 0 else 0.0

    @property
    def images_per_minute(self) -> float:
        busy = self.busy_seconds()
        return self.made * 60 / busy if busy > 0 else 0.0

    def take(self) -> None:
        if self.in_flight == 0:
            self.active_since = time.monotonic()
        self.in_flight += 1

    def give_back(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self.active_since is not None:
            self.active_s += time.monotonic() - self.active_since
            self.active_since = None


@dataclass
class _Server:
    spec: Server
    client: Any  # openai.OpenAI
    stats: ServerStats
    out_since: float | None = None  # when it left the rotation
    fastest_first_s: float | None = None  # the quickest first piece seen: a caption that did not queue
    shortest_caption_s: float | None = None  # the quickest whole caption: about what a queued one waits
    queued_seen: int = 0  # captions seen waiting in its queue while measuring
    streaming: int = 0  # captions whose text is coming now (first piece in, not ended): they hold its places
    most_streaming: int = 0  # the most seen at once: what it takes at a time, once it was ever full


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
    stream: Any = None  # the open stream of the current attempt, closed to cancel
    ended: bool = False  # its final reply was sent (or it was abandoned); guarded by the engine's lock
    started_with: int = 1  # captions in flight on its server when its current attempt started, itself included
    streaming: bool = False  # its current attempt's text is coming (counted in its server's ``streaming``)


def image_data_url(image: PreparedImage) -> str:
    """The prepared image as a PNG data URL: lossless, so a server sees exactly what a local engine would."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (image.width, image.height), image.rgb).save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def make_client(server: Server, timeout: float) -> Any:
    """An OpenAI client for ``server``; the library's own retries are off (this engine retries elsewhere).

    HTTPS certificates are always verified: against the system's authorities, and for a server saved with a
    ``ca_file`` against those certificates too (a private CA). Raises ``KeyStoreError`` when its key is missing,
    ``ServerAddressError`` for an address with credentials (saved before they were refused)."""
    check_address(server.url)
    key = keys.api_key(server)
    # Redirects are not followed: an image goes to the address the user gave and nowhere else (a redirect to
    # another host, or from HTTPS to plain http, fails the caption with what happened).
    options: dict[str, Any] = {"follow_redirects": False}
    if server.ca_file:
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cafile=server.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise EngineError(f"the certificates for {server.label} cannot be read from {server.ca_file}: "
                              f"{exc}") from exc
        options["verify"] = context
    # openai 3 builds on httpx2, earlier releases on httpx: each offers a client with the SDK's defaults.
    factory = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
    http_client = factory(**options)
    return openai.OpenAI(base_url=server.url, api_key=key or "none", max_retries=0, http_client=http_client,
                         timeout=openai.Timeout(timeout, connect=CONNECT_TIMEOUT_S))


class RemoteEngine:
    """Spreads captions over OpenAI-compatible servers; the engine interface of ``EngineClient``.

    Every request ends with exactly one ``CaptionDone`` or ``CaptionFailed`` (unless abandoned): ``_end`` sends it
    under the lock and marks the request ended, and whatever its thread finds later is dropped."""

    def __init__(self, servers: Sequence[Server], *, give_up_s: float = GIVE_UP_S, backoff_s: float = BACKOFF_S,
                 probe_s: float = PROBE_S, read_timeout_s: float = READ_TIMEOUT_S,
                 client_factory: Callable[[Server, float], Any] = make_client) -> None:
        if not servers:
            raise EngineError("no caption server was given")
        self._specs = list(servers)
        self._give_up_s, self._backoff_s, self._probe_s = give_up_s, backoff_s, probe_s
        self._read_timeout_s = read_timeout_s
        self._client_factory = client_factory
        self._servers: list[_Server] = []
        self._lock = threading.Lock()
        self._replies: queue.Queue[CaptionReply] = queue.Queue()
        self._waiting: deque[_Request] = deque()  # submitted, no server free yet
        self._requests: dict[int, _Request] = {}  # submitted, not yet read to their end by ``next_reply``
        self._ids = itertools.count(1)
        self._seeds = itertools.count(int(time.time()) % 2**31)
        self._closed = threading.Event()
        self._prober: threading.Thread | None = None
        self.info: RemoteInfo | None = None

    # --- the engine interface ---------------------------------------------------------------------

    def start(self) -> RemoteInfo:
        """Ask every server which model it serves; raises ``EngineError`` when none answers."""
        if self.info is not None:
            return self.info
        found: list[ServerInfo] = []
        for spec in self._specs:
            client = self._client_factory(spec, self._read_timeout_s)
            model, reason = served_model(client)
            said = None if spec.slots_given or reason else server_slots(client, spec.url)
            slots = spec.slots if spec.slots_given else said or MEASURE_START
            stats = ServerStats(spec.shown, model, spec.label, slots, measuring=not spec.slots_given and not said,
                                slots_from="given" if spec.slots_given else "server" if said else "measured",
                                in_rotation=not reason, reason=reason)
            server = _Server(spec, client, stats, out_since=time.monotonic() if reason else None)
            self._servers.append(server)
            found.append(ServerInfo(spec.shown, model, slots, not reason, reason, label=spec.label))
        if not any(s.answering for s in found):
            reasons = "; ".join(f"{s.shown}: {s.reason}" for s in found)
            raise EngineError(f"no caption server answers ({reasons})")
        self.info = RemoteInfo(tuple(found), sum(s.slots for s in found if s.answering))
        self._prober = threading.Thread(target=self._probe_loop, name="caprl-remote-probe", daemon=True)
        self._prober.start()
        return self.info

    @property
    def parallel(self) -> int:
        """Captions the servers in rotation take at once."""
        with self._lock:
            slots = sum(s.stats.slots for s in self._servers if s.stats.in_rotation)
        return max(1, slots)

    def server_stats(self) -> list[ServerStats]:
        with self._lock:
            return [ServerStats(**vars(s.stats)) for s in self._servers]

    def submit(self, image: PreparedImage, prompt: PromptSpec, params: GenerationParams) -> int:
        if self.info is None or self._closed.is_set():
            raise EngineError("the remote engine is not running")
        rid = next(self._ids)
        seed = params.seed if params.seed is not None else next(self._seeds)
        request = _Request(rid, image_data_url(image), image.width, image.height, prompt, params, seed)
        with self._lock:
            self._requests[rid] = request
            self._waiting.append(request)
        self._dispatch()
        return rid

    def next_reply(self) -> CaptionReply:
        """The next reply to a caption in flight; waits for it."""
        while True:
            with self._lock:
                if not self._requests:
                    raise EngineError("no caption is in flight")
            try:
                reply = self._replies.get(timeout=1.0)
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
        stopped: list[_Request] = []
        with self._lock:
            for rid in request_ids:
                request = self._requests.pop(rid, None)
                if request is not None:
                    request.ended = True
                    request.cancel.set()
                    if request in self._waiting:
                        self._waiting.remove(request)
                    stopped.append(request)
        for request in stopped:
            _close_stream(request)

    def cancel(self) -> None:
        """End every caption now as cancelled (Stop); their streams are closed, which stops them on the servers.
        Safe from any thread."""
        with self._lock:
            requests = [r for r in self._requests.values() if not r.ended]
            self._waiting.clear()
        for request in requests:
            request.cancel.set()
            self._end(request, CaptionDone(request.rid, _output("", request, "cancelled", 0, 0.0, 0.0, None)))
            _close_stream(request)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            requests = list(self._requests.values())
            self._requests.clear()
            self._waiting.clear()
        for request in requests:
            request.ended = True
            request.cancel.set()
            _close_stream(request)
        for server in self._servers:
            close = getattr(server.client, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- spreading ------------------------------------------------------------------------------

    def _end(self, request: _Request, reply: CaptionDone | CaptionFailed) -> None:
        """Send ``request``'s one final reply, unless it has one already (or was abandoned)."""
        with self._lock:
            if request.ended:
                return
            request.ended = True
        self._replies.put(reply)

    def _dispatch(self) -> None:
        """Start waiting captions on servers with room, the emptiest first."""
        starts: list[tuple[_Request, _Server]] = []
        with self._lock:
            while self._waiting:
                server = self._choose()
                if server is None:
                    break
                request = self._waiting.popleft()
                server.stats.take()
                request.attempts += 1
                request.started_with = server.stats.in_flight
                starts.append((request, server))
        for request, server in starts:
            try:
                threading.Thread(target=self._run, args=(request, server), name=f"caprl-remote-{request.rid}",
                                 daemon=True).start()
            except RuntimeError as exc:  # no thread could be started (a system limit): this caption fails
                with self._lock:
                    server.stats.give_back()
                self._end(request, CaptionFailed(request.rid, EngineError(f"could not start a request: {exc}")))

    def _choose(self) -> _Server | None:
        free = [s for s in self._servers if s.stats.in_rotation and s.stats.in_flight < s.stats.slots]
        if not free:
            return None
        return min(free, key=lambda s: (s.stats.in_flight / s.stats.slots, s.stats.failures_in_row))

    def _run(self, request: _Request, server: _Server) -> None:
        try:
            self._attempt(request, server)
        finally:
            if request.streaming:
                with self._lock:
                    request.streaming = False
                    server.streaming -= 1

    def _attempt(self, request: _Request, server: _Server) -> None:
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        tokens = 0
        finish: str | None = None
        usage: Any = None
        try:
            request.stream = None
            if request.cancel.is_set():
                raise _Stopped
            stream = server.client.chat.completions.create(
                model=server.stats.model, messages=_messages(request), stream=True,
                stream_options={"include_usage": True}, max_tokens=request.params.max_tokens,
                temperature=request.params.temperature, top_p=request.params.top_p, seed=request.seed,
                extra_body={"repeat_penalty": request.params.repeat_penalty},
            )
            request.stream = stream
            if request.cancel.is_set():  # stopped while the request was being made
                raise _Stopped
            with stream:
                for chunk in stream:
                    if request.cancel.is_set():
                        raise _Stopped
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or ():
                        text = getattr(choice.delta, "content", None) or ""
                        if text:
                            if first is None:
                                first = time.perf_counter()
                                self._streams(request, server)
                            tokens += 1
                            pieces.append(text)
                            if not request.ended:
                                self._replies.put(CaptionText(request.rid, text))
                        finish = choice.finish_reason or finish
            if finish is None:
                raise EngineError("the stream ended before the caption did")
        except _Stopped:
            self._release(server)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of a server sends the caption elsewhere
            if request.cancel.is_set():  # the stream was closed to stop it: not the server's fault
                self._release(server)
            elif finish is not None:  # the connection dropped after the caption was complete: it stands
                self._done(request, server, pieces, tokens, finish, usage, started, first)
            else:
                self._failed(request, server, exc, restarted=bool(pieces))
            self._dispatch()
            return
        self._done(request, server, pieces, tokens, finish, usage, started, first)
        self._dispatch()

    def _streams(self, request: _Request, server: _Server) -> None:
        """The caption's first piece came: it holds one of the server's places until it ends."""
        with self._lock:
            request.streaming = True
            server.streaming += 1
            server.most_streaming = max(server.most_streaming, server.streaming)

    def _release(self, server: _Server) -> None:
        with self._lock:
            server.stats.give_back()

    def _done(self, request: _Request, server: _Server, pieces: list[str], tokens: int, finish: str, usage: Any,
              started: float, first: float | None) -> None:
        ended = time.perf_counter()
        output_tokens = getattr(usage, "completion_tokens", None) or tokens
        output = _output("".join(pieces), request, finish, output_tokens, (first or ended) - started,
                         ended - (first or ended), getattr(usage, "prompt_tokens", None), server=server)
        with self._lock:
            server.stats.give_back()
            server.stats.failures_in_row = 0
            server.stats.made += 1
            server.stats.output_tokens += output_tokens
            self._learn(server, request.started_with, (first or ended) - started, ended - (first or ended))
        self._end(request, CaptionDone(request.rid, output))

    def _failed(self, request: _Request, server: _Server, exc: BaseException, *, restarted: bool) -> None:
        reason = _describe(exc)
        LOG.warning("%s failed on caption %d: %s", server.stats.shown, request.rid, reason)
        refused = _refused_request(exc)
        with self._lock:
            server.stats.give_back()
            # A server whose number was not given, busy (429) while making others: it takes no more than those.
            # Said at any time, not only while measuring (a burst can settle one too high); not its failure, and
            # not the caption's: it waits for the next free place.
            full = not server.spec.slots_given and isinstance(exc, openai.APIStatusError) \
                and exc.status_code == 429 and server.stats.in_flight > 0
            if full:
                self._settle(server, server.stats.in_flight)
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
            why = (f"{server.stats.shown} refused it: {reason}" if refused
                   else f"no server could caption it in {request.attempts} tries (last: {server.stats.shown}, "
                        f"{reason})")
            self._end(request, CaptionFailed(request.rid, EngineError(why)))
            return
        if request.ended or request.cancel.is_set():
            return
        if restarted:
            self._replies.put(CaptionRestarted(request.rid, f"{server.stats.shown}: {reason}"))
        # A short back-off, longer for a caption that keeps failing, then it waits for any server with room.
        delay = self._backoff_s * 2 ** min(request.attempts - 1, 5)
        timer = threading.Timer(delay, self._requeue, args=(request,))
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError:
            self._requeue(request)

    def _learn(self, server: _Server, started_with: int, first_s: float, decode_s: float) -> None:
        """Measuring a server's captions at a time (under the lock), from a caption it finished.

        One that started beside others and waited for its first piece most of a caption longer than the
        quickest did was queued by the server: it waited for another caption to end. The second such caption
        settles the number at the most captions seen streaming at once (the server was full, so that is its
        number; which of a burst of requests gets queued depends on which reached it last, so the count the
        queued one started with says little). One that started with the server as full as allowed, and did
        not wait, doubles the number."""
        if not server.stats.measuring:
            return
        fastest = server.fastest_first_s = min(server.fastest_first_s or first_s, first_s)
        shortest = server.shortest_caption_s = min(server.shortest_caption_s or first_s + decode_s,
                                                   first_s + decode_s)
        # Measured against a whole caption, not the first piece: on a CPU server the image's encoding is most
        # of a caption, so a queued caption's first piece comes only about twice as late as the quickest.
        if started_with > 1 and first_s - fastest > max(0.75 * shortest, MIN_QUEUE_WAIT_S):
            server.queued_seen += 1
            if server.queued_seen >= QUEUED_TO_SETTLE:
                self._settle(server, server.most_streaming)
        elif started_with >= server.stats.slots:
            server.stats.slots = min(MEASURE_CEILING, server.stats.slots * 2)
            if server.stats.slots == MEASURE_CEILING:
                server.stats.measuring = False

    def _settle(self, server: _Server, slots: int) -> None:
        slots = max(1, min(server.stats.slots, slots))
        if slots == server.stats.slots and not server.stats.measuring:
            return
        server.stats.slots, server.stats.measuring = slots, False
        LOG.warning("%s takes %d caption%s at a time (measured)", server.stats.shown, server.stats.slots,
                    "s" if server.stats.slots != 1 else "")

    def _requeue(self, request: _Request) -> None:
        with self._lock:
            if request.ended or request.cancel.is_set():
                return
            self._waiting.appendleft(request)
        self._dispatch()

    def _fail_waiting_if_no_server(self) -> None:
        """When every server has been out of the rotation for ``give_up_s``, the captions waiting fail (the job
        stays resumable). Measured from the last server to leave, so an earlier outage never counts."""
        with self._lock:
            if any(s.stats.in_rotation for s in self._servers) or not self._waiting:
                return
            last_out = max((s.out_since or 0.0) for s in self._servers)
            if time.monotonic() - last_out < self._give_up_s:
                return
            waiting = list(self._waiting)
            self._waiting.clear()
            reasons = "; ".join(f"{s.stats.shown}: {s.stats.reason}" for s in self._servers)
        error = EngineError(f"no caption server answers ({reasons}); resume the job once one does")
        for request in waiting:
            self._end(request, CaptionFailed(request.rid, error))

    def _probe_loop(self) -> None:
        while not self._closed.wait(self._probe_s):
            with self._lock:
                out = [s for s in self._servers if not s.stats.in_rotation]
            for server in out:
                model, reason = served_model(server.client)
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


def _close_stream(request: _Request) -> None:
    """Closing the connection stops the caption on the server; the reading thread may be closing it already."""
    stream = request.stream
    if stream is not None:
        with contextlib.suppress(Exception):
            stream.close()


def _refused_request(exc: BaseException) -> bool:
    """An HTTP 4xx that is about this request (too large an image, a bad parameter), not the server being busy
    or down: trying it elsewhere would fail the same way."""
    if isinstance(exc, openai.APIStatusError) and 300 <= exc.status_code < 400:
        return True  # a redirect, not followed: the same everywhere, and not a failure of the server
    return isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500 \
        and exc.status_code not in (408, 409, 429)


def served_model(client: Any) -> tuple[str, str]:
    """(model id, "") when the server answers /v1/models, else ("", why not). A short time-out: a server that
    accepts connections and hangs must not hold up the others' probes."""
    try:
        quick = client.with_options(timeout=PROBE_TIMEOUT_S) if hasattr(client, "with_options") else client
        models = quick.models.list()
        ids = [m.id for m in models.data]
    except Exception as exc:  # noqa: BLE001 - whatever it is, the server does not answer
        return "", _describe(exc)
    return (ids[0] if ids else ""), ""


def server_slots(client: Any, url: str) -> int | None:
    """How many captions llama.cpp's llama-server takes at once (``total_slots`` of its ``/props``, at the
    root of its address); None from a server that does not say (vLLM, LM Studio, llama-cpp-python's)."""
    root = url.rstrip("/").removesuffix("/v1")
    try:
        quick = client.with_options(timeout=PROBE_TIMEOUT_S) if hasattr(client, "with_options") else client
        props = quick.get(root + "/props", cast_to=object)
        slots = props.get("total_slots") if isinstance(props, dict) else None
    except Exception:  # noqa: BLE001 - not llama-server: measured instead
        return None
    return slots if isinstance(slots, int) and 1 <= slots <= MAX_SLOTS else None


def ask_server(server: Server) -> tuple[str, str]:
    """Whether a server answers now: (model id, "") or ("", why not)."""
    try:
        client = make_client(server, PROBE_TIMEOUT_S)
    except CaprlError as exc:  # its key or certificates cannot be read
        return "", f"cannot be asked: {exc}"
    with contextlib.closing(client):  # (its connections: the client given to it is not closed by itself)
        return served_model(client)


def answer_line(server: Server) -> str:
    """Whether a server answers now, for a listing: "answers, serving MODEL" or "does not answer: WHY"."""
    model, reason = ask_server(server)
    return f"answers, serving {model or 'no model'}" if not reason else f"does not answer: {reason}"


def _messages(request: _Request) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.prompt.system:
        messages.append({"role": "system", "content": request.prompt.system})
    messages.append({"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": request.image_url}},
        {"type": "text", "text": request.prompt.user},
    ]})
    return messages


def _output(text: str, request: _Request, finish: str, output_tokens: int, first_s: float, decode_s: float,
            prompt_tokens: int | None, *, server: _Server | None = None) -> CaptionOutput:
    """What a caption made (``server``: the one that made it, named in the records; None for one cancelled)."""
    stats = CaptionStats(
        image_tokens=0,  # the server does not say; its prompt tokens include them
        image_width=request.width, image_height=request.height, prompt_tokens=prompt_tokens or 0,
        image_encode_ms=0.0, prompt_ms=first_s * 1000, output_tokens=output_tokens, decode_ms=decode_s * 1000,
        total_seconds=first_s + decode_s, finish_reason=finish, seed=request.seed,
        engine=server.stats.shown if server else "", engine_model=server.stats.model if server else "")
    return CaptionOutput(text, stats, prompt_text="")


def _describe(exc: BaseException) -> str:
    """A failure in the user's words: what the server said, or why it could not be reached."""
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "busy (HTTP 429, too many requests)"
        if 300 <= exc.status_code < 400:
            where = exc.response.headers.get("location", "")
            to = f" to {shown_url(where)}" if where else ""
            return (f"redirected elsewhere{to} (HTTP {exc.status_code}), which the app does not follow: images go "
                    "only to the address given; give the one it redirects to if that is meant")
        return f"HTTP {exc.status_code}"
    if isinstance(exc, openai.APITimeoutError):
        return "did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if "CERTIFICATE_VERIFY_FAILED" in str(cause):
            return ("its HTTPS certificate is not one this computer trusts (a private certificate authority's "
                    "certificates can be given: `engines add … --ca-file`)")
        return f"cannot be reached ({type(cause).__name__ if cause else 'connection error'})"
    if isinstance(exc, EngineError):
        return str(exc)
    if isinstance(exc, json.JSONDecodeError):  # openai passes on a body that is no JSON: a proxy's page, a bug
        LOG.info("an answer that is not JSON: %s", exc)
        return "its answer is not the JSON an OpenAI-compatible server sends (the details are in the log)"
    return f"{type(exc).__name__}: {exc}"
