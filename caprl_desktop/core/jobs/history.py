"""One image's caption history: what the app's runs and a person in the window wrote to its caption file.

The journal keeps both: each caption a run made (``Journal.written``) and each caption saved in the window
(``Journal.edits``: typed, the model's caption put back, an earlier one put back). ``CaptionHistory`` lays them
out oldest first and answers the window's questions: which caption is the model's, whether the one on disk now
was edited by hand (and when), which caption Undo puts back, and which one a re-caption replaced.

Undo walks back: putting back an earlier caption is recorded as an "undo", which takes the version it undid
off the stack of versions, so a second Undo goes further back rather than returning to where the first began.
A caption changed outside the app (in a text editor) is on disk but in no version: Undo then puts back the last
caption the app wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from caprl_desktop.core.export.provenance import Provenance
from caprl_desktop.core.jobs.existing import same_caption
from caprl_desktop.core.jobs.journal import CaptionEdit, Journal, Written

VersionKind = Literal["model", "edit", "revert", "undo", "disk"]


@dataclass(frozen=True)
class Version:
    caption: str
    kind: VersionKind  # the model's (a run's); typed; the model's put back; an earlier one put back; found on disk
    when: str  # ISO time: the edit's, or the start of the run that made it
    job_id: int | None  # the run that made it (the model's), or whose caption it changed (an edit's)
    provenance: Provenance | None = None  # the model's: where it came from, as its run recorded it


@dataclass(frozen=True)
class CaptionHistory:
    """What was written to one caption file, oldest first, and what it holds now."""

    versions: tuple[Version, ...]
    current: str | None  # the caption on disk now (None: none)

    @property
    def model_caption(self) -> str | None:
        """The last caption the model made for it (kept with the edits, should its run be forgotten)."""
        for version in reversed(self.versions):
            if version.kind == "model":
                return version.caption
        return None

    @property
    def model_provenance(self) -> Provenance | None:
        """Where the model's last caption came from, as its run recorded it (the Details of a caption on disk)."""
        for version in reversed(self.versions):
            if version.kind == "model":
                return version.provenance
        return None

    @property
    def edited_by_hand(self) -> bool:
        """The caption on disk is not the model's last one."""
        model = self.model_caption
        return model is not None and self.current is not None and not same_caption(model, self.current)

    @property
    def edited_at(self) -> str:
        """When the caption on disk was saved in the window ("" when it was not, or not by hand)."""
        if self.current is None:
            return ""
        for version in reversed(self.versions):
            if same_caption(version.caption, self.current):
                return version.when if version.kind != "model" else ""
        return ""

    def _stack(self) -> list[Version]:
        stack: list[Version] = []
        for version in self.versions:
            if version.kind == "undo" and stack:
                stack.pop()  # the version it undid
                if stack and same_caption(stack[-1].caption, version.caption):
                    continue
            stack.append(version)
        return stack

    @property
    def previous(self) -> str | None:
        """The caption Undo puts back: the one before the last change (None: nothing to go back to)."""
        if self.current is None:
            return None
        stack = self._stack()
        if stack and not same_caption(stack[-1].caption, self.current):
            return stack[-1].caption  # changed outside the app since: the app's last caption
        for version in reversed(stack[:-1]):
            if not same_caption(version.caption, self.current):
                return version.caption
        return None

    @property
    def replaced(self) -> str | None:
        """The caption a re-caption replaced, while the model's new one is on disk (None otherwise)."""
        stack = self._stack()
        if len(stack) < 2 or stack[-1].kind != "model" or self.current is None:
            return None
        if not same_caption(stack[-1].caption, self.current):
            return None
        earlier = stack[-2].caption
        return None if same_caption(earlier, self.current) else earlier


def lay_out(written: Sequence[Written], edits: Sequence[CaptionEdit], current: str | None) -> CaptionHistory:
    """The versions in the order they were written: each edit after the run whose caption it changed."""
    runs = {made.job_id for made in written}
    forgotten: dict[int, str] = {}  # runs forgotten since an edit: their caption is known from the edit
    for edit in edits:
        if edit.model_job is not None and edit.model_caption is not None and edit.model_job not in runs:
            forgotten.setdefault(edit.model_job, edit.model_caption)
    keyed = [((made.job_id, 0, n), Version(made.record.caption, "model", made.started, made.job_id,
                                           made.record.provenance)) for n, made in enumerate(written)]
    keyed += [((job, 0, -1), Version(caption, "model", "", job)) for job, caption in forgotten.items()]
    keyed += [((edit.model_job or 0, 1, n), Version(edit.caption, edit.kind, edit.written_at, edit.model_job))
              for n, edit in enumerate(edits)]
    keyed.sort(key=lambda pair: pair[0])
    return CaptionHistory(tuple(version for _, version in keyed), current)


def caption_history(journal: Journal, sidecar: Path, current: str | None) -> CaptionHistory:
    """``sidecar``'s history from the journal, with ``current``, the caption on disk now."""
    key = sidecar.absolute()
    return lay_out(journal.written([key]).get(key, []), journal.edits([key]).get(key, []), current)
