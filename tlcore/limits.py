"""Safety limits on what users hand us, as settings with safe defaults.

The limits protect a shared server from zip bombs and decompression bombs. An administrator
changes them with environment variables, which are read here and nowhere else; the app, the
training jobs and the command line all get their limits from these functions, so one
setting applies everywhere.

==========================  ===============  ==============================================
variable                    default          what it limits
==========================  ===============  ==============================================
TLCORE_MAX_ZIP_FILES        50000            files in one zip
TLCORE_MAX_ZIP_BYTES        4G               total unpacked size of one zip
TLCORE_MAX_ZIP_FILE_BYTES   512M             unpacked size of one file in a zip
TLCORE_MAX_ZIP_RATIO        200              unpacked/packed size of one entry (1 MiB or more)
TLCORE_MAX_ZIP_DEPTH        32               folder levels inside a zip
TLCORE_MAX_IMAGE_PIXELS     178956970        width x height of one image (Pillow's own limit)
==========================  ===============  ==============================================

Sizes take a plain number of bytes or a binary suffix (``500M``, ``4G``, ``4GiB``).
A value that is not a positive number is refused with a :class:`~tlcore.errors.TLCoreError`
naming the variable, rather than silently falling back to the default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .errors import TLCoreError

# Pillow warns above Image.MAX_IMAGE_PIXELS (89,478,485 by default) and refuses above twice
# that; our default is Pillow's own refusal point, so an unset setting changes nothing.
DEFAULT_MAX_IMAGE_PIXELS = 2 * (1024 * 1024 * 1024 // 4 // 3)
IMAGE_PIXELS_ENV = "TLCORE_MAX_IMAGE_PIXELS"

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ZipLimits:
    """What a zip may contain before it is refused as a zip bomb.

    Attributes:
        max_files: Files in the zip (folders not counted).
        max_total_bytes: Unpacked size of all files together.
        max_file_bytes: Unpacked size of any one file.
        max_ratio: Unpacked size / packed size of any one entry of 1 MiB or more.
        max_depth: Folder levels.
    """

    max_files: int = 50_000
    max_total_bytes: int = 4 * 1024**3
    max_file_bytes: int = 512 * 1024**2
    max_ratio: float = 200.0
    max_depth: int = 32

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise TLCoreError(f"ZipLimits.{f.name} is {value!r}, which is not allowed.",
                                  "use a number above 0.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ZipLimits":
        """The limits set by the ``TLCORE_MAX_ZIP_*`` environment variables (defaults for unset ones)."""
        env = os.environ if environ is None else environ
        values = {}
        for name, (variable, parse) in _ZIP_SETTINGS.items():
            raw = env.get(variable)
            if raw is not None and raw.strip():
                values[name] = parse(variable, raw)
        return cls(**values)


def bad_setting(variable: str, raw: str, allowed: str, default: str) -> TLCoreError:
    """The error for an environment setting with a value that is not allowed (every TLCORE_* setting)."""
    return TLCoreError(
        f"The setting {variable} is {raw!r}, which is not allowed.",
        f"set it to {allowed}, or unset it to use the default ({default}).",
    )


def _count(variable: str, raw: str) -> int:
    text = raw.strip().replace("_", "").replace(",", "")
    if not text.isdigit() or int(text) < 1:
        raise bad_setting(variable, raw, "a whole number above 0", _DEFAULT_TEXT[variable])
    return int(text)


def _bytes(variable: str, raw: str) -> int:
    match = _SIZE.match(raw)
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else 0
    if value < 1:
        raise bad_setting(variable, raw, "a size above 0 in bytes, or with K, M or G (e.g. 500M, 4G)", _DEFAULT_TEXT[variable])
    return value


def _ratio(variable: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = 0.0
    if not 1 <= value < float("inf"):
        raise bad_setting(variable, raw, "a number of at least 1, e.g. 200", _DEFAULT_TEXT[variable])
    return value


_ZIP_SETTINGS = {
    "max_files": ("TLCORE_MAX_ZIP_FILES", _count),
    "max_total_bytes": ("TLCORE_MAX_ZIP_BYTES", _bytes),
    "max_file_bytes": ("TLCORE_MAX_ZIP_FILE_BYTES", _bytes),
    "max_ratio": ("TLCORE_MAX_ZIP_RATIO", _ratio),
    "max_depth": ("TLCORE_MAX_ZIP_DEPTH", _count),
}
_DEFAULT_TEXT = {
    "TLCORE_MAX_ZIP_FILES": "50000",
    "TLCORE_MAX_ZIP_BYTES": "4G",
    "TLCORE_MAX_ZIP_FILE_BYTES": "512M",
    "TLCORE_MAX_ZIP_RATIO": "200",
    "TLCORE_MAX_ZIP_DEPTH": "32",
    IMAGE_PIXELS_ENV: f"{DEFAULT_MAX_IMAGE_PIXELS}",
}


def zip_limits(environ: Mapping[str, str] | None = None) -> ZipLimits:
    """The zip limits in force: :meth:`ZipLimits.from_env`."""
    return ZipLimits.from_env(environ)


def max_image_pixels(environ: Mapping[str, str] | None = None) -> int:
    """Largest width x height an image may have (``TLCORE_MAX_IMAGE_PIXELS``); larger ones are refused."""
    env = os.environ if environ is None else environ
    raw = env.get(IMAGE_PIXELS_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_IMAGE_PIXELS
    return _count(IMAGE_PIXELS_ENV, raw)


def describe_limits(environ: Mapping[str, str] | None = None) -> dict[str, int | float]:
    """Every limit in force, by name (for pages and reports)."""
    limits = zip_limits(environ)
    described: dict[str, int | float] = {f.name: getattr(limits, f.name) for f in fields(limits)}
    described["max_image_pixels"] = max_image_pixels(environ)
    return described


SETTINGS = {variable: name for name, (variable, _) in _ZIP_SETTINGS.items()} | {IMAGE_PIXELS_ENV: "max_image_pixels"}

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "SETTINGS", "ZipLimits", "bad_setting", "describe_limits", "max_image_pixels", "zip_limits"]
