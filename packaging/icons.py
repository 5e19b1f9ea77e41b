"""Render ``resources/icon.svg`` into every icon file: PNG sizes, ``.ico`` (Windows), ``.icns`` (macOS).

``python packaging/icons.py`` rewrites ``resources/icons/`` and the three files the app itself uses
(``caprl_desktop/core/data/icons/``: the 256 px PNG for the window and the Linux menu entries, the ``.ico``
for Explorer's verb, the ``.icns`` for the macOS app ``integrate install`` adds to a pip installation).
Run it after editing the SVG and commit the results.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icon.svg"
OUT = ROOT / "resources" / "icons"
APP_ICONS = ROOT / "caprl_desktop" / "core" / "data" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
NAME = "caprl-desktop"


def render(size: int) -> Image.Image:
    renderer = QSvgRenderer(str(SOURCE))
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "icon.png"
        image.save(str(path))  # the format from the suffix
        return Image.open(path).convert("RGBA")


def main() -> int:
    QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    APP_ICONS.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in SIZES}
    for size, image in images.items():
        image.save(OUT / f"{NAME}-{size}.png", optimize=True)
    images[256].save(OUT / f"{NAME}.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    images[1024].save(OUT / f"{NAME}.icns")
    shutil.copyfile(OUT / f"{NAME}-256.png", APP_ICONS / f"{NAME}-256.png")
    shutil.copyfile(OUT / f"{NAME}.ico", APP_ICONS / f"{NAME}.ico")
    shutil.copyfile(OUT / f"{NAME}.icns", APP_ICONS / f"{NAME}.icns")  # the pip install's macOS app
    print(f"wrote {len(SIZES)} PNGs, .ico and .icns to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
