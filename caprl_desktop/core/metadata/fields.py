"""The metadata fields a caption is written to, the app's XMP namespace, and the values passed around.

Field choices (sources in ``docs/metadata.md``):

* XMP ``dc:description``, a language alternative with ``x-default`` and the caption's language: the one
  field every reader shows (Lightroom "Caption", digiKam, Windows "Title"/"Subject" after EXIF, macOS
  Finder/Preview "Description"), Unicode by definition.
* EXIF ``ImageDescription`` (IFD0 tag 270) only when the caption is plain ASCII. The EXIF type is ASCII, and
  Windows' photo handler reads it as ASCII *before* XMP ``dc:description``: UTF-8 bytes there would show as
  mojibake in Explorer instead of the correct XMP text. A Japanese caption therefore lives in XMP (and IPTC),
  and when it replaces a description, an old ``ImageDescription`` is removed (and kept for a restore) so that
  no stale text hides the new one.
* IPTC ``Caption-Abstract`` only where the file already carries IPTC (as the Aves gallery does): a new IPTC
  block would add a third copy that old tools read in the wrong character set; where IPTC exists, the caption
  goes there too with ``Iptc.Envelope.CharacterSet`` = ESC % G (UTF-8), cut at 2000 bytes (the IIM limit).
* ``xmp:CreatorTool`` = ``CapRL Desktop <version>`` and the app's namespace ``caprl:`` (URI below, an
  ``.invalid`` domain so it can never be mistaken for a real web address) with the provenance the caller
  passes (model, model_sha256, seed, …) and ``caprl:DescriptionSHA256``, the hash of the text written: a
  description is the app's only while its text still has that hash, so an edit by hand in Lightroom makes it
  a human description again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Literal

from caprl_desktop.core.errors import CaprlError

EMBEDDABLE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff"})
XMP_SUFFIX = ".xmp"


def can_embed(path: Path) -> bool:
    """Whether a file of this name can take a caption inside (else: an XMP sidecar, if the caller wants)."""
    return path.suffix.lower() in EMBEDDABLE_SUFFIXES


CAPRL_NS_URI = "https://caprl-desktop.invalid/ns/1.0/"
CAPRL_NS_PREFIX = "caprl"

XMP_DESCRIPTION = "Xmp.dc.description"
XMP_CREATOR_TOOL = "Xmp.xmp.CreatorTool"
XMP_CAPRL = f"Xmp.{CAPRL_NS_PREFIX}."
XMP_DESCRIPTION_HASH = f"{XMP_CAPRL}DescriptionSHA256"
EXIF_DESCRIPTION = "Exif.Image.ImageDescription"
IPTC_CAPTION = "Iptc.Application2.Caption"
IPTC_CHARSET = "Iptc.Envelope.CharacterSet"
IPTC_UTF8 = "\x1b%G"
IPTC_CAPTION_MAX_BYTES = 2000  # IIM 4.2, dataset 2:120

Language = Literal["ja", "en"]
Existing = Literal["keep", "replace"]

# An XMP property name must be an XML name; provenance keys become ``caprl:<key>``.
_PROVENANCE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# XML 1.0 allows tab, newline and carriage return of the C0 controls, not the rest; nor U+FFFE/U+FFFF or
# lone surrogates (which cannot be encoded as UTF-8 anyway). DEL (U+007F) is legal XML, but Exiv2's XMP toolkit
# stores it as a space: kept, it would make the text written differ from the text hashed (measured over the
# whole Basic Multilingual Plane and a sample beyond: these are all that the toolkit changes or drops).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Provenance that names a file on this computer: a shared photo carries the file's name, never where it is.
_PATH_KEY_SUFFIX = "_path"
_NAME_ONLY_KEYS = ("_file", "engine_model")
_ABSOLUTE = re.compile(r"^(?:[/\\~]|[A-Za-z]:[/\\])")

# Placeholders cameras write into ImageDescription: not a human description, so "keep" does not keep them.
CAMERA_PLACEHOLDERS = frozenset({"", "OLYMPUS DIGITAL CAMERA", "SONY DSC", "DIGITAL CAMERA", "DCIM", "default"})


class MetadataError(CaprlError):
    """A caption could not be written into, or read from, an image's metadata."""


