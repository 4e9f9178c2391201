"""Running TensorFlow Lite models: the interpreter and one batch through it.

Both the export (which checks every converted file against Keras and measures the 8-bit
model) and prediction (which serves ``.tflite`` files) run TFLite through these two
functions, so they agree on how a file is run and neither imports the other.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def tflite_interpreter(model_path: str | Path | None = None, model_content: bytes | None = None):
    """A TFLite interpreter: LiteRT's when installed, else TensorFlow's (deprecated there)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TF's "use LiteRT" deprecation notice
        if model_content is not None:
            return Interpreter(model_content=model_content)
        return Interpreter(model_path=str(model_path))


def run_tflite(interpreter, batch: np.ndarray) -> np.ndarray:
    """Run one batch through a TFLite interpreter (its input is resized to the batch's shape)."""
    inp = interpreter.get_input_details()[0]
    # Resizing and allocating on every call costs well under a millisecond for these models
    # and keeps dynamic-size models and fixed-size ones on one code path.
    interpreter.resize_tensor_input(inp["index"], list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], batch.astype(inp["dtype"], copy=False))
    interpreter.invoke()
    return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


__all__ = ["run_tflite", "tflite_interpreter"]
