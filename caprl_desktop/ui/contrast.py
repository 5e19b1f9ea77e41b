"""Text colours that stay readable on the palette in use, light or dark (WCAG contrast of at least 4.5:1)."""

from __future__ import annotations

from PySide6.QtGui import QColor

MIN_CONTRAST = 4.5  # WCAG AA for normal text
# Reds from dark to light; the first that reads well on the background is used.
ERROR_REDS = ("#a93226", "#c0392b", "#e74c3c", "#ff6b5e", "#ff8a80", "#ffb3ab")


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def error_colour(background: QColor) -> QColor:
    """A red for error text on ``background``: of those with enough contrast, the one nearest the usual red
    (the lightest on a light background, the darkest on a dark one)."""
    readable = [QColor(c) for c in ERROR_REDS if contrast(QColor(c), background) >= MIN_CONTRAST]
    if not readable:
        return QColor("white") if background.lightness() < 128 else QColor("black")
    return readable[0] if background.lightness() < 128 else readable[-1]
