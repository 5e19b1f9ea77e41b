"""Fuzzing the image readers with random and mutated image bytes (Hypothesis).

Both readers run inside the app's own process (the caption loader on the job's prefetch thread, Qt's
thumbnail reader in the window), so a decoder that crashes or hangs on a hostile file would take the
user's work with it.  The property: every input either gives an image of sane shape or a clear
``ImageLoadError``; never another exception, never a hang (Hypothesis's deadline), never a crash (the
test process would die).

CI runs a short pass; the documented long run sets ``CAPRL_FUZZ_EXAMPLES=10000``.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from caprl_desktop.core.errors import ImageLoadError
from caprl_desktop.core.images.loading import MAX_ASPECT_RATIO, MIN_SIDE, load_image
from tests.support.images import noise_image

EXAMPLES = int(os.environ.get("CAPRL_FUZZ_EXAMPLES", "150"))
MAX_PIXELS = 64 * 28 * 28  # a small image-token budget keeps each example fast
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), derandomize="CI" in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture], database=None)


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _seeds() -> dict[str, bytes]:
    """Small valid files of every format and of the modes and features real files have."""
    rgb = noise_image(40, 30, seed=1)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: rotated
    frames = [noise_image(20, 20, seed=s).convert("P") for s in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    webp_anim = io.BytesIO()
    frames[0].convert("RGB").save(webp_anim, "WEBP", save_all=True, append_images=[f.convert("RGB") for f in frames])
    return {
        "jpeg": _encoded(rgb, "JPEG", quality=80),
        "jpeg-progressive-exif": _encoded(rgb, "JPEG", progressive=True, exif=exif.tobytes()),
        "jpeg-gray": _encoded(rgb.convert("L"), "JPEG"),
        "jpeg-cmyk": _encoded(rgb.convert("CMYK"), "JPEG"),
        "png-rgba": _encoded(rgba, "PNG"),
        "png-palette-transparency": _encoded(rgb.convert("P"), "PNG", transparency=0),
        "png-16bit": _encoded(rgb.convert("I;16"), "PNG"),
        "png-interlaced": _encoded(rgb, "PNG", interlace=1),
        "webp-lossy": _encoded(rgb, "WEBP", quality=50),
        "webp-lossless-alpha": _encoded(rgba, "WEBP", lossless=True),
        "webp-animated": webp_anim.getvalue(),
        "gif-animated": gif.getvalue(),
        "bmp": _encoded(rgb, "BMP"),
        "tiff-lzw": _encoded(rgb, "TIFF", compression="tiff_lzw"),
        "tiff-float": _encoded(rgb.convert("F"), "TIFF"),
        "tiff-deflate-alpha": _encoded(rgba, "TIFF", compression="tiff_adobe_deflate"),
    }


SEEDS = _seeds()
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "gif": ".gif", "bmp": ".bmp", "tiff": ".tif"}


@st.composite
def hostile_images(draw: st.DrawFn) -> tuple[str, bytes]:
    """A seed file with a few mutations: flipped bytes, overwritten runs, inserts, cuts, truncation."""
    if draw(st.integers(0, 9)) == 0:
        return ".jpg", draw(st.binary(max_size=4096))  # plain noise under an image's name
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate", "header"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            data[pos:pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                                                      b"\x80\x00\x00\x00", b"\x00\x01\x00\x00"]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[pos:]
        elif op == "header":  # the first 64 bytes carry sizes and counts: where decoders are most trusting
            at = draw(st.integers(0, min(63, max(0, len(data) - 1))))
            if data:
                data[at] = draw(st.integers(0, 255))
    return EXTENSIONS[name.split("-")[0]], bytes(data)


def test_every_seed_is_a_readable_image() -> None:
    """The seeds themselves decode, so the mutations start from real files of each kind."""
    for name, data in SEEDS.items():
        prepared = load_image(data, MAX_PIXELS, name=name)
        assert prepared.width >= MIN_SIDE and prepared.height >= MIN_SIDE, name


@FUZZ
@given(case=hostile_images())
def test_caption_loader_never_crashes_or_hangs(case: tuple[str, bytes]) -> None:
    _, data = case
    try:
        prepared = load_image(data, MAX_PIXELS, name="fuzz.jpg")
    except ImageLoadError as exc:
        assert "fuzz.jpg" in str(exc)  # a message naming the file, for the user
        return
    width, height = prepared.width, prepared.height
    assert width >= 1 and height >= 1
    assert len(prepared.rgb) == width * height * 3
    assert width * height <= max(MAX_PIXELS, MIN_SIDE * MIN_SIDE * MAX_ASPECT_RATIO)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# Qt's decoders report what they find wrong in a damaged file as warnings: expected here, not a failure.
@pytest.mark.qt_log_ignore(".*")
@FUZZ
@given(case=hostile_images())
def test_thumbnail_reader_never_crashes_or_hangs(case: tuple[str, bytes], fuzz_dir: Path, qapp: object) -> None:
    from caprl_desktop.ui.queue_model import read_thumbnail

    suffix, data = case
    path = fuzz_dir / f"fuzz{suffix}"
    path.write_bytes(data)
    image = read_thumbnail(path, 160)
    assert image.isNull() or 0 < max(image.width(), image.height()) <= 160
