"""The wire to an OpenAI-compatible caption server: the only module that speaks to one (and imports ``openai``).

A client per server (redirects not followed, HTTPS always verified, the library's own retries off), the
questions asked before a run (which model, how many captions at a time), one caption as a streamed chat
completion and its pieces read from the raw response (so that no server can send more than a caption can
take), and what went wrong in the user's words. The ``openai`` library is imported on first use (``sdk``): it
takes 0.3 s, and most runs of the app never ask a server.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import logging
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from PIL import Image

from caprl_desktop.core.engine.remote import keys
from caprl_desktop.core.engine.remote.servers import MAX_SLOTS, Server, check_address, shown_url
from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats
from caprl_desktop.core.errors import CaprlError, EngineError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import GenerationParams
from caprl_desktop.core.prompts import PromptSpec

LOG = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0  # /v1/models must answer within this, or the server counts as not answering
CONNECT_TIMEOUT_S = 10.0
MAX_CHARS_PER_TOKEN = 64  # longer than any token's text: a caption past max_tokens of these is cut there
# What a caption's stream may send in all: every event repeats ids, the model's name and the like.
STREAM_BYTES_PER_TOKEN, STREAM_BYTES_BASE = 2048, 1 << 20


@functools.cache
def sdk() -> ModuleType:
    """The ``openai`` library, imported on first use (see the module's docstring)."""
    import openai

    return openai


class StreamCut(EngineError):
    """The stream ended (``data: [DONE]``, or the body's end) before a finish reason came."""


class ReplyTooLarge(EngineError):
    """A caption's stream sent more bytes than a caption of its ``max_tokens`` can take."""


def image_data_url(image: PreparedImage) -> str:
    """The prepared image as a PNG data URL: lossless, so a server sees exactly what a local engine would."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (image.width, image.height), image.rgb).save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def make_client(server: Server, timeout: float) -> Any:
    """An OpenAI client for ``server``; the library's own retries are off (the engine retries elsewhere).

    HTTPS certificates are always verified: against the system's authorities, and for a server saved with a
    ``ca_file`` against those certificates too (a private CA). Raises ``KeyStoreError`` when its key is missing,
    ``ServerAddressError`` for an address with credentials (saved before they were refused)."""
    check_address(server.url)
    key = keys.api_key(server)
    openai = sdk()
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


def served_model(client: Any) -> tuple[str, str]:
    """(model id, "") when the server answers /v1/models, else ("", why not). A short time-out: a server that
    accepts connections and hangs must not hold up the others' probes."""
    try:
        quick = client.with_options(timeout=PROBE_TIMEOUT_S) if hasattr(client, "with_options") else client
        models = quick.models.list()
        ids = [m.id for m in models.data]
    except Exception as exc:  # noqa: BLE001 - whatever it is, the server does not answer
        return "", describe(exc)
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


# --- one caption ------------------------------------------------------------------------------


def open_stream(client: Any, model: str, image_url: str, prompt: PromptSpec, params: GenerationParams, seed: int,
                reply_s: float) -> Any:
    """Ask for one caption as a streamed chat completion; its response's headers have come when this returns.
    ``reply_s``: the longest to wait for a byte (the engine's watch cannot close a stream not yet open)."""
    openai = sdk()
    messages: list[dict[str, Any]] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    messages.append({"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": image_url}},
        {"type": "text", "text": prompt.user},
    ]})
    return client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True},
        max_tokens=params.max_tokens, temperature=params.temperature, top_p=params.top_p, seed=seed,
        extra_body={"repeat_penalty": params.repeat_penalty},
        timeout=openai.Timeout(reply_s, connect=CONNECT_TIMEOUT_S),
    )


@dataclass
class Reading:
    """What a caption's stream has given so far (kept when its connection fails after the caption's end)."""

    pieces: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


