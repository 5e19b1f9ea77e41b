"""Download progress on the terminal: a bar with speed and ETA on a TTY, a line per 10 % otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

from caprl_desktop.cli.exit_codes import EXIT_INTERRUPTED, EXIT_USAGE
from caprl_desktop.core.errors import CaprlError
from caprl_desktop.core.models.downloads import DownloadCancelled, DownloadProgress
from caprl_desktop.core.units import human_size
from caprl_desktop.core.visible_text import visible


class DownloadBar:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._bar: tqdm[Any] | None = None
        self._key: tuple[str, str] | None = None
        self._last_tenth = -1

    def __call__(self, event: DownloadProgress) -> None:
        key = (event.filename, event.phase)
        if key != self._key:
            self.close()
            self._key = key
            self._last_tenth = -1
            if self._tty:
                name = visible(event.filename)
                desc = name if event.phase == "downloading" else f"checking {name}"
                self._bar = tqdm(total=event.total, initial=event.done, unit="B", unit_scale=True,
                                 unit_divisor=1000, desc=desc, file=self._stream, leave=True, dynamic_ncols=True)
            elif event.phase == "downloading":
                resumed = f", continuing from {human_size(event.resumed_from)}" if event.resumed_from else ""
                print(f"Downloading {visible(event.filename)} ({human_size(event.total)}{resumed})", file=self._stream)
        if self._bar is not None:
            self._bar.update(event.done - self._bar.n)
            return
        tenth = int(event.fraction * 10)
        if event.phase == "downloading" and tenth > self._last_tenth:
            self._last_tenth = tenth
            speed = f", {human_size(event.bytes_per_second)}/s" if event.bytes_per_second else ""
            eta = f", {event.eta_seconds:.0f} s left" if event.eta_seconds is not None and tenth < 10 else ""
            print(f"  {tenth * 10:3d} %  {human_size(event.done)} of {human_size(event.total)}{speed}{eta}",
                  file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


T = TypeVar("T")


def download_with_bar(download: Callable[[DownloadBar], T], *, next_time: str) -> T | int:
    """``download(bar)`` with a bar that is closed whatever happens: its result, or the exit code of a command
    that ends here, having said why (Ctrl-C or a cancel: what was fetched is kept for ``next_time``)."""
    bar = DownloadBar()
    try:
        try:
            return download(bar)
        finally:
            bar.close()  # (before any word below, which would otherwise land on the bar's line)
    except KeyboardInterrupt:
        print(f"\nInterrupted; what was downloaded is kept and {next_time} continues from there.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DownloadCancelled as exc:
        print(visible(exc), file=sys.stderr)
        return EXIT_INTERRUPTED
    except CaprlError as exc:
        print(f"caprl-desktop: error: {visible(exc)}", file=sys.stderr)
        return EXIT_USAGE
