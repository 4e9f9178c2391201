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


def tflite_output_indices(interpreter) -> dict[str, int]:
    """Each output's tensor index, by name.

    The names are the SavedModel signature's (the trusted model's dict keys: "probabilities",
    "similarity", "unknown", "positive"); the order of ``get_output_details()`` is the
    converter's and means nothing. A file with one output (an older export, whose signature
    calls it "output_0") gets the name "probabilities".
    """
    indices: dict[str, int] = {}
    try:
        if interpreter.get_signature_list():
            details = interpreter.get_signature_runner().get_output_details()
            indices = {str(name): int(d["index"]) for name, d in details.items()}
    except (ValueError, RuntimeError, KeyError):  # no usable signature: fall back to the tensor list
        indices = {}
    if not indices:
        indices = {str(d["name"]): int(d["index"]) for d in interpreter.get_output_details()}
    if len(indices) == 1:
        return {"probabilities": next(iter(indices.values()))}
    return indices


def run_tflite(interpreter, batch: np.ndarray, *, named: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """Run one batch through a TFLite interpreter (its input is resized to the batch's shape).

    Returns the class probabilities, or with ``named`` every output as ``{name: array}``
    (see :func:`tflite_output_indices`; a single-output file gives ``{"probabilities": ...}``).
    """
    inp = interpreter.get_input_details()[0]
    # Resizing and allocating on every call costs well under a millisecond for these models
    # and keeps dynamic-size models and fixed-size ones on one code path.
    interpreter.resize_tensor_input(inp["index"], list(batch.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], batch.astype(inp["dtype"], copy=False))
    interpreter.invoke()
    indices = tflite_output_indices(interpreter)
    if not named:
        return np.array(interpreter.get_tensor(indices.get("probabilities", next(iter(indices.values())))))
    return {name: np.array(interpreter.get_tensor(index)) for name, index in indices.items()}


__all__ = ["run_tflite", "tflite_interpreter", "tflite_output_indices"]
