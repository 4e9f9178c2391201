"""Image decoding with Pillow: any supported file in, 8-bit RGB out.

Files are recognised by their content, never by their extension, so a PNG named
``photo.jpg`` or a file without an extension works. Every problem a user's file can have
(empty, not an image, truncated, a decompression bomb, an unsupported format such as HEIC)
is raised as :class:`ImageProblem` with a short ``reason`` that the dataset report shows and
the ``file_fix`` that goes with it (a report lists such a file as a
:class:`~tlcore.findings.SkippedFile`).
"""

from __future__ import annotations

import io
import logging
import os
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import TLCoreError
from .findings import SkippedFile  # noqa: F401  (re-exported: tlcore.images.SkippedFile)
from .limits import DEFAULT_MAX_IMAGE_PIXELS, max_image_pixels

log = logging.getLogger(__name__)

SUPPORTED = "JPEG, PNG, GIF, BMP, TIFF, WebP"
# Pillow's names for the formats above (DIB is a BMP variant). The JPEG opener also opens
# the multi-picture JPEGs ("MPO") that many phones and cameras write.
SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "DIB", "TIFF", "WEBP")
Image.init()  # register every plugin: Image.open(formats=...) only knows the registered ones


def _let_pillow_allow_the_setting() -> None:
    """Raise Pillow's own decompression-bomb limit when TLCORE_MAX_IMAGE_PIXELS allows more.

    Pillow refuses images above ``2 * Image.MAX_IMAGE_PIXELS`` pixels; a lower setting is
    enforced by :func:`_check_pixels` on every image, a higher one needs Pillow's limit raised,
    which is process-wide and so done once, when this module is imported.
    """
    try:
        limit = max_image_pixels()
    except TLCoreError:
        return  # a bad setting is reported where images are opened
    if limit > DEFAULT_MAX_IMAGE_PIXELS and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, limit // 2 + 1)


_let_pillow_allow_the_setting()

# Brands in the ISO-BMFF "ftyp" box (bytes 4-12) of HEIC/HEIF/AVIF files, which phones
# produce and which we want to name rather than call "not an image".
_ISOBMFF_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"hevx": "HEIC", b"heim": "HEIC",
    b"heis": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF", b"avis": "AVIF",
}

# Signatures of the supported formats: a file that starts like one but that Pillow cannot
# open is a damaged image, not "not an image".
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

ImageSource = str | os.PathLike | BinaryIO


# What a user can do about each kind of file that is left out, given where the reason is made.
FIX_EMPTY = "the file has no content; copy it again from the original"
FIX_CONVERT = "convert it to JPEG or PNG (for example with your photo viewer's *Export*)"
FIX_SMALLER = "make the picture smaller (fewer pixels) and add it again"
FIX_DAMAGED = "the file is damaged; copy it again from the original or re-save it"
FIX_NOT_IMAGE = "remove it: only pictures can be used"
FIX_PERMISSION = "make the file readable, or copy it again"
FIX_OTHER = "replace the file or remove it"


class ImageProblem(TLCoreError):
    """A file that cannot be used as an image.

    ``reason`` is a short phrase for reports and ``file_fix`` what to do about the file (see
    :class:`~tlcore.findings.SkippedFile`); the error's own message keeps its general fix.
    """

    def __init__(self, path: ImageSource, reason: str, file_fix: str = FIX_OTHER):
        self.path = _display_name(path)
        self.reason = reason
        self.file_fix = file_fix
        super().__init__(
            f"Cannot use {self.path!r} as an image: {reason}.",
            f"replace or remove the file; supported formats are {SUPPORTED}.",
        )


