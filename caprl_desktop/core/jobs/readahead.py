"""Images of a job read and decoded on a background thread, a few ahead of the engine.

Reading and decoding a photo takes about as long as encoding it, so while the engine works on some
captions the next images are made ready.  One thread: the disk reads in order and memory holds only the
images about to be captioned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from caprl_desktop.core.images.loading import PreparedImage, load_image

Loader = Callable[[Path, int], PreparedImage]


class ReadAhead:
    """``take(pos)`` hands the image at ``paths[pos]`` as a future, having asked for the next ones too."""

    def __init__(self, paths: Sequence[Path], max_pixels: int, loader: Loader | None = None) -> None:
        self._paths = paths
        self._max_pixels = max_pixels
        self._loader = loader or load_image
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caprl-prefetch")
        self._pending: dict[int, Future[PreparedImage]] = {}

    def take(self, pos: int, ahead: int) -> Future[PreparedImage]:
        """The image at ``pos``; the ``ahead`` after it start loading now.  Raises ``CaprlError`` on ``result()``."""
        for i in range(pos, min(pos + ahead + 1, len(self._paths))):
            if i not in self._pending:
                self._pending[i] = self._pool.submit(self._loader, self._paths[i], self._max_pixels)
        return self._pending.pop(pos)

    def close(self) -> None:
        """Drop what was read ahead and not taken, and wait for the thread (at most the one image it reads)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        # Loads queued for images taken but never used (the job stopped) are dropped too.
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
