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

    Raises when it does not run or, for the float model, disagrees with Keras; the caller
    then falls back to a fixed input size.
    """
    size = image_size or 224
    shape = (1, size + 13, size + 7, 3) if dynamic else (1, size, size, 3)
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    got = run_tflite(tflite_interpreter(model_content=content), image)
    want = np.asarray(model(image, training=False))
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        raise ValueError(f"TFLite output {got.shape} does not match Keras output {want.shape}")
    if not quantized and float(np.max(np.abs(got - want))) > 1e-3:
        raise ValueError(f"TFLite float output differs from Keras by {np.max(np.abs(got - want)):.2g}")


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
