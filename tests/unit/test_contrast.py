"""Failed rows stay readable on light and dark palettes (WCAG contrast of at least 4.5:1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from caprl_desktop.core.jobs.discovery import find_images
from caprl_desktop.ui.contrast import MIN_CONTRAST, contrast, error_colour
from caprl_desktop.ui.queue_model import ImageLoader, QueueModel
from tests.support.images import save_noise


def test_contrast_follows_wcag() -> None:
    assert contrast(QColor("black"), QColor("white")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("white")) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("base", ["#ffffff", "#f6f5f4", "#2b2b2b", "#1e1e1e", "#303030", "#000000"])
def test_the_error_red_reads_well_on_any_base(base: str) -> None:
    colour = error_colour(QColor(base))
    assert contrast(colour, QColor(base)) >= MIN_CONTRAST
    assert colour.red() > colour.green() and colour.red() > colour.blue()  # still red


def test_a_failed_row_uses_it_on_a_dark_palette(qapp: QGuiApplication, tmp_path: Path) -> None:
    old = qapp.palette()
    dark = QPalette(old)
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    qapp.setPalette(dark)
    try:
        loader = ImageLoader()
        queue = QueueModel(loader)
        items, _ = find_images([save_noise(tmp_path / "a.jpg")])
        queue.add(items)
        queue.refuse(0, "a reason")
        colour = queue.data(queue.index(0), Qt.ItemDataRole.ForegroundRole)
        assert isinstance(colour, QColor) and contrast(colour, QColor("#1e1e1e")) >= MIN_CONTRAST
        loader.wait()
    finally:
        qapp.setPalette(old)
