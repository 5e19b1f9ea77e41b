"""Durations for ETAs, in the interface language: "3 min 05 s", 「3 分 05 秒」."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def duration_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return QCoreApplication.translate("duration", "{} s").format(seconds)
    if seconds < 3600:
        return QCoreApplication.translate("duration", "{} min {:02d} s").format(seconds // 60, seconds % 60)
    return QCoreApplication.translate("duration", "{} h {:02d} min").format(seconds // 3600, seconds % 3600 // 60)
