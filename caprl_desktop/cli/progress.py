"""Progress on standard error: a live bar with ETA on a terminal, one line per image otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import NoReturn, TextIO

from tqdm import tqdm

from caprl_desktop.core.jobs.events import ItemFinished
from caprl_desktop.core.visible_text import visible


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.interactive = self.stream.isatty()
        self._bar: tqdm[NoReturn] | None = None
        self._done = 0
        self._tokens = 0
        self._name = ""
        self._last_refresh = 0.0
        if self.interactive and total > 0:
            self._bar = tqdm(total=total, unit="img", file=self.stream, dynamic_ncols=True, smoothing=0.1)

    def started(self, name: str) -> None:
        self._name, self._tokens = visible(name), 0
        self._postfix(force=True)

    def token(self) -> None:
        self._tokens += 1
        self._postfix()

    def _postfix(self, force: bool = False) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if force or now - self._last_refresh > 0.25:
            self._bar.set_postfix_str(f"{self._name} · {self._tokens} tok", refresh=True)
            self._last_refresh = now

    def finished(self, event: ItemFinished) -> None:
        self._done += 1
        if self._bar is not None:
            self._postfix(force=True)  # the throttled count may lag behind a fast caption
            self._bar.update(1)
            if event.record.error:
                self._bar.write(visible(f"failed: {event.item.file_name}: {event.record.error}"), file=self.stream)
            return
        stats = event.stats
        if event.record.error:
            detail = f"failed: {event.record.error}"
        elif stats is not None:
            detail = (f"{stats.output_tokens} tokens, {stats.total_seconds:.1f} s "
                      f"({stats.tokens_per_second:.1f} tok/s)")
        else:
            detail = "done"
        print(visible(f"[{self._done}/{self.total}] {event.item.file_name}: {detail}"), file=self.stream, flush=True)

    def message(self, text: str) -> None:
        text = visible(text)
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
