"""Sizes as people read them, for the CLI and the window alike."""

from __future__ import annotations


def human_size(n: float) -> str:
    """Decimal units, as the hub and file managers show model sizes: "816.1 KB", "1.93 GB".

    The unit is chosen after rounding, so 999,950,000 bytes read "1.00 GB", not "1000.0 MB"."""
    if round(abs(n)) < 1000:
        return f"{n:.0f} B"
    if round(abs(n) / 1e3, 1) < 1000:
        return f"{n / 1e3:.1f} KB"
    if round(abs(n) / 1e6, 1) < 1000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e9:.2f} GB"

