"""Safety limits as settings (tlcore.limits): safe defaults, every limit an environment setting,
and a malformed setting refused naming it. Moved from test_hostile.py (issue 4); the tests of the
code that obeys the limits (zips, images, datasets, the CLI, the Data page) sit beside that code."""

import pytest

from data_helpers import LIMIT_SETTINGS, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.errors import TLCoreError
from tlcore.limits import DEFAULT_MAX_IMAGE_PIXELS, ZipLimits, describe_limits, max_image_pixels


def test_limits_have_safe_defaults():
    limits = ZipLimits.from_env({})
    assert limits == ZipLimits()
    assert (limits.max_files, limits.max_total_bytes, limits.max_file_bytes, limits.max_ratio, limits.max_depth) == \
        (50_000, 4 * 1024**3, 512 * 1024**2, 200.0, 32)
    assert max_image_pixels({}) == DEFAULT_MAX_IMAGE_PIXELS == 178_956_970  # Pillow's own refusal point
    assert describe_limits({})["max_image_pixels"] == DEFAULT_MAX_IMAGE_PIXELS


def test_every_limit_is_a_setting():
    env = {"TLCORE_MAX_ZIP_FILES": "1_000", "TLCORE_MAX_ZIP_BYTES": "500M", "TLCORE_MAX_ZIP_FILE_BYTES": "2GiB",
           "TLCORE_MAX_ZIP_RATIO": "50", "TLCORE_MAX_ZIP_DEPTH": "4", "TLCORE_MAX_IMAGE_PIXELS": "40000000"}
    limits = ZipLimits.from_env(env)
    assert limits == ZipLimits(max_files=1000, max_total_bytes=500 * 1024**2, max_file_bytes=2 * 1024**3,
                               max_ratio=50.0, max_depth=4)
    assert max_image_pixels(env) == 40_000_000
    assert ZipLimits.from_env({"TLCORE_MAX_ZIP_BYTES": "123456"}).max_total_bytes == 123456


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5.2", "4X"])
def test_a_malformed_limit_setting_is_refused_naming_it(name, value):
    with pytest.raises(TLCoreError) as info:
        describe_limits({name: value})
    message = str(info.value)
    assert name in message and repr(value) in message and "Fix:" in message and "default" in message


def test_zip_limits_in_code_are_checked_too():
    with pytest.raises(TLCoreError, match="max_files"):
        ZipLimits(max_files=0)
