"""Image loading: every format and oddity a user's folder holds, read the way a person expects."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from caprl_desktop.core.errors import ImageLoadError
from caprl_desktop.core.images.loading import MIN_SIDE, PreparedImage, load_image
from tests.support.images import noise_image, save_noise

BIG_BUDGET = 4096 * 784


def pixels(img: PreparedImage) -> np.ndarray:
    return np.frombuffer(img.rgb, dtype=np.uint8).reshape(img.height, img.width, 3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Landscape pixels, red on the left half, tagged "rotate 90° clockwise to display" (orientation 6).
    arr = np.zeros((100, 200, 3), dtype=np.uint8)
    arr[:, :100] = (255, 0, 0)
    arr[:, 100:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(arr).save(path, exif=exif, quality=95)

    img = load_image(path, BIG_BUDGET)

    assert (img.width, img.height) == (100, 200)  # shown upright: portrait
    px = pixels(img)
    assert px[10, 50, 0] > 200 and px[10, 50, 2] < 60  # red now on top
    assert px[190, 50, 2] > 200 and px[190, 50, 0] < 60  # blue at the bottom


def test_transparency_is_flattened_onto_white(tmp_path: Path) -> None:
    arr = np.zeros((40, 40, 4), dtype=np.uint8)
    arr[:, :20] = (0, 0, 0, 0)  # fully transparent black
    arr[:, 20:] = (0, 128, 0, 255)
    path = tmp_path / "logo.png"
    Image.fromarray(arr, "RGBA").save(path)

    px = pixels(load_image(path, BIG_BUDGET))

    assert tuple(px[5, 5]) == (255, 255, 255)
    assert tuple(px[5, 35]) == (0, 128, 0)


def test_palette_with_transparent_index(tmp_path: Path) -> None:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 200, 30, 30] + [0] * (254 * 3))
    img.paste(1, (20, 0, 40, 40))
    path = tmp_path / "palette.gif"
    img.save(path, transparency=0)

    px = pixels(load_image(path, BIG_BUDGET))

    assert tuple(px[5, 5]) == (255, 255, 255)
    assert tuple(px[5, 30]) == (200, 30, 30)


def test_sixteen_bit_grayscale_keeps_its_tones(tmp_path: Path) -> None:
    arr = np.zeros((40, 40), dtype=np.uint16)
    arr[:, 20:] = 32768  # mid grey; Pillow's own convert("L") would clip this to white
    path = tmp_path / "scan16.png"
    Image.fromarray(arr).save(path)

    px = pixels(load_image(path, BIG_BUDGET))

    assert tuple(px[5, 5]) == (0, 0, 0)
    assert 120 <= px[5, 30, 0] <= 135


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(path)  # pure red in CMYK

    img = load_image(path, BIG_BUDGET)

    r, g, b = pixels(img)[20, 20]
    assert r > 200 and g < 60 and b < 60


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)

    r, _, b = pixels(load_image(path, BIG_BUDGET))[20, 20]
    assert r > 200 and b < 60


@pytest.mark.parametrize("suffix", [".webp", ".bmp", ".tiff", ".png", ".jpg"])
def test_common_formats_load(tmp_path: Path, suffix: str) -> None:
    path = save_noise(tmp_path / f"photo{suffix}", 90, 60)
    img = load_image(path, BIG_BUDGET)
    assert (img.width, img.height) == (90, 60)
    assert len(img.rgb) == 90 * 60 * 3


def test_japanese_file_name(tmp_path: Path) -> None:
    path = save_noise(tmp_path / "写真フォルダ" / "夏の海.jpg")
    img = load_image(path, BIG_BUDGET)
    assert img.source_format == "JPEG"


def test_large_image_is_scaled_to_the_budget(tmp_path: Path) -> None:
    path = save_noise(tmp_path / "big.jpg", 3000, 2000)
    budget = 256 * 784
    img = load_image(path, budget)
    assert img.width * img.height <= budget
    assert img.width * img.height > budget * 0.9
    assert abs(img.width / img.height - 1.5) < 0.02
    assert (img.source_width, img.source_height) == (3000, 2000)


def test_tiny_image_is_enlarged_to_one_token(tmp_path: Path) -> None:
    path = save_noise(tmp_path / "icon.png", 4, 2)
    img = load_image(path, BIG_BUDGET)
    assert min(img.width, img.height) >= MIN_SIDE
    assert img.width == 2 * img.height


def test_file_is_closed_after_loading(tmp_path: Path) -> None:
    path = save_noise(tmp_path / "locked.jpg")
    with path.open("rb"):  # the check below sees an open file: it can fail
        assert str(path.resolve()) in {f.path for f in psutil.Process().open_files()}
    load_image(path, BIG_BUDGET)
    assert str(path.resolve()) not in {f.path for f in psutil.Process().open_files()}


def _png_with_header_size(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims another size (a decompression bomb's header)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageLoadError, match="50000×50000 pixels"):
        load_image(_png_with_header_size(50_000, 50_000), BIG_BUDGET, name="bomb.png")


def test_extreme_strip_is_refused() -> None:
    with pytest.raises(ImageLoadError, match="1×100000"):
        load_image(_png_with_header_size(1, 100_000), BIG_BUDGET, name="strip.png")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file", "not an image the app can read"),
        (b"<!DOCTYPE html><html></html>", "not an image the app can read"),
    ],
)
def test_not_images(data: bytes, message: str) -> None:
    with pytest.raises(ImageLoadError, match=message):
        load_image(data, BIG_BUDGET, name="x.jpg")


def test_truncated_jpeg_gives_a_clear_error() -> None:
    buf = io.BytesIO()
    noise_image(200, 200).save(buf, "JPEG")
    with pytest.raises(ImageLoadError, match="damaged"):
        load_image(buf.getvalue()[:600], BIG_BUDGET, name="cut.jpg")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="no longer exists"):
        load_image(tmp_path / "gone.jpg", BIG_BUDGET)
