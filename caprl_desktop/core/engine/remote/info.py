"""What a remote engine reports where a local one reports what it loaded (plain data, for jobs and the window)."""

from __future__ import annotations

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
