"""Images whose pixels would flood memory (issue 25 item 18): each loaded in a process of its own, whose peak
memory is read; a few seconds each, so with the integration tests."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest


def write_png(path: Path, side: int, bit_depth: int, colour_type: int, top: int, bottom: int) -> Path:
    """A square PNG whose top half is ``top`` in every sample and bottom half ``bottom``, written a row at a time
    (a 14000×14000 16-bit one is 400 KB on disk and 392 MB decoded; writing it must not cost that)."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    rows = [b"\0" + value.to_bytes(bit_depth // 8, "big") * (channels * side) for value in (top, bottom)]
    packer = zlib.compressobj(9)
    compressed = [packer.compress(rows[y >= side // 2]) for y in range(side)] + [packer.flush()]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, bit_depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(compressed))
                     + chunk(b"IEND", b""))
    return path


HUGE = 14000  # 196 MP: under the 200 MP limit
MODEL_PIXELS = 4096 * 32 * 32  # the largest image budget: 4,096 tokens of 32×32 pixels

# Loads an image in a process of its own and prints what came out and the process's peak memory: the decoders'
# memory is C memory, which tracemalloc does not see.
CHILD = """
import sys
from pathlib import Path
from caprl_desktop.core.errors import CaprlError

def peak():
    # Linux: VmHWM, this program's own high-water mark (ru_maxrss keeps the parent's across exec: a test runner
    # grown to 350 MB would read as this load's peak).
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        import psutil
        return psutil.Process().memory_info().peak_wset
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS: bytes

path, max_pixels = Path(sys.argv[2]), int(sys.argv[3])
try:
    if sys.argv[1] == "thumbnail":
        from caprl_desktop.ui.queue_model import read_thumbnail
        image = read_thumbnail(path, max_pixels)
        print(image.width(), image.height(), image.pixelColor(2, 2).red(), image.pixelColor(2, max_pixels - 3).red())
    else:
        from caprl_desktop.core.images.loading import load_image
        loaded = load_image(path, max_pixels)
        print(loaded.width, loaded.height, loaded.rgb[0], loaded.rgb[-1])
except CaprlError as exc:
    print("refused:", exc)
print(peak())
"""


def load_in_child(how: str, path: Path, max_pixels: int) -> tuple[str, int]:
    """What loading ``path`` gave (``width height top-left bottom-right``, or ``refused: why``) and the peak bytes."""
    done = subprocess.run([sys.executable, "-c", CHILD, how, str(path), str(max_pixels)], capture_output=True,
                          text=True, timeout=240, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    said, peak = done.stdout.strip().splitlines()
    return said, int(peak)


@pytest.fixture(scope="module")
def huge_pngs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("huge")
    return {
        "gray16": write_png(folder / "gray16.png", HUGE, 16, 0, 0x2000, 0xE000),
        "rgba": write_png(folder / "rgba.png", HUGE, 8, 6, 0x20, 0xE0),
    }


def test_a_small_file_of_huge_16_bit_pixels_loads_reduced_in_under_1_gb(huge_pngs: dict[str, Path]) -> None:
    """The review's 381 KB PNG took 5.4 GB: full-size float64 copies of 196 MP."""
    path = huge_pngs["gray16"]
    assert path.stat().st_size < 500_000
    said, peak = load_in_child("load", path, MODEL_PIXELS)
    assert said == "2048 2048 31 223"  # the budget's size, the tones kept: 0x2000 and 0xE000 of 65535
    assert peak < 1_000_000_000, f"{peak / 1e6:.0f} MB"


def test_its_thumbnail_is_made_within_the_same_limit(huge_pngs: dict[str, Path]) -> None:
    """Qt refuses it (past its allocation limit) and gave no thumbnail; the caption loader reads it reduced."""
    said, peak = load_in_child("thumbnail", huge_pngs["gray16"], 56)
    assert said == "56 56 31 223"
    assert peak < 1_000_000_000, f"{peak / 1e6:.0f} MB"


def test_pixels_that_would_take_too_much_memory_are_refused_before_decoding(huge_pngs: dict[str, Path]) -> None:
    """A 787 KB RGBA PNG of 196 MP took 4.7 GB; decoded it is 784 MB, past the limit on decoded bytes."""
    for how, size in (("load", MODEL_PIXELS), ("thumbnail", 56)):
        said, peak = load_in_child(how, huge_pngs["rgba"], size)
        assert peak < 300_000_000, f"{how}: {peak / 1e6:.0f} MB"
        if how == "load":
            assert said == ("refused: rgba.png is 14000×14000 pixels (RGBA) that would take 784.0 MB of memory "
                            "decoded; the limit is 640.0 MB")
        else:
            assert said.startswith("0 0 ")  # no thumbnail: the row shows none, the preview says it cannot


