"""Captions made by OpenAI-compatible servers (vLLM, llama.cpp's llama-server, LM Studio), one or several at once.

``RemoteEngine`` is the engine the scheduler already drives (``submit`` / ``next_reply`` / ``abandon``), so jobs,
the journal, resume, sidecars and exports need no second path. Each caption is one streamed chat completion:
the image as the app prepared it (scaled to the detail budget, PNG so nothing is lost on the way), the
language's system and user prompts, the sampling settings and seed.

Several servers share a folder: each takes up to its ``slots`` captions at a time, and a caption goes to the
server with the most room. A server given without ``#N`` has that number found: llama-server says it
(``/props``); for the others it is measured from their replies (``capacity``).

A server is never trusted with more than a caption needs: the stream is read up to ``max_tokens`` pieces and
``MAX_CHARS_PER_TOKEN`` characters a token (then it ends as "length"), its bytes up to what such a caption can
take, and a caption may wait for a reply and take in all only as long as the server's pace allows
(``capacity.Deadlines``); a server whose captions go without a reply for half that is said to be slow.

A server that fails (refused, an HTTP error, no reply in time, a stream cut short) hands its caption to
another after a short back-off; a caption that had streamed text first says ``CaptionRestarted``, so the text
shown starts again and nothing is captioned twice. A 429, or a stream cut short while the server holds other
captions, says it takes fewer: neither counts against the server or the caption. After ``MAX_FAILURES`` in a
row a server leaves the rotation and is asked every ``PROBE_S`` seconds whether it answers again. Only when no
server has answered for ``GIVE_UP_S`` do the captions waiting fail, with the reason: the job then ends
resumable.

Threads: one per caption in flight (it reads the stream; closing the stream cancels the caption on the server)
and one that probes servers out of rotation. They hand their replies to ``next_reply`` through one queue; the
thread waiting there also holds the captions in flight to their deadlines.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import logging
import queue
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import openai
from PIL import Image

from caprl_desktop.core.engine.remote import keys
from caprl_desktop.core.engine.remote.capacity import MEASURE_START, Capacity, Deadlines
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
READ_TIMEOUT_S = 300.0  # a client's own limit between two reads; each caption's request sets its deadline
WATCH_S = 0.5  # how often the captions in flight are held to their deadlines
MAX_CHARS_PER_TOKEN = 64  # longer than any token's text: a caption past max_tokens of these is cut there
# What a caption's stream may send in all: every event repeats ids, the model's name and the like.
STREAM_BYTES_PER_TOKEN, STREAM_BYTES_BASE = 2048, 1 << 20


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
    silent_s: float = 0.0  # the longest one of its captions in flight has waited for a reply, now
    slow: bool = False  # one has waited more than half of what it may

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
    capacity: Capacity
    out_since: float | None = None  # when it left the rotation
    said_slow: bool = False  # that it is slow was said, and it has not replied since


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

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(eq=False)
class _Attempt:
    """One try of a caption on one server: its place there, and its deadlines (``time.monotonic``)."""

    key: int  # its flight in the server's ``capacity``
    request: _Request
    server: _Server
    started: float
    reply_s: float  # the longest it may wait for a piece
    total_s: float  # the longest it may take in all
    last_reply: float = 0.0  # when it started, then when its last piece came
    stream: Any = None  # its open stream, closed to cancel it (or when its time is up)
    expired: str = ""  # why its time is up ("no reply for 40 s"), set by the watch
    released: bool = False  # its place on the server is given back


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
    under the lock and marks the request ended, and whatever its thread finds later is dropped.
    ``notice``: told (from the thread waiting for replies) when a server becomes slow, for the user."""

    def __init__(self, servers: Sequence[Server], *, give_up_s: float = GIVE_UP_S, backoff_s: float = BACKOFF_S,
                 probe_s: float = PROBE_S, read_timeout_s: float = READ_TIMEOUT_S,
                 deadlines: Deadlines | None = None, notice: Callable[[str], None] | None = None,
                 client_factory: Callable[[Server, float], Any] = make_client) -> None:
        if not servers:
            raise EngineError("no caption server was given")
        self._specs = list(servers)
        self._give_up_s, self._backoff_s, self._probe_s = give_up_s, backoff_s, probe_s
        self._read_timeout_s = read_timeout_s
        self._deadlines = deadlines or Deadlines()
        self._notice = notice
        self._client_factory = client_factory
        self._servers: list[_Server] = []
        self._lock = threading.Lock()
        self._replies: queue.Queue[CaptionReply] = queue.Queue()
        self._waiting: deque[_Request] = deque()  # submitted, no server free yet
        self._requests: dict[int, _Request] = {}  # submitted, not yet read to their end by ``next_reply``
        self._attempts: set[_Attempt] = set()  # tries going on, for the watch
        self._ids = itertools.count(1)
        self._keys = itertools.count(1)
        self._seeds = itertools.count(int(time.time()) % 2**31)
        self._closed = threading.Event()
        self._prober: threading.Thread | None = None
        self._watched = 0.0  # (monotonic) when the tries were last held to their deadlines
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
            measuring = not spec.slots_given and not said
            stats = ServerStats(spec.shown, model, spec.label, slots, measuring=measuring,
                                slots_from="given" if spec.slots_given else "server" if said else "measured",
                                in_rotation=not reason, reason=reason)
            deadlines = replace(self._deadlines, reply_s=spec.reply_timeout_s or self._deadlines.reply_s)
            capacity = Capacity(spec.shown, slots, measuring=measuring, fixed=spec.slots_given, deadlines=deadlines)
            server = _Server(spec, client, stats, capacity, out_since=time.monotonic() if reason else None)
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
            slots = sum(s.capacity.slots for s in self._servers if s.stats.in_rotation)
        return max(1, slots)

    def server_stats(self) -> list[ServerStats]:
        now = time.monotonic()
        with self._lock:
            silent, slow = self._silences(now)
            return [replace(s.stats, slots=s.capacity.slots, measuring=s.capacity.measuring,
                            silent_s=silent.get(id(s), 0.0), slow=id(s) in slow) for s in self._servers]

    def _silences(self, now: float) -> tuple[dict[int, float], set[int]]:
        """(under the lock) By id of a server: the longest one of its tries has waited for a reply; and the
        servers one of whose tries has waited more than half what it may (slow)."""
        silent: dict[int, float] = {}
        slow: set[int] = set()
        for attempt in self._attempts:
            waited = now - attempt.last_reply
            silent[id(attempt.server)] = max(silent.get(id(attempt.server), 0.0), waited)
            if waited > attempt.reply_s / 2:
                slow.add(id(attempt.server))
        return silent, slow

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
            _close_stream(request.attempt)

    def cancel(self) -> None:
        """End every caption now as cancelled (Stop); their streams are closed, which stops them on the servers.
        Safe from any thread."""
        with self._lock:
            requests = [r for r in self._requests.values() if not r.ended]
            self._waiting.clear()
        for request in requests:
            request.cancel.set()
            self._end(request, CaptionDone(request.rid, _output("", request, "cancelled", 0, 0.0, 0.0, None)))
            _close_stream(request.attempt)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            requests = list(self._requests.values())
            self._requests.clear()
            self._waiting.clear()
        for request in requests:
            request.ended = True
            request.cancel.set()
            _close_stream(request.attempt)
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
        starts: list[_Attempt] = []
        now = time.monotonic()
        with self._lock:
            while self._waiting:
                server = self._choose()
                if server is None:
                    break
                request = self._waiting.popleft()
                key = next(self._keys)
                server.capacity.start(key, request.pixels)
                server.stats.take()
                request.attempts += 1
                attempt = _Attempt(key, request, server, now, server.capacity.reply_allowance(request.pixels),
                                   server.capacity.total_allowance(request.pixels, request.params.max_tokens),
                                   last_reply=now)
                request.attempt = attempt
                self._attempts.add(attempt)
                starts.append(attempt)
        for attempt in starts:
            try:
                threading.Thread(target=self._run, args=(attempt,), name=f"caprl-remote-{attempt.request.rid}",
                                 daemon=True).start()
            except RuntimeError as exc:  # no thread could be started (a system limit): this caption fails
                with self._lock:
                    self._release(attempt)
                self._end(attempt.request,
                          CaptionFailed(attempt.request.rid, EngineError(f"could not start a request: {exc}")))

    def _choose(self) -> _Server | None:
        free = [s for s in self._servers if s.stats.in_rotation and s.capacity.has_room()]
        if not free:
            return None
        return min(free, key=lambda s: (s.capacity.in_flight / s.capacity.slots, s.stats.failures_in_row))

    def _release(self, attempt: _Attempt, *, turned_away: bool = False) -> bool:
        """Give the try's place on its server back (once; under the lock). ``turned_away``: the server answered
        busy or cut the stream short; True when that says it takes fewer (``Capacity.turned_away``)."""
        if attempt.released:
            return False
        attempt.released = True
        self._attempts.discard(attempt)
        attempt.server.stats.give_back()
        if turned_away:
            return attempt.server.capacity.turned_away(attempt.key)
        attempt.server.capacity.ended(attempt.key)
        return False

    def _run(self, attempt: _Attempt) -> None:
        request, server = attempt.request, attempt.server
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        tokens = chars = 0
        finish: str | None = None
        usage: dict[str, Any] = {}
        opened = False
        max_tokens = request.params.max_tokens
        try:
            if request.cancel.is_set():
                raise _Stopped
            stream = server.client.chat.completions.create(
                model=server.stats.model, messages=_messages(request), stream=True,
                stream_options={"include_usage": True}, max_tokens=max_tokens,
                temperature=request.params.temperature, top_p=request.params.top_p, seed=request.seed,
                extra_body={"repeat_penalty": request.params.repeat_penalty},
                # Its first byte may take as long as a reply may (the watch cannot close a stream not yet open).
                timeout=_timeout(attempt.reply_s + WATCH_S),
            )
            attempt.stream, opened = stream, True
            if request.cancel.is_set():  # stopped while the request was being made
                raise _Stopped
            limit = STREAM_BYTES_BASE + STREAM_BYTES_PER_TOKEN * max_tokens
            with stream:
                for text, said_finish, said_usage in stream_pieces(stream.response, limit):
                    if request.cancel.is_set():
                        raise _Stopped
                    usage = said_usage or usage
                    if text and (finish is not None or tokens >= max_tokens):
                        finish = finish or "length"  # a server going on past the end, or past max_tokens
                        break
                    if text:
                        text = text[:MAX_CHARS_PER_TOKEN * max_tokens - chars]
                        if first is None:
                            first = time.perf_counter()
                        self._replied(attempt, first=tokens == 0)
                        tokens, chars = tokens + 1, chars + len(text)
                        pieces.append(text)
                        if not request.ended:
                            self._replies.put(CaptionText(request.rid, text))
                        if chars >= MAX_CHARS_PER_TOKEN * max_tokens:
                            finish = "length"  # more text than max_tokens can make
                            break
                    finish = said_finish or finish
                    if finish is not None and usage:
                        break  # all is said (some servers leave the stream open after it)
            if finish is None:
                raise StreamCut("the stream ended before the caption did")
        except _Stopped:
            with self._lock:
                self._release(attempt)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of a server sends the caption elsewhere
            if request.cancel.is_set() and not attempt.expired:  # closed to stop it: not the server's fault
                with self._lock:
                    self._release(attempt)
            elif finish is not None:  # the connection dropped after the caption was complete: it stands
                self._done(attempt, pieces, tokens, finish, usage, started, first)
            else:
                self._failed(attempt, exc, restarted=bool(pieces), opened=opened)
            self._dispatch()
            return
        self._done(attempt, pieces, tokens, finish, usage, started, first)
        self._dispatch()

    def _replied(self, attempt: _Attempt, *, first: bool) -> None:
        """A piece came: the try's wait for a reply starts again; the first holds one of the server's places."""
        with self._lock:
            attempt.last_reply = time.monotonic()
            if first:
                attempt.server.capacity.first_piece(attempt.key)

    def _done(self, attempt: _Attempt, pieces: list[str], tokens: int, finish: str, usage: dict[str, Any],
              started: float, first: float | None) -> None:
        request, server = attempt.request, attempt.server
        ended = time.perf_counter()
        output_tokens = usage.get("completion_tokens") or tokens
        first_s, decode_s = (first or ended) - started, ended - (first or ended)
        output = _output("".join(pieces), request, finish, output_tokens, first_s, decode_s,
                         usage.get("prompt_tokens"), server=server)
        with self._lock:
            if not attempt.released:
                attempt.released = True
                self._attempts.discard(attempt)
                server.stats.give_back()
                server.capacity.finished(attempt.key, first_s, decode_s, tokens)
            server.stats.failures_in_row = 0
            server.stats.made += 1
            server.stats.output_tokens += output_tokens
        self._end(request, CaptionDone(request.rid, output))

    def _failed(self, attempt: _Attempt, exc: BaseException, *, restarted: bool, opened: bool) -> None:
        request, server = attempt.request, attempt.server
        reason = attempt.expired or _describe(exc)
        LOG.warning("%s failed on caption %d: %s", server.stats.shown, request.rid, reason)
        refused = not attempt.expired and _refused_request(exc)
        # Busy (429), or a stream cut short: while the server holds other captions, it takes fewer than it was
        # given. Neither its failure nor the caption's: the caption waits for the next free place.
        cut = opened and isinstance(exc, StreamCut | openai.APIConnectionError) \
            and not isinstance(exc, openai.APITimeoutError)
        busy = isinstance(exc, openai.APIStatusError) and exc.status_code == 429
        with self._lock:
            full = self._release(attempt, turned_away=not attempt.expired and (busy or cut))
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

    def _watch(self) -> None:
        """Hold the tries to their deadlines: one whose time is up has its stream closed (its thread then fails
        it, so it is tried again); a server whose captions wait for a reply more than half their time is said
        to be slow, once, until none waits that long."""
        now = self._watched = time.monotonic()
        late: list[_Attempt] = []
        said: list[str] = []
        with self._lock:
            for attempt in self._attempts:
                waited = now - attempt.last_reply
                if not attempt.expired and waited > attempt.reply_s:
                    attempt.expired = f"no reply for {waited:.0f} s"
                elif not attempt.expired and now - attempt.started > attempt.total_s:
                    attempt.expired = f"not done after {now - attempt.started:.0f} s"
                if attempt.expired:
                    late.append(attempt)
            silent, slow = self._silences(now)
            for server in self._servers:
                if id(server) in slow and not server.said_slow:
                    said.append(f"server {server.stats.label} is slow (no reply for {silent[id(server)]:.0f} s)")
                server.said_slow = id(server) in slow
        for attempt in late:
            _close_stream(attempt)
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


