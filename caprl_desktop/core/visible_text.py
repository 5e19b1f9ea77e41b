"""Text from outside (captions, file names, a server's words) made safe to show on a terminal or in a label.

A caption or a file name can hold control characters, and a terminal obeys them: ESC starts sequences that set
the clipboard (OSC 52), the window title (OSC 0) or clear the screen (CSI 2J); BEL ends some of them; the C1
codes (U+0080 to U+009F) do the same on terminals that take them; a carriage return writes over the line
already shown, and bidirectional overrides show text in an order other than its own. ``visible`` writes each
as an escape a reader sees (``\\x1b``, ``\\u202e``), and a byte of a file name that was not UTF-8 (the
surrogate ``os.fsdecode`` makes of it) as the byte (``\\xff``). New lines and tabs stay: captions have
paragraphs. Files keep the text as it is; this is only for showing it.
"""

from __future__ import annotations

import re

# C0 but tab and new line, DEL and C1, the bidirectional embeddings, overrides and isolates, lone surrogates.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``str(text)`` with every control character written as an escape; anything else as it is."""
    return _HIDDEN.sub(_shown, str(text))
