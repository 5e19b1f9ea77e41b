"""Exceptions the core raises; each message is written for the user, not for a developer."""

from __future__ import annotations


class CaprlError(Exception):
    """Base of every error the app reports to the user as a sentence."""


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

    def __init__(self, message: str, exitcode: int | None = None, log_tail: str = "") -> None:
        super().__init__(message)
        self.exitcode = exitcode
        self.log_tail = log_tail
