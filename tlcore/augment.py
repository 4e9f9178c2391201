"""Augmentation as Keras preprocessing layers, active only while training."""

from __future__ import annotations

import numpy as np

from .config import Augmentation
from .errors import TLCoreError

FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")


def augmentation_layers(aug: Augmentation, seed: int | None = None):
    """A ``keras.Sequential`` of random layers for 0-255 RGB images (identity at inference)."""
    import keras
    from keras import layers

    if aug.flip not in FLIP_MODES:
        raise TLCoreError(f"Augmentation flip {aug.flip!r} is not allowed.", f"use one of: {', '.join(FLIP_MODES)}.")
    stack = []
    if aug.flip != "none":
        stack.append(layers.RandomFlip(aug.flip, seed=seed))
    if aug.rotation > 0:
        stack.append(layers.RandomRotation(aug.rotation, fill_mode="reflect", seed=seed))
    if aug.zoom > 0:
        stack.append(layers.RandomZoom(aug.zoom, fill_mode="reflect", seed=seed))
    if aug.translation > 0:
        stack.append(layers.RandomTranslation(aug.translation, aug.translation, fill_mode="reflect", seed=seed))
    if aug.contrast > 0:
        stack.append(layers.RandomContrast(aug.contrast, value_range=(0, 255), seed=seed))
    if aug.brightness > 0:
        stack.append(layers.RandomBrightness(aug.brightness, value_range=(0, 255), seed=seed))
    return keras.Sequential(stack, name="augmentation")


def augment_previews(image, aug: Augmentation, n: int = 8, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """``n`` augmented versions (uint8 arrays) of one image (a path or an HxWx3 array)."""
    from .images import load_image

    arr = load_image(image, size) if not isinstance(image, np.ndarray) else image
    if not aug.enabled:
        return [arr.copy() for _ in range(n)]
    pipeline = augmentation_layers(aug, seed=seed)
    batch = np.repeat(arr[None].astype("float32"), n, axis=0)
    out = np.asarray(pipeline(batch, training=True))
    return [np.clip(img, 0, 255).astype("uint8") for img in out]
