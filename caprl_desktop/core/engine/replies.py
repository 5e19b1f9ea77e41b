"""What a caption request produces, as the engine client hands it on: its text as it streams, then its end.

Plain values of the app's own.  The messages on the pipe behind them (``protocol``) are the client's
business: a failure arrives here as the exception it stands for, ready to show or raise.  Every request
gives any number of ``CaptionText`` and then exactly one ``CaptionDone`` or ``CaptionFailed``; a
``CaptionRestarted`` between them voids the text before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from caprl_desktop.core.engine.reports import CaptionOutput
from caprl_desktop.core.errors import CaprlError


@dataclass(frozen=True)
class CaptionText:
    """A piece of the caption as it is decoded."""

    request_id: int
    text: str


@dataclass(frozen=True)
class CaptionDone:
    """The caption is complete (or was cut short: see ``output.stats.finish_reason``)."""

    request_id: int
    output: CaptionOutput


@dataclass(frozen=True)
class CaptionFailed:
    """The engine could not caption this image; it goes on with the others."""

    request_id: int
    error: CaprlError


@dataclass(frozen=True)
class CaptionRestarted:
    """The text streamed so far is void: the caption starts again from nothing (a server that failed mid-caption
    handed it to another). Only engines that spread captions over servers send it."""

    request_id: int
    reason: str


CaptionReply = CaptionText | CaptionDone | CaptionFailed | CaptionRestarted
