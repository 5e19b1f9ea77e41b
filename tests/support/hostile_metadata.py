"""Photos whose metadata another program left broken, and a description write killed midway, for the tests of
``core/metadata`` against hostile input."""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

# Not well formed: the title's end tag is another start tag. Exiv2's XMP toolkit cannot parse it.
DAMAGED_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
               b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Holiday'
               b"<dc:title></rdf:Description></rdf:RDF></x:xmpmeta>")


def with_xmp_packet(photo: Path, packet: bytes) -> Path:
    """``photo`` (a JPEG) with an XMP APP1 segment holding ``packet`` as it is, as a broken program wrote it."""
    body = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    data = photo.read_bytes()
    photo.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:])
    return photo


_HELD_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from caprl_desktop.core import metadata
    from caprl_desktop.core.metadata import _exiv2io

    real = _exiv2io.open_image

    def held(*args, **kwargs):
        image = real(*args, **kwargs)  # the photo's copy is made and opened: the moment a kill hurts
        print("copying", flush=True)
        sys.stdin.readline()
        return image

    _exiv2io.open_image = held
    metadata.write_description(Path(sys.argv[1]), "A cat.", "en", {})
""")


def killed_midway(photo: Path) -> None:
    """Write a description into ``photo`` in another process and SIGKILL it while the photo's copy is edited: the
    moment is signalled by the child, not guessed."""
    child = subprocess.Popen([sys.executable, "-c", _HELD_WRITER, str(photo)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "copying\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()


def hidden(folder: Path) -> list[str]:
    """The hidden files in ``folder``: a temporary copy left behind would be one."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
