"""Heatmaps as pictures: bilinear upsampling, a jet-like colour map and a blend, with numpy and Pillow."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

ALPHA = 0.4  # share of the colour map in the blend (keras-io's Grad-CAM example uses 0.4)


def upsample(cam: np.ndarray, size: int) -> np.ndarray:
    """A (h, w) map in [0, 1] resized bilinearly to (size, size), float32 in [0, 1]."""
    image = Image.fromarray(np.ascontiguousarray(cam, dtype=np.float32))  # mode "F": no 8-bit rounding
    resized = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
    return np.clip(resized, 0.0, 1.0)


def jet(values: np.ndarray) -> np.ndarray:
    """Colours of ``values`` in [0, 1] on a jet-like map (blue, cyan, yellow, red), uint8 (..., 3)."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    # each channel is a tent around its centre: blue at 1/4, green at 1/2, red at 3/4
    rgb = np.clip(1.5 - np.abs(4.0 * v - np.array([3.0, 2.0, 1.0], dtype=np.float32)), 0.0, 1.0)
    return np.rint(rgb * 255).astype(np.uint8)


def blend(image: np.ndarray, heatmap: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The heatmap's colours laid over ``image`` (uint8 RGB of the heatmap's size)."""
    mixed = (1.0 - alpha) * image.astype(np.float32) + alpha * jet(heatmap).astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
