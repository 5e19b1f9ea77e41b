"""The messages between the app and its engine process: frozen dataclasses of plain values.

Requests go app → engine, replies engine → app, over one duplex ``multiprocessing`` pipe.  A caption
request is answered by any number of ``Piece`` messages followed by exactly one ``Finished`` or
``Failed`` carrying the same ``request_id``.  Several captions may be open at once (the engine decodes
up to ``EngineInfo.parallel`` side by side and queues the rest); their replies interleave.
"""

from __future__ import annotations

from dataclasses import dataclass

from caprl_desktop.core.engine.reports import CaptionOutput, CaptionStats, EngineInfo
from caprl_desktop.core.errors import CaprlError, EngineError, ModelFileError, ModelLoadError, PromptTooLongError
from caprl_desktop.core.images.loading import PreparedImage
from caprl_desktop.core.params import EngineConfig, GenerationParams

# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    config: EngineConfig


@dataclass(frozen=True)
class Caption:
    request_id: int
    image: PreparedImage
    system: str
    user: str
    params: GenerationParams


@dataclass(frozen=True)
class Cancel:
    request_id: int


@dataclass(frozen=True)
class Shutdown:
    pass


@dataclass(frozen=True)
class CountTokens:
    """How many tokens ``text`` is to the loaded model (an edited caption's count)."""

    request_id: int
    text: str


Request = Load | Caption | Cancel | Shutdown | CountTokens

# --- replies --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    info: EngineInfo


@dataclass(frozen=True)
class Piece:
    request_id: int
    text: str


@dataclass(frozen=True)
class Finished:
    request_id: int
    output: CaptionOutput


def never_started(request: Caption) -> CaptionOutput:
    """The output of a caption cancelled while it still waited for a sequence."""
    image, seed = request.image, request.params.seed if request.params.seed is not None else 0
    stats = CaptionStats(0, image.width, image.height, 0, 0.0, 0.0, 0, 0.0, 0.0, "cancelled", seed)
    return CaptionOutput(text="", stats=stats, prompt_text="")


# Failure kinds, mapped back to exception classes by the client.
FAIL_MODEL_FILE = "model_file"
FAIL_MODEL_LOAD = "model_load"
FAIL_PROMPT_TOO_LONG = "prompt_too_long"
FAIL_ENGINE = "engine"


@dataclass(frozen=True)
class Failed:
    request_id: int | None  # None: the Load failed
    kind: str
    message: str


_KINDS: dict[str, type[CaprlError]] = {
    FAIL_MODEL_FILE: ModelFileError,
    FAIL_MODEL_LOAD: ModelLoadError,
    FAIL_PROMPT_TOO_LONG: PromptTooLongError,
}


def failure_kind(exc: CaprlError) -> str:
    """The kind a worker reports for ``exc``; ``exception_for`` turns it back into the same class."""
    return next((kind for kind, cls in _KINDS.items() if isinstance(exc, cls)), FAIL_ENGINE)


def exception_for(failure: Failed) -> CaprlError:
    return _KINDS.get(failure.kind, EngineError)(failure.message)


@dataclass(frozen=True)
class TokenCount:
    request_id: int
    count: int


Reply = Loaded | Piece | Finished | Failed | TokenCount