def read_caption(stream: Any, max_tokens: int, caption: Reading, on_piece: Callable[[str], None]) -> None:
    """Read a caption's stream into ``caption``; ``on_piece`` hears each piece kept (and may raise to stop).

    A server is trusted with no more than the caption asked for: ``max_tokens`` pieces and
    ``MAX_CHARS_PER_TOKEN`` characters a token (what comes past either ends it as "length", unread), and the
    bytes such a caption can take (``ReplyTooLarge``). Raises ``StreamCut`` when it ends before a finish reason."""
    chars, char_limit = 0, MAX_CHARS_PER_TOKEN * max_tokens
    with stream:
        for text, finish, usage in stream_pieces(stream, STREAM_BYTES_BASE + STREAM_BYTES_PER_TOKEN * max_tokens):
            caption.usage = usage or caption.usage
            if text and (caption.finish is not None or len(caption.pieces) >= max_tokens):
                caption.finish = caption.finish or "length"  # a server going on past the end, or past max_tokens
                break
            if text:
                text = text[:char_limit - chars]
                on_piece(text)
                caption.pieces.append(text)
                chars += len(text)
                if chars >= char_limit:
                    caption.finish = "length"  # more text than max_tokens can make
                    break
            caption.finish = finish or caption.finish
            if caption.finish is not None and caption.usage:
                break  # all is said (some servers leave the stream open after it)
    if caption.finish is None:
        raise StreamCut("the stream ended before the caption did")


def caption_output(reading: Reading, width: int, height: int, seed: int, *, first_s: float = 0.0,
                   decode_s: float = 0.0, engine: str = "", model: str = "") -> CaptionOutput:
    """A caption read in the app's terms; ``engine``: the server that made it, as records name it, and
    ``model`` the id it serves."""
    tokens = reading.usage.get("completion_tokens") or len(reading.pieces)
    stats = CaptionStats(
        image_tokens=0,  # the server does not say; its prompt tokens include them
        image_width=width, image_height=height, prompt_tokens=reading.usage.get("prompt_tokens") or 0,
        image_encode_ms=0.0, prompt_ms=first_s * 1000, output_tokens=tokens, decode_ms=decode_s * 1000,
        total_seconds=first_s + decode_s, finish_reason=reading.finish or "", seed=seed, engine=engine,
        engine_model=model)
    return CaptionOutput("".join(reading.pieces), stats, prompt_text="")


def close_stream(stream: Any) -> None:
    """Closing the connection stops the caption on the server; the reading thread may be closing it already.
    The socket is shut down first: a thread blocked reading it wakes at once (closing alone may not wake it)."""
    with contextlib.suppress(Exception):
        network = stream.response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # (the plain socket's: TLS state is the reader's)
    with contextlib.suppress(Exception):
        stream.close()


def stream_pieces(stream: Any, byte_limit: int) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(text, finish reason, usage) of each choice of a streamed chat completion, read from its raw response.

    The events are read here rather than by the SDK so that a server can send no more than ``byte_limit``
    bytes in all (``ReplyTooLarge``), however it sends them: one endless event is as bounded as endless small
    ones. Comments (keep-alives) are skipped; ``data: [DONE]`` or the body's end ends it; an ``error`` the
    server sends is raised as ``EngineError``; a connection that fails is openai's connection error."""
    pending = bytearray()
    data: list[bytes] = []
    received = 0
    for block in _body(stream.response):
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
    openai = sdk()
    # openai 3 builds on httpx2, earlier releases on httpx: the response's own package has the errors.
    transport = sys.modules[type(response).__module__.partition(".")[0]]
    try:
        yield from response.iter_bytes()
    except transport.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except transport.RequestError as exc:
        raise openai.APIConnectionError(request=response.request) from exc


# --- what went wrong --------------------------------------------------------------------------


def busy(exc: BaseException) -> bool:
    """The server said it is busy (429)."""
    return isinstance(exc, sdk().APIStatusError) and exc.status_code == 429


def cut_short(exc: BaseException) -> bool:
    """A stream that was open ended before the caption did: it ended early, or its connection failed."""
    openai = sdk()
    return isinstance(exc, StreamCut | openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError)


def refused(exc: BaseException) -> bool:
    """An HTTP 4xx that is about this request (too large an image, a bad parameter), not the server being busy
    or down: trying it elsewhere would fail the same way."""
    openai = sdk()
    if isinstance(exc, openai.APIStatusError) and 300 <= exc.status_code < 400:
        return True  # a redirect, not followed: the same everywhere, and not a failure of the server
    return isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500 \
        and exc.status_code not in (408, 409, 429)


def describe(exc: BaseException) -> str:
    """A failure in the user's words: what the server said, or why it could not be reached."""
    openai = sdk()
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
