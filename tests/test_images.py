"""Image decoding: every kind of file a user may upload, good and bad."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from data_helpers import LIMIT_SETTINGS, ROOT, _huge_png_header, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.errors import TLCoreError
from tlcore.images import (
    SUPPORTED,
    ImageProblem,
    check_image,
    check_image_bytes,
    image_problem,
    load_image,
    open_image,
)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _bands(colours, width=30, height=30) -> Image.Image:
    """Vertical bands of solid colours, left to right."""
    pixels = np.zeros((height, width * len(colours), 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        pixels[:, i * width : (i + 1) * width] = colour
    return Image.fromarray(pixels)


def _noise_jpeg(path, size=256, seed=0, **save_args):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, "JPEG", quality=90, **save_args)
    return path


def _close(actual, expected, tol=12):
    return np.all(np.abs(np.asarray(actual, dtype=int) - np.asarray(expected, dtype=int)) <= tol)


def test_supported_names_the_formats():
    for name in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WebP"):
        assert name in SUPPORTED


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_each_supported_format_loads_as_rgb(tmp_path, fmt):
    path = tmp_path / f"img.{fmt.lower()}"
    _bands([RED, BLUE]).save(path, fmt)
    array = load_image(path, 24)
    assert array.shape == (24, 24, 3) and array.dtype == np.uint8
    assert _close(array[12, 2], RED, 40) and _close(array[12, 21], BLUE, 40)


def test_format_is_recognised_by_content_not_extension(tmp_path):
    png_named_jpg = tmp_path / "photo.jpg"
    _bands([RED]).save(png_named_jpg, "PNG")
    no_extension = tmp_path / "IMG_0001"
    _bands([BLUE]).save(no_extension, "JPEG")
    assert _close(load_image(png_named_jpg, 8)[4, 4], RED, 0)
    assert _close(load_image(no_extension, 8)[4, 4], BLUE, 20)
    assert check_image(png_named_jpg) is None and check_image(no_extension) is None


def test_exif_orientation_is_applied(tmp_path):
    # Stored 60x30 landscape: red left, blue right. Orientation 6 = "rotate 90 degrees
    # clockwise to display", so a viewer shows a 30x60 portrait with red on top.
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    _bands([RED, BLUE]).save(path, "JPEG", exif=exif.tobytes(), quality=95)
    img = open_image(path)
    assert img.size == (30, 60)
    assert _close(img.getpixel((15, 5)), RED, 30)
    assert _close(img.getpixel((15, 55)), BLUE, 30)
    square = load_image(path, 20)
    assert _close(square[2, 10], RED, 30) and _close(square[17, 10], BLUE, 30)


def test_cmyk_jpeg_becomes_the_right_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, "JPEG", quality=95)  # pure red in CMYK
    img = open_image(path)
    assert img.mode == "RGB"
    assert _close(img.getpixel((8, 8)), RED, 10)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "depth16.png"
    values = np.array([[0, 128 * 257, 65535, 1000]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(open_image(path))
    assert pixels.shape == (4, 4, 3)
    # Clipping would make 128*257 and 1000 white (255); scaling keeps mid-grey and near-black.
    assert list(pixels[0, :, 0]) == [0, 128, 255, 4]
    assert np.all(pixels[..., 0] == pixels[..., 1])


def test_palette_gif_transparency_becomes_white(tmp_path):
    path = tmp_path / "transparent.gif"
    img = Image.new("P", (10, 10), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black (transparent), 1 red
    img.paste(1, (5, 0, 10, 10))
    img.save(path, transparency=0)
    rgb = open_image(path)
    assert rgb.getpixel((1, 5)) == WHITE  # not the black hidden behind the transparency
    assert rgb.getpixel((8, 5)) == RED


def test_rgba_is_composited_onto_white(tmp_path):
    path = tmp_path / "alpha.png"
    pixels = np.zeros((4, 4, 4), dtype=np.uint8)
    pixels[:, 2:] = (255, 0, 0, 128)  # half-transparent red; left half fully transparent black
    Image.fromarray(pixels, "RGBA").save(path)
    rgb = open_image(path)
    assert rgb.getpixel((0, 0)) == WHITE
    assert _close(rgb.getpixel((3, 0)), (255, 127, 127), 2)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (5, 5), 77).save(path)
    assert open_image(path).getpixel((2, 2)) == (77, 77, 77)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_gives_its_first_frame(tmp_path, fmt):
    path = tmp_path / f"anim.{fmt.lower()}"
    frames = [Image.new("RGB", (12, 12), RED), Image.new("RGB", (12, 12), BLUE)]
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    assert getattr(Image.open(path), "n_frames", 1) == 2
    assert _close(open_image(path).getpixel((6, 6)), RED, 10)


def test_truncated_jpeg_is_detected(tmp_path):
    # 1024 px: check_image decodes at 1/8 scale, which must still notice the missing data.
    whole = _noise_jpeg(tmp_path / "whole.jpg", size=1024)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert check_image(whole) is None
    assert check_image(cut) == "truncated or corrupt image"
    with pytest.raises(ImageProblem, match="truncated"):
        load_image(cut, 64)


def test_truncated_png_is_detected(tmp_path):
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:5000])
    assert check_image(cut) == "truncated or corrupt image"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert check_image(path) == "empty file"
    with pytest.raises(ImageProblem) as info:
        open_image(path)
    assert info.value.reason == "empty file"
    assert "empty.jpg" in str(info.value) and "Fix:" in str(info.value)
    assert isinstance(info.value, TLCoreError)


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 20)
    assert check_image(path) == "not an image"


def test_missing_file(tmp_path):
    assert check_image(tmp_path / "nope.png") == "file not found"


def test_heic_is_named_as_unsupported(tmp_path):
    path = tmp_path / "IMG_1234.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    assert check_image(path) == "unsupported format HEIC"


def test_format_pillow_knows_but_we_do_not_support(tmp_path):
    path = tmp_path / "icon.ico"
    Image.new("RGB", (16, 16), RED).save(path, "ICO")
    reason = check_image(path)
    assert reason is not None and reason.startswith("unsupported format")


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("RGB", (100, 100)).save(path)  # 10,000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # Pillow errors above twice this
    reason = check_image(path)
    assert reason is not None and "decompression bomb" in reason and "too large" in reason
    with pytest.raises(ImageProblem, match="decompression bomb"):
        load_image(path, 32)


def test_load_image_resizes_the_whole_picture_without_cropping(tmp_path):
    path = tmp_path / "wide.png"
    _bands([RED, (0, 255, 0), BLUE]).save(path)  # 90x30: a centre crop would keep only green
    square = load_image(path, 30)
    assert square.shape == (30, 30, 3)
    assert _close(square[15, 3], RED, 5) and _close(square[15, 15], (0, 255, 0), 5)
    assert _close(square[15, 27], BLUE, 5)


def test_load_image_jpeg_draft_matches_full_decode(tmp_path):
    path = tmp_path / "big.jpg"
    ys, xs = np.mgrid[0:800, 0:800]
    smooth = np.stack([xs * 255 // 800, ys * 255 // 800, 255 - xs * 255 // 800], -1).astype(np.uint8)
    Image.fromarray(smooth).save(path, quality=95)
    fast = load_image(path, 64).astype(int)
    full = np.asarray(Image.open(path).convert("RGB").resize((64, 64), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(fast - full).mean() < 3


def test_in_memory_bytes_can_be_checked(tmp_path):
    buffer = io.BytesIO()
    _bands([RED]).save(buffer, "PNG")
    assert check_image_bytes(buffer.getvalue(), "a.png") is None
    assert check_image_bytes(b"", "b.png") == "empty file"
    assert check_image_bytes(b"GIF89a" + bytes(10), "c.gif") == "truncated or corrupt image"


def test_load_image_refuses_a_bad_size(tmp_path):
    path = tmp_path / "a.png"
    _bands([RED]).save(path)
    with pytest.raises(ValueError, match="size"):
        load_image(path, 0)


def test_each_problem_carries_the_fix_for_the_file(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(32))
    (tmp_path / "cut.gif").write_bytes(b"GIF89a" + bytes(10))
    expected = {
        "notes.jpg": ("not an image", "remove it: only pictures can be used"),
        "empty.png": ("empty file", "the file has no content; copy it again from the original"),
        "photo.heic": ("unsupported format HEIC", "convert it to JPEG or PNG (for example with your photo viewer's *Export*)"),
        "cut.gif": ("truncated or corrupt image", "the file is damaged; copy it again from the original or re-save it"),
        "missing.png": ("file not found", "replace the file or remove it"),
    }
    for name, (reason, fix) in expected.items():
        problem = image_problem(tmp_path / name)
        assert (problem.reason, problem.file_fix) == (reason, fix), name
        assert check_image(tmp_path / name) == reason
    _bands([RED]).save(tmp_path / "fine.png")
    assert image_problem(tmp_path / "fine.png") is None


# ---------------------------------------------------------------- the pixel limit is a setting (issue 4)


def test_the_pixel_setting_refuses_large_images(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100), (10, 20, 30)).save(path)
    assert check_image(path) is None
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "5000")
    reason = check_image(path)
    assert reason and "too large" in reason and "100 x 100" in reason and "5,000 pixels" in reason
    with pytest.raises(TLCoreError, match="too large"):
        load_image(path, 32)
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "many")
    with pytest.raises(TLCoreError, match="TLCORE_MAX_IMAGE_PIXELS"):
        check_image(path)


def test_an_image_with_huge_dimensions_is_refused_under_the_default_limit(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_huge_png_header(60_000, 60_000))  # 3.6 billion pixels in 100 bytes
    reason = check_image(path)
    assert reason is not None and "too large" in reason, reason


def test_raising_the_pixel_setting_lets_larger_images_through(tmp_path):
    """A fresh process (the app, a job, the CLI) started with a higher limit accepts what Pillow alone would refuse."""
    path = tmp_path / "tall.png"
    path.write_bytes(_huge_png_header(20_000, 10_000))  # 200 M pixels: over Pillow's default of 179 M
    code = ("import sys; from tlcore.images import check_image; from PIL import Image; "
            "print(check_image(sys.argv[1])); print(Image.MAX_IMAGE_PIXELS)")
    def run(**extra):
        env = {k: v for k, v in os.environ.items() if k not in LIMIT_SETTINGS} | extra
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                             cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    default_reason, _ = run()
    assert "too large" in default_reason
    raised_reason, pillow_limit = run(TLCORE_MAX_IMAGE_PIXELS="300000000")
    assert "too large" not in raised_reason  # it gets as far as decoding (and the fake pixel data fails there)
    assert float(pillow_limit) * 2 >= 300_000_000
