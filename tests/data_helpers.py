"""What the data-stage tests share: small generated images, class folders, zips, the limit settings.

Used by the tests of tlcore.data (test_data_*.py), test_archive.py, test_images.py and
test_pages_hostile.py, test_limits.py and test_cli_commands.py. ``default_limits`` is an autouse fixture: a module that imports it runs every
test from the default ``TLCORE_MAX_*`` limits, whatever the environment says.
"""

from __future__ import annotations

import io
import itertools
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcore.data import load_dataset
from tlcore.errors import TLCoreError

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SETTINGS = ("TLCORE_MAX_ZIP_FILES", "TLCORE_MAX_ZIP_BYTES", "TLCORE_MAX_ZIP_FILE_BYTES", "TLCORE_MAX_ZIP_RATIO",
                  "TLCORE_MAX_ZIP_DEPTH", "TLCORE_MAX_IMAGE_PIXELS")
CAFE_NFC, CAFE_NFD = "caf\u00e9", "cafe\u0301"  # one name, composed (Windows) and decomposed (macOS)

_seeds = itertools.count()


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """Every test starts from the defaults, whatever the environment of the test run says."""
    for name in LIMIT_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _image(path: Path, colour: tuple[int, int, int] | None = None, size: int = 16, fmt: str = "PNG") -> Path:
    """A small image with unique content (noise), optionally of one solid colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(next(_seeds))
    if colour is None:
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    else:
        pixels = np.full((size, size, 3), colour, dtype=np.uint8)
    Image.fromarray(pixels).save(path, fmt)
    return path


def _classes(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _image(root / name / f"{i:03d}.png")
    return root


def _zip_tree(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def _error(source, *words, **kwargs) -> str:
    """load_dataset(source) must refuse with a message naming ``words`` and a fix."""
    with pytest.raises(TLCoreError) as info:
        load_dataset(source, **kwargs)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Fix:" in message
    return message


def _noise_png(seed: int, size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _dataset_zip(path: Path, classes=("cats", "dogs"), per_class=10, prefix="") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for c, cls in enumerate(classes):
            for i in range(per_class):
                zf.writestr(f"{prefix}{cls}/{i:03d}.png", _noise_png(1000 * c + i))
    return path


def _huge_png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height pixels but holds a few bytes: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
