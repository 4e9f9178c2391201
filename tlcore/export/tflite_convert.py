"""Converting to TensorFlow Lite, and checking each converted file before it is written.

A TFLite file is converted from the SavedModel with a dynamic input size when that converts
and runs cleanly; otherwise at the fixed training size. Each file is run once and compared
with Keras (:func:`check_tflite`) so a broken conversion is never offered for download.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import TLCoreError
from ..runners import keras_runner
from ..runs import CONFIG
from ..tflite import run_tflite, tflite_interpreter
from .savedmodel import export_saved_model

log = logging.getLogger(__name__)


def convert_tflite(saved_model_dir: Path, quantize: bool) -> bytes:
    """The ``.tflite`` bytes of a SavedModel (``quantize``: 8-bit weights)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if quantize:
        # No representative dataset: dynamic-range quantization (int8 weights, float activations).
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def check_tflite(content: bytes, model, image_size: int | None, dynamic: bool, quantized: bool) -> None:
    """Run the converted model once (at an odd size when dynamic) and compare with Keras.

    Every output is found by name and compared: probabilities and similarity within 1e-3
    (float model only), and the 0/1 decisions ("unknown", "positive") exactly, except for
    an image whose Keras similarity or probability lies within 1e-4 of a limit. Raises when
    it does not run or disagrees; the caller then falls back to a fixed input size.
    """
    from ..trust.graph import graph_limits, near_limits

    size = image_size or 224
    shape = (1, size + 13, size + 7, 3) if dynamic else (1, size, size, 3)
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    got = run_tflite(tflite_interpreter(model_content=content), image, named=True)
    want = keras_runner(model)(image)
    if sorted(got) != sorted(want):
        raise ValueError(f"TFLite outputs {sorted(got)} are not the Keras outputs {sorted(want)}")
    limits = graph_limits(model) if len(want) > 1 else {}
    for name, expected in want.items():
        value = got[name]
        if value.shape != expected.shape or not np.all(np.isfinite(value)):
            raise ValueError(f"TFLite output {name!r} {value.shape} does not match Keras output {expected.shape}")
        if quantized:
            continue
        if name in ("unknown", "positive"):
            differ = (value >= 0.5).reshape(-1) != (expected >= 0.5).reshape(-1)
            if np.any(differ & ~near_limits(want, limits, name)):
                raise ValueError(f"TFLite float output {name!r} decides differently from Keras")
        elif float(np.max(np.abs(value - expected))) > 1e-3:
            raise ValueError(f"TFLite float output {name!r} differs from Keras by "
                             f"{np.max(np.abs(value - expected)):.2g}")


def export_tflite(model, fmt: str, work: Path, saved_dir: Path | None, image_size: int | None,
                  fixed_dir: list) -> tuple[bytes, str]:
    """Convert to TFLite with a dynamic input size, or at the fixed training size when that fails.

    Returns the file's bytes and the card's note on its input size. ``fixed_dir`` holds the
    fixed-size SavedModel once made, so the second TFLite format reuses it.
    """
    quantized = fmt == "tflite-quant"
    if not fixed_dir:
        try:
            content = convert_tflite(saved_dir, quantized)
            check_tflite(content, model, image_size, dynamic=True, quantized=quantized)
            return content, ("any input size (dynamic height and width); resize the input tensor "
                             "to your batch's shape before allocating tensors.")
        except Exception as err:  # conversion or runtime problem with dynamic shapes
            log.info("TFLite with dynamic input size failed (%s); using the fixed training size", err)
    if not image_size:
        raise TLCoreError(
            "TFLite export needs a fixed input size, and the model's training size is unknown.",
            f"export from the run folder (its {CONFIG} has the image size).",
        )
    if not fixed_dir:
        fixed_dir.append(work / "saved_model_fixed")
        export_saved_model(model, fixed_dir[0], input_size=image_size)
    content = convert_tflite(fixed_dir[0], quantized)
    check_tflite(content, model, image_size, dynamic=False, quantized=quantized)
    return content, (f"fixed input size {image_size} x {image_size} (the training size): resize "
                     "your images to exactly that size first (dynamic sizes did not convert cleanly).")


__all__ = ["check_tflite", "convert_tflite", "export_tflite"]