class UnsupportedImageError(MetadataError):
    """The file is of a type that cannot hold a caption inside; the caller may write an XMP sidecar."""


def clean_for_xml(text: str) -> str:
    """The text with what XML 1.0 cannot hold removed, and DEL, which the XMP toolkit would turn into a space:
    a model can emit stray control characters. The one cleaning rule for every text that goes into XMP.

    Removed rather than replaced: a visible stand-in (U+FFFD) would end up in every viewer's caption, and the
    characters carry no meaning in a caption. Line ends become ``\\n`` (XMP stores them so either way).
    """
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def is_placeholder(text: str) -> bool:
    return text.strip() in CAMERA_PLACEHOLDERS


def description_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_provenance(provenance: Mapping[str, str]) -> dict[str, str]:
    """Provenance keys as XMP property names, values cleaned for XML; a bad key is a programming error.

    A photo travels: where its model lies on this computer (``/home/NAME/...``) stays here. ``*_path`` keys are
    left out, and a file name given as a full path (``model_file``, ``projector_file``, a server's model id
    ``engine_model``, which llama.cpp's server gives as the path it loaded) keeps only its name; the model's
    file name, family, quant and sha256 identify it. Full paths stay in the journal and in the JSON Lines and
    CSV exports, which the user makes on purpose.
    """
    checked: dict[str, str] = {}
    for key, value in provenance.items():
        if not _PROVENANCE_KEY.fullmatch(key) or key == "DescriptionSHA256":
            raise ValueError(f"not a usable provenance key: {key!r}")
        if key.endswith(_PATH_KEY_SUFFIX):
            continue
        text = clean_for_xml(str(value))
        checked[key] = _names_only(text) if key.endswith(_NAME_ONLY_KEYS) else text
    return checked


def _names_only(value: str) -> str:
    """Each of a comma-separated list of file names (a remote run's model ids) without its folder where it is
    a full path; a hub id such as ``internlm/CapRL-Qwen3VL-2B-GGUF`` is no path and stays."""
    parts = value.split(", ")
    return ", ".join(PureWindowsPath(part).name if _ABSOLUTE.match(part) else part for part in parts)


@dataclass(frozen=True)
class FieldSnapshot:
    """The description fields of one file as they were, so that a restore can put them back exactly.

    ``exif`` and ``iptc`` are the raw bytes of the field (a legacy Latin-1 description survives a restore);
    None means the field was absent and a restore removes it.
    """

    xmp: Mapping[str, str] = field(default_factory=dict)  # language → text; empty: absent
    exif: bytes | None = None
    iptc: bytes | None = None
    iptc_charset: bytes | None = None
    creator_tool: str | None = None

    @property
    def empty(self) -> bool:
        return not self.xmp and self.exif is None and self.iptc is None


@dataclass(frozen=True)
class Description:
    """A description read from a file: the text each field holds, and whether the app wrote it."""

    text: str  # what a viewer would show: XMP x-default first, then IPTC, then EXIF
    xmp: Mapping[str, str]
    exif: str | None
    iptc: str | None
    app_written: bool
    provenance: Mapping[str, str]
    creator_tool: str | None


@dataclass(frozen=True)
class WriteResult:
    """What one write did.

    ``written`` names the fields written (e.g. ``("Xmp.dc.description", "Exif.Image.ImageDescription")``),
    empty when an existing human description was kept. ``previous`` is the human description that was
    replaced (None when there was none, or it was the app's own): hand it to ``restore_description``.
    """

    path: Path
    text: str
    written: tuple[str, ...]
    kept_existing: bool = False
    previous: FieldSnapshot | None = None
    iptc_truncated: bool = False