def _display_name(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<in-memory image>"))


def _sniff_format(head: bytes) -> str | None:
    """Name a well-known format Pillow cannot open from its first bytes."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _ISOBMFF_BRANDS.get(head[8:12], None)
    return None


def _open_decoded(source: ImageSource, draft_size: int | None = None) -> Image.Image:
    """Open and fully decode the first frame, turning every failure into ImageProblem."""
    if isinstance(source, (str, os.PathLike)):
        try:
            if os.path.getsize(source) == 0:
                raise ImageProblem(source, "empty file", FIX_EMPTY)
        except FileNotFoundError:
            raise ImageProblem(source, "file not found") from None
        except PermissionError:
            raise ImageProblem(source, "cannot read the file (permission denied)", FIX_PERMISSION) from None
    try:
        # formats= keeps Pillow to the formats we support, so exotic decoders never run on
        # user files.
        img = Image.open(source, formats=SUPPORTED_FORMATS)
    except Image.DecompressionBombError:
        raise ImageProblem(source, _bomb_reason(), FIX_SMALLER) from None
    except UnidentifiedImageError:
        raise ImageProblem(source, *_unidentified(source)) from None
    except PermissionError:
        raise ImageProblem(source, "cannot read the file (permission denied)", FIX_PERMISSION) from None
    except Exception as err:  # Pillow raises many types (OSError, SyntaxError, struct.error…) on broken headers
        log.debug("open failed for %s: %r", _display_name(source), err)
        raise ImageProblem(source, "truncated or corrupt image", FIX_DAMAGED) from None
    try:
        _check_pixels(source, img)
    except BaseException:
        img.close()
        raise
    try:
        if draft_size and img.format in ("JPEG", "MPO"):
            # Decode JPEGs at a reduced DCT scale (still >= draft_size): several times faster,
            # and libjpeg still reads the whole stream, so truncation is still detected.
            img.draft(None, (draft_size, draft_size))
        img.load()  # the real decode; lazily opened images only read the header
        return img
    except Image.DecompressionBombError:
        img.close()
        raise ImageProblem(source, _bomb_reason(), FIX_SMALLER) from None
    except Exception as err:
        img.close()
        log.debug("decode failed for %s: %r", _display_name(source), err)
        raise ImageProblem(source, "truncated or corrupt image", FIX_DAMAGED) from None


def _check_pixels(source: ImageSource, img: Image.Image) -> None:
    """Refuse an image larger than TLCORE_MAX_IMAGE_PIXELS before its pixels are decoded."""
    limit = max_image_pixels()  # raises TLCoreError (naming the setting) when it is malformed
    width, height = img.size
    if width * height > limit:
        raise ImageProblem(
            source,
            f"image too large ({width:,} x {height:,} = {width * height:,} pixels, more than the "
            f"decompression bomb limit of {limit:,} pixels)",
            FIX_SMALLER,
        )


def _bomb_reason() -> str:
    limit = Image.MAX_IMAGE_PIXELS
    shown = f"{2 * limit:,} pixels" if limit else "Pillow's limit"
    return f"image too large (decompression bomb limit of {shown})"


def _unidentified(source: ImageSource) -> tuple[str, str]:
    """(reason, file fix) for a file Pillow cannot identify as a supported image."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as fh:
                head = fh.read(32)
        else:
            source.seek(0)
            head = source.read(32)
    except OSError:
        return "cannot read the file", FIX_OTHER
    sniffed = _sniff_format(head)
    if sniffed:
        return f"unsupported format {sniffed}", FIX_CONVERT
    if head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "truncated or corrupt image", FIX_DAMAGED
    try:
        # Pillow may know the format even though we do not accept it (PSD, ICO, PPM, …):
        # open() only reads the header, so this costs nothing.
        if not isinstance(source, (str, os.PathLike)):
            source.seek(0)
        with Image.open(source) as other:
            return f"unsupported format {other.format}", FIX_CONVERT
    except Exception:
        return "not an image", FIX_NOT_IMAGE


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way a person would see the picture."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's convert("L") clips 16-bit values at 255 (a white picture); scale instead.
        # "I" (32-bit) is how Pillow holds 16-bit data from several formats.
        values = np.asarray(img).astype(np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "F":
        values = np.nan_to_num(np.asarray(img, dtype=np.float64))
        low, high = float(values.min()), float(values.max())
        if low >= 0.0 and high <= 1.0:
            scaled = values * 255.0  # float images are conventionally 0..1
        else:
            scaled = (values - low) / max(high - low, 1e-12) * 255.0
        return Image.fromarray(np.rint(scaled).astype(np.uint8), "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        # Transparent pixels often hold arbitrary (black) colour; show them as the white a
        # viewer would.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L").convert("RGB")
    try:
        return img.convert("RGB")  # L, P, CMYK, YCbCr, …
    except (ValueError, OSError):
        raise ImageProblem(getattr(img, "filename", "") or "<image>", f"unsupported colour mode {mode}") from None


def _orient(img: Image.Image) -> None:
    try:
        ImageOps.exif_transpose(img, in_place=True)  # in place: no copy when there is no tag
    except Exception as err:  # broken EXIF blocks are common; the pixels are still fine
        log.debug("ignoring unreadable EXIF orientation: %r", err)


def _rgb_image(source: ImageSource, draft_size: int | None = None) -> Image.Image:
    img = _open_decoded(source, draft_size)
    try:
        _orient(img)
        rgb = _to_rgb(img)
        if rgb is img and getattr(img, "fp", None) is not None:
            # Multi-frame files keep their file open after load(); hand back a detached copy.
            rgb = img.copy()
    except ImageProblem as err:
        img.close()
        raise ImageProblem(source, err.reason, err.file_fix) from None
    except Exception as err:
        img.close()
        log.debug("conversion failed for %s: %r", _display_name(source), err)
        raise ImageProblem(source, "truncated or corrupt image", FIX_DAMAGED) from None
    if rgb is not img:
        img.close()
    return rgb


def open_image(path: ImageSource) -> Image.Image:
    """Open an image file as 8-bit RGB.

    The format is recognised from the content. EXIF orientation is applied, animated
    GIF/WebP give their first frame, and grayscale, palette, CMYK, 16-bit and transparent
    images (composited onto white) are converted to RGB.

    Args:
        path: A file path or a binary file object.

    Returns:
        A fully loaded RGB ``PIL.Image.Image``.

    Raises:
        ImageProblem: The file is empty, not an image, truncated or corrupt, larger than
            Pillow's decompression-bomb limit, or in an unsupported format.
    """
    return _rgb_image(path)


def _bilinear_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of a half-pixel-centred bilinear resize along one axis."""
    scale = np.float32(in_size / out_size)
    x = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(x)
    low = np.maximum(floor, 0).astype(np.intp)
    high = np.minimum(np.ceil(x), in_size - 1).astype(np.intp)
    return low, high, (x - floor).astype(np.float32)


def resize_image(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 array to ``size`` x ``size`` exactly as the saved model does.

    This is the arithmetic of the model's own ``keras.layers.Resizing`` (bilinear,
    half-pixel centres, no antialiasing, no crop), which every export format runs as the
    same op (TensorFlow's and TFLite's ``ResizeBilinear``). Resizing here with the same
    rule means a photo gets the same answer from the app and from an exported model fed
    the photo at its own size. Antialiased resizes (Pillow's, ``antialias=True``) would
    look smoother but TFLite cannot run them, so the app does not use them either.
    """
    height, width = pixels.shape[:2]
    if (height, width) == (size, size):
        return pixels
    y0, y1, wy = _bilinear_taps(height, size)
    x0, x1, wx = _bilinear_taps(width, size)
    wx = wx[None, :, None]
    # Gather the four neighbours as uint8 first: a 12-megapixel photo is never copied whole.
    rows_top, rows_bottom = pixels[y0], pixels[y1]

    def across(rows: np.ndarray) -> np.ndarray:
        left = rows[:, x0].astype(np.float32)
        return left + (rows[:, x1].astype(np.float32) - left) * wx

    top, bottom = across(rows_top), across(rows_bottom)
    out = top + (bottom - top) * wy[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def load_image(path: ImageSource, size: int) -> np.ndarray:
    """Decode an image and resize it to a ``size`` x ``size`` square as the model does.

    The whole image is decoded (no reduced-scale JPEG decoding) and resized by
    :func:`resize_image`, so the result is what an exported model computes from the same
    photo given at full size.

    Args:
        path: A file path or a binary file object.
        size: Output width and height in pixels.

    Returns:
        A ``uint8`` array of shape ``(size, size, 3)``.

    Raises:
        ImageProblem: As :func:`open_image`.
    """
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive whole number of pixels, got {size!r}")
    img = _rgb_image(path)
    try:
        pixels = np.asarray(img, dtype=np.uint8)
    finally:
        img.close()
    return resize_image(pixels, int(size))


def image_problem(path: ImageSource) -> ImageProblem | None:
    """Cheaply check that a file decodes as an image.

    JPEGs are decoded at a reduced scale, which still reads every byte, so truncated
    files are caught.

    Args:
        path: A file path or a binary file object (e.g. ``io.BytesIO`` of bytes already read).

    Returns:
        None when the image is usable, else the problem (its ``reason`` and ``file_fix``).
    """
    try:
        _rgb_image(path, draft_size=1).close()  # smallest JPEG scale (1/8): fastest full read
        return None
    except ImageProblem as err:
        return err


def check_image(path: ImageSource) -> str | None:
    """:func:`image_problem`'s reason: None when the image is usable (e.g. ``"not an image"``)."""
    problem = image_problem(path)
    return None if problem is None else problem.reason


def check_image_bytes(data: bytes, name: str = "<bytes>") -> str | None:
    """:func:`check_image` for a file's content already in memory (avoids a second read)."""
    if not data:
        return "empty file"
    buffer = io.BytesIO(data)
    buffer.name = name
    return check_image(buffer)


__all__ = [
    "SUPPORTED",
    "SUPPORTED_FORMATS",
    "ImageProblem",
    "SkippedFile",
    "check_image",
    "check_image_bytes",
    "image_problem",
    "load_image",
    "open_image",
    "resize_image",
]
