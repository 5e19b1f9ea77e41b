"""Exceptions the core raises; each message is written for the user, not for a developer.

Each also carries its ``Reason``: a stable ``kind`` and the parameters of the sentence (a file's name, a count, a
detail the system gave), so that a face in another language words it itself (the window, in Japanese) while the
command line prints the core's English sentence, ``text``, as it is. A reason without a kind of its own is
``OTHER``: a face shows its text.
"""

from __future__ import annotations

from dataclasses import dataclass

OTHER = "other"


@dataclass(frozen=True)
class Reason:
    """Why something failed: ``kind`` and its ``params`` for a face to word, ``text`` the core's English."""

    kind: str
    text: str
    params: tuple[tuple[str, str | int | float | Reason], ...] = ()

    def __str__(self) -> str:
        return self.text

    def get(self, name: str) -> str | int | float | Reason:
        """A parameter's value ("" when the reason has none of that name)."""
        return dict(self.params).get(name, "")


def reason(kind: str, text: str, **params: str | int | float | Reason) -> Reason:
    return Reason(kind, text, tuple(params.items()))


def reason_of(error: Reason | BaseException | str) -> Reason:
    """The reason of an error of the core's (its kind, or ``OTHER``), or of any other exception or sentence."""
    if isinstance(error, Reason):
        return error
    if isinstance(error, CaprlError):
        return error.reason
    return Reason(OTHER, str(error))


class CaprlError(Exception):
    """Base of every error the app reports to the user as a sentence.

    ``kind`` and the keyword parameters make its ``reason``; without a kind it is ``OTHER``, its text the message."""

    def __init__(self, message: str = "", *, kind: str = OTHER, **params: str | int | float | Reason) -> None:
        super().__init__(message)
        self.reason = Reason(kind, message, tuple(params.items()))


class ModelFileError(CaprlError):
    """A model or projector file is missing, not a GGUF, damaged, or the two do not belong together."""


class ModelLoadError(CaprlError):
    """llama.cpp refused to load a model that passed the file checks."""


class ImageLoadError(CaprlError):
    """An image could not be read, or is too large or too odd to caption."""


class PromptTooLongError(CaprlError):
    """Prompt plus image do not fit the context window."""


class EngineError(CaprlError):
    """The engine failed while captioning one image."""


class EngineCrashedError(EngineError):
    """The engine process died (a native abort in llama.cpp, or it was killed)."""

    def __init__(self, message: str, exitcode: int | None = None, log_tail: str = "", *, kind: str = OTHER,
                 **params: str | int | float | Reason) -> None:
        super().__init__(message, kind=kind, **params)
        self.exitcode = exitcode
        self.log_tail = log_tail
