"""Sizes and durations as people read them, for the CLI and the window alike."""

from __future__ import annotations


def human_size(n: float) -> str:
    """Decimal units, as the hub and file managers show model sizes: "816.1 KB", "1.93 GB"."""
    if abs(n) < 1000:
        return f"{n:.0f} B"
    if abs(n) < 1e6:
        return f"{n / 1e3:.1f} KB"
    if abs(n) < 1e9:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e9:.2f} GB"


def human_duration(seconds: float) -> str:
    """ "42 s", "3 min 05 s", "2 h 07 min": precise enough for an ETA, never a false 0."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
