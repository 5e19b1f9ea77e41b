"""Captions already on disk: which images have one, and which of those a person wrote or changed.

The window reads them before it replaces captions (to ask first, saying how many were edited by hand), and
for images it lists but did not caption in this session ("Captioned earlier"), so that an edit there starts
from the caption on disk instead of replacing it with an empty one.

The journal records each caption the app wrote, with its sidecar. A sidecar that no longer holds the last
caption recorded for it was edited since; one with no record at all was written by hand, by another program,
or by a run the journal has forgotten. Either way, replacing it may lose someone's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from caprl_desktop.core.jobs.discovery import ImageItem
from caprl_desktop.core.jobs.sidecars import plan_sidecars, read_sidecar


@dataclass(frozen=True)
class ExistingCaption:
    sidecar: Path
    text: str  # as the window shows it: without the trailing newline a sidecar ends with


@dataclass(frozen=True)
class Replaced:
    """What re-captioning a set of images would replace."""

    captioned: int  # images that have a caption on disk
    hand_edited: int  # of those, changed since the app wrote them
    not_from_app: int  # of those, never recorded as written by the app

    @property
    def made_by_hand(self) -> int:
        """Captions a person may have worked on: edited, or not the app's."""
        return self.hand_edited + self.not_from_app


def existing_captions(items: Iterable[ImageItem], caption_folder: Path | None = None,
                      ) -> dict[Path, ExistingCaption]:
    """The caption each image has on disk, by image path; images without one (or with an empty file) are absent.

    Reads one small file per image (and lists each folder once): run it off the GUI thread for many."""
    found: dict[Path, ExistingCaption] = {}
    for image, sidecar in plan_sidecars(items, caption_folder).paths.items():
        text = read_sidecar(sidecar)
        if text is not None:
            found[image] = ExistingCaption(sidecar, text.rstrip())
    return found


def hand_edited(caption: ExistingCaption, written: Mapping[Path, str]) -> bool | None:
    """Whether ``caption`` differs from the last one the app wrote to its sidecar; None when it wrote none.

    ``written``: the journal's last caption per sidecar (``Journal.written_captions``). Whitespace at the ends
    does not count: a sidecar is written with one newline added."""
    recorded = written.get(caption.sidecar)
    if recorded is None:
        return None
    return recorded.strip() != caption.text.strip()


def weigh(captions: Mapping[Path, ExistingCaption], written: Mapping[Path, str]) -> Replaced:
    """Count what replacing ``captions`` would lose."""
    edited = unknown = 0
    for caption in captions.values():
        verdict = hand_edited(caption, written)
        if verdict is None:
            unknown += 1
        elif verdict:
            edited += 1
    return Replaced(len(captions), edited, unknown)