class StreamCut(EngineError):
    """The stream ended (``data: [DONE]``, or the body's end) before a finish reason came."""


class ReplyTooLarge(EngineError):
    """A caption's stream sent more bytes than a caption of its ``max_tokens`` can take."""


def _close_stream(attempt: _Attempt | None) -> None:
    """Closing the connection stops the caption on the server; the reading thread may be closing it already.
    The socket is shut down first: a thread blocked reading it wakes at once (closing alone may not wake it)."""
    stream = attempt.stream if attempt is not None else None
    if stream is None:
        return
    with contextlib.suppress(Exception):
        network = stream.response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # (the plain socket's: TLS state is the reader's)
    with contextlib.suppress(Exception):
        stream.close()


def _timeout(seconds: float) -> Any:
    return openai.Timeout(seconds, connect=CONNECT_TIMEOUT_S)


def stream_pieces(response: Any, byte_limit: int) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(text, finish reason, usage) of each choice of a streamed chat completion, read from its raw response.

    The events are read here rather than by the SDK so that a server can send no more than ``byte_limit``
    bytes in all (``ReplyTooLarge``), however it sends them: one endless event is as bounded as endless small
    ones. Comments (keep-alives) are skipped; ``data: [DONE]`` or the body's end ends it; an ``error`` the
    server sends is raised as ``EngineError``; a connection that fails is openai's connection error."""
    pending = bytearray()
    data: list[bytes] = []
    received = 0
    for block in _body(response):
        received += len(block)
        if received > byte_limit:
            raise ReplyTooLarge(f"it sent more than {byte_limit // 2**20} MB for one caption")
        searched = len(pending)
        pending += block
        while (end := pending.find(b"\n", searched)) >= 0:
            line = bytes(pending[:end]).rstrip(b"\r")
            del pending[:end + 1]
            searched = 0
            if line:
                name, _, value = line.partition(b":")
                if name == b"data":
                    data.append(value.removeprefix(b" "))
                continue
            payload, data = b"\n".join(data), []
            if not payload:
                continue
            if payload.startswith(b"[DONE]"):
                return
            yield from _choices(payload)


def _choices(payload: bytes) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise EngineError("it sent something that is not a streamed chat completion") from exc
    if not isinstance(chunk, dict):
        return
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise EngineError(f"it reported an error: {str(message)[:300]}")
    usage = chunk.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    choices = [c for c in chunk.get("choices") or () if isinstance(c, dict)]
    if not choices and usage:
        yield "", None, usage
    for choice in choices:
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else None
        finish = choice.get("finish_reason")
        yield (text if isinstance(text, str) else ""), (finish if isinstance(finish, str) else None), usage


def _body(response: Any) -> Iterator[bytes]:
    """The response's bytes; a failing connection is openai's error for it, as the SDK's own reading gives."""
    # openai 3 builds on httpx2, earlier releases on httpx: the response's own package has the errors.
    transport = sys.modules[type(response).__module__.partition(".")[0]]
    try:
        yield from response.iter_bytes()
    except transport.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except transport.RequestError as exc:
        raise openai.APIConnectionError(request=response.request) from exc


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
