"""Hostile file and folder names: shell syntax, quotes, a newline, a leading dash, Japanese, emoji, deep paths."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.images import save_noise

HOSTILE_FILES = [
    "$HOME.jpg",
    "`touch pwned`.jpg",
    "a;b&c|d.png",
    "100% & $(id).jpg",
    "it's \"quoted\".jpg",
    "new\nline.jpg",
    "-rf.jpg",
    "写真　全角スペース.jpg",
    "🎉 party 🎂.png",
    "back\\slash.webp",
]
HOSTILE_FOLDER = 'a"; rm -rf ~; ".jpg'


def long_path(root: Path) -> Path:
    """A file about 3,000 characters deep: 12 folders of 240 bytes each, a 240-byte name (Linux allows 4,096)."""
    folder = root
    for i in range(12):
        folder = folder / (f"{i:02d}" + "深" * 79)  # 2 + 79 × 3 = 239 bytes
    return folder / ("長" * 78 + ".jpg")


def hostile_tree(root: Path) -> list[Path]:
    folder = root / HOSTILE_FOLDER
    images = [save_noise(folder / name, seed=i) for i, name in enumerate(HOSTILE_FILES)]
    deep = long_path(folder)
    images.append(save_noise(deep, seed=99))
    assert len(str(deep)) > 1000 and len(os.fsencode(deep)) > 3000
    return images
