"""Shared fixtures: small generated datasets, written once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent

# The camera's SRTP library (pylibsrtp, under streamlit-webrtc; OpenSSL linked inside) crashes the
# process when it is loaded after TensorFlow. The app loads it first (app.py -> ui -> ui.camera);
# tests that open pages after TensorFlow has run in this process need it loaded first too.
try:
    import pylibsrtp  # noqa: F401
except ImportError:  # no camera component installed: nothing to order
    pass

# Each page test has its own workspace (so its own standby fingerprint): with warm mode on, every
# one would leave a warm TensorFlow process of ~500 MB behind. Tests of warm mode turn it on.
os.environ.setdefault("TLCORE_WARM_WORKER", "0")

TINY_CLASSES = ("red_stripes", "green_columns", "blue_checks")


def _tiny_image(label: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A noisy image whose dominant colour *and* pattern give away the class."""
    ys, xs = np.mgrid[0:size, 0:size]
    pattern = [(ys // 4) % 2, (xs // 4) % 2, ((xs // 4) + (ys // 4)) % 2][label]
    pixels = np.full((size, size, 3), 40.0)
    pixels[..., label] = 150 + 90 * pattern
    pixels += rng.normal(0, 12, size=pixels.shape) + rng.uniform(-20, 20)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _write_tiny_dataset(root: Path, per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for label, name in enumerate(TINY_CLASSES):
        folder = root / name
        folder.mkdir()
        for i in range(per_class):
            Image.fromarray(_tiny_image(label, rng)).save(folder / f"{name}_{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """3 classes x 12 PNG images of 32x32 px in class folders; easily separable.

    Classes (sorted = label order): blue_checks, green_columns, red_stripes.
    """
    return _write_tiny_dataset(tmp_path_factory.mktemp("tiny_dataset"), 12, seed=1234)


@pytest.fixture(scope="session")
def separable_dataset(tmp_path_factory) -> Path:
    """The same three classes, 30 images each: enough validation images (18) to tell
    learning from chance."""
    return _write_tiny_dataset(tmp_path_factory.mktemp("separable_dataset"), 30, seed=7)


@pytest.fixture(scope="session")
def shapes_dir() -> Path:
    """The repository's sample dataset (``sample_data/shapes``: train/ and val/ of 3 shapes)."""
    path = REPO / "sample_data" / "shapes"
    if not path.is_dir():
        pytest.fail(f"{path} is missing; run: .venv/bin/python sample_data/generate.py")
    return path


# ---- real ImageNet weights and real datasets (tests marked real_data) -------------------
from _realdata import DATASETS, SHARED_KERAS_HOME, isolate_keras_home, require  # noqa: E402

_KERAS_HOME = isolate_keras_home()  # before any test imports keras


@pytest.fixture(scope="session")
def real_keras_home() -> Path:
    """The private KERAS_HOME holding the real MobileNetV2 ImageNet weights."""
    require(SHARED_KERAS_HOME / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
            "The MobileNetV2 ImageNet weights")
    return _KERAS_HOME


@pytest.fixture(scope="session")
def hymenoptera_dir() -> Path:
    return require(DATASETS / "hymenoptera", "The hymenoptera (ants/bees) dataset")


@pytest.fixture(scope="session")
def chest_xray_dir() -> Path:
    return require(DATASETS / "chest_xray", "The chest X-ray dataset")


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> str:
    """A weights file of a randomly initialised MobileNetV2 (no top).

    ``weights="none"`` trains the whole network from scratch; tests of the frozen-backbone
    paths (feature cache, head, fine-tuning) load this file instead, like pretrained weights,
    offline and fast.
    """
    import keras

    path = tmp_path_factory.mktemp("random_weights") / "mobilenet_v2_random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3)).save_weights(path)
    return str(path)
