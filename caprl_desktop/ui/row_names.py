"""The name a row of the image list shows: the image's path under the folder dropped, and where that name is
in the list more than once (two folders that both hold ``p0.jpg``), the folder it is in as well.

``imgs/p0.jpg`` and ``imgs2/p0.jpg`` tell two copies apart by the folder dropped; when even that repeats (two
folders named ``imgs`` in different places), the full folder path does.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from pathlib import Path

from caprl_desktop.core.jobs.discovery import ImageItem


def _with_root(item: ImageItem) -> str:
    return f"{item.root.name}/{item.file_name}" if item.root.name else item.file_name


class RowNames:
    """Counts the names listed, so that a row's name is found without walking the list."""

    def __init__(self) -> None:
        self._names: collections.Counter[str] = collections.Counter()
        self._with_roots: collections.Counter[str] = collections.Counter()

    def add(self, items: Iterable[ImageItem]) -> bool:
        """Count new rows; returns whether a name now repeats that did not, so rows listed before change."""
        changed = False
        for item in items:
            self._names[item.file_name] += 1
            self._with_roots[_with_root(item)] += 1
            changed = changed or self._names[item.file_name] == 2 or self._with_roots[_with_root(item)] == 2
        return changed

    def remove(self, items: Iterable[ImageItem]) -> bool:
        """Count rows gone; returns whether a name no longer repeats, so the rows left change."""
        changed = False
        for item in items:
            self._names[item.file_name] -= 1
            self._with_roots[_with_root(item)] -= 1
            changed = changed or self._names[item.file_name] == 1 or self._with_roots[_with_root(item)] == 1
        return changed

    def name(self, item: ImageItem) -> str:
        if self._names[item.file_name] < 2:
            return item.file_name
        with_root = _with_root(item)
        if self._with_roots[with_root] < 2:
            return with_root
        return str(Path(item.path))  # the same folder name dropped from two places: the whole path
