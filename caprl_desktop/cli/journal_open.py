"""The job journal as every command opens it: one that was damaged and set aside on opening is said at once.

A busy or unreadable journal raises; ``cli.main``'s one handler says so (busy: exit 75, try again).
"""

from __future__ import annotations

import sys

from caprl_desktop.core.jobs.journal import Journal
from caprl_desktop.core.visible_text import visible


def open_journal() -> Journal:
    journal = Journal()
    if journal.set_aside_note:
        print(f"warning: {visible(journal.set_aside_note)}", file=sys.stderr)
    return journal
