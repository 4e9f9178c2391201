"""Real weights and datasets from ../shared, for tests marked ``real_data``.

Keras reads ``KERAS_HOME`` once, when it is first imported, so conftest calls
:func:`isolate_keras_home` at import time: every test then sees a private temporary copy of
``../shared/keras_home`` (MobileNetV2 ImageNet weights only) and never the user's ~/.keras.
A missing ../shared makes the real-data tests fail loudly, never skip.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TLCORE_SHARED", REPO.parent / "shared"))
SHARED_KERAS_HOME = SHARED / "keras_home"
DATASETS = SHARED / "datasets"


def isolate_keras_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="tlcore-keras-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "models").mkdir()
    if (SHARED_KERAS_HOME / "models").is_dir():
        for f in (SHARED_KERAS_HOME / "models").iterdir():
            shutil.copyfile(f, home / "models" / f.name)
    os.environ["KERAS_HOME"] = str(home)
    return home


def require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} is missing at {path}: real-data tests need ../shared beside the repository.")
    return path
