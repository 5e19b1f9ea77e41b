"""Captures llama.cpp's and libmtmd's log lines instead of letting them reach the terminal.

The lines go to an optional sink (the engine process's log file) and the last ones are kept in memory,
because llama.cpp explains most failures only there: a NULL from the loader comes with the reason in
the log.
"""

from __future__ import annotations

import collections
import ctypes
import threading
from typing import TextIO

_LEVEL_NAMES = {1: "INFO", 2: "WARN", 3: "ERROR", 4: "DEBUG"}
_CONT = 5  # GGML_LOG_LEVEL_CONT: continues the previous line


class LlamaLog:
    """The process-wide log hook; ``install()`` once, then read ``recent_errors()`` after a failure."""

    def __init__(self, keep: int = 60) -> None:
        self._lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()
        self._sink: TextIO | None = None
        self._last_level = 1
        self._callback: object = None

    def install(self, sink: TextIO | None = None) -> None:
        import llama_cpp
        import llama_cpp.mtmd_cpp as mtmd

        self._sink = sink
        if self._callback is None:
            # Keep a reference: llama.cpp holds only the raw function pointer.
            self._callback = llama_cpp.llama_log_callback(self._on_log)
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))
        mtmd.mtmd_log_set(self._callback, ctypes.c_void_p(0))
        mtmd.mtmd_helper_log_set(self._callback, ctypes.c_void_p(0))

    def _on_log(self, level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace")
        if level == _CONT:
            level = self._last_level
        self._last_level = level
        with self._lock:
            if level != 4:
                self._lines.append((level, message))
            if self._sink is not None and level != 4:
                try:
                    self._sink.write(message)
                    self._sink.flush()
                except (OSError, ValueError):
                    self._sink = None

    def recent_errors(self, limit: int = 3) -> str:
        """The last error or warning lines, joined for a message ("" when there are none)."""
        with self._lock:
            picked = [m.strip() for lvl, m in self._lines if lvl in (2, 3) and m.strip()]
        return " / ".join(picked[-limit:])

    def clear(self) -> None:
        with self._lock:
            self._lines.clear()


LOG = LlamaLog()
