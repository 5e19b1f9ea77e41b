"""Captions already on disk: which images have one, and which of those a person wrote or changed.

The window reads them before it replaces captions (to ask first, saying how many were edited by hand), and
for images it lists but did not caption in this session ("Captioned earlier"), so that an edit there starts
from the caption on disk instead of replacing it with an empty one.

The journal records each caption the app wrote, with its sidecar. A sidecar that no longer holds the last
caption recorded for it was edited since; one with no record at all was written by hand, by another program,
or by a run the journal has forgotten. Either way, replacing it may lose someone's work. Captions are compared
as a person reads them (``same_caption``): line ends as the editor saves them, whitespace at the ends aside, so
a caption the model wrote with ``\r\n`` and the window saved back with ``\n`` is not "edited by hand".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    by_hand: frozenset[Path] = field(default=frozenset(), compare=False)  # the images of both kinds

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


def comparable(text: str) -> str:
    """A caption as it is compared: its line ends as a text editor saves them (``\r\n``, ``\r`` and the
    paragraph separator a Qt editor shows as a break all become ``\n``), without the whitespace at its ends (a
    sidecar is written with one newline added)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n").strip()


def same_caption(a: str, b: str) -> bool:
    return comparable(a) == comparable(b)


def hand_edited(caption: ExistingCaption, written: Mapping[Path, str]) -> bool | None:
    """Whether ``caption`` differs from the last one the app wrote to its sidecar; None when it wrote none.

    ``written``: the journal's last caption per sidecar (``Journal.written_captions``), compared as
    ``same_caption`` does."""
    recorded = written.get(caption.sidecar)
    if recorded is None:
        return None
    return not same_caption(recorded, caption.text)


def weigh(captions: Mapping[Path, ExistingCaption], written: Mapping[Path, str]) -> Replaced:
    """Count what replacing ``captions`` would lose, and name the images a person may have worked on."""
    edited = unknown = 0
    by_hand: set[Path] = set()
    for image, caption in captions.items():
        verdict = hand_edited(caption, written)
        if verdict is None:
            unknown += 1
        elif verdict:
            edited += 1
        if verdict is not False:
            by_hand.add(image)
    return Replaced(len(captions), edited, unknown, frozenset(by_hand))
