"""What a remote engine reports where a local one reports what it loaded, and how each server is doing (plain
data, for jobs, the records and the window)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from caprl_desktop.core.params import QWEN25VL_TOKEN_SIDE


@dataclass(frozen=True)
class ServerInfo:
    """One server as ``start`` found it."""

    shown: str  # the address without credentials
    model: str  # the id its /v1/models gives; "" when it did not answer
    slots: int
    answering: bool
    reason: str = ""  # why it does not answer
    label: str = ""  # its saved name, else its address


@dataclass(frozen=True)
class RemoteInfo:
    """What a remote engine reports where a local one reports what it loaded."""

    servers: tuple[ServerInfo, ...]
    parallel: int

    @property
    def models(self) -> list[str]:
        """The model ids the answering servers gave, each once, sorted."""
        return sorted({s.model for s in self.servers if s.answering and s.model})

    @property
    def model_label(self) -> str:
        """How records name the model of a remote run: the ids the servers gave ("server" when none did)."""
        return ", ".join(self.models) or "server"

    @property
    def image_token_side(self) -> int:
        """Qwen3-VL's tokens cover 32×32 pixels, Qwen2.5-VL's 28×28: the served model's name says which."""
        return 32 if any("qwen3" in model.lower() for model in self.models) else QWEN25VL_TOKEN_SIDE

    @property
    def line(self) -> str:
        """For a status bar: "2 servers: http://a:8080/v1 (CapRL-3B), http://b:8080/v1 (not answering)"."""
        parts = [f"{s.shown} ({s.model or 'no model'})" if s.answering else f"{s.shown} (not answering)"
                 for s in self.servers]
        return f"{len(self.servers)} server{'s' if len(self.servers) != 1 else ''}: " + ", ".join(parts)


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
