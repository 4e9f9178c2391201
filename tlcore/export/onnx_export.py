"""Converting to ONNX with tf2onnx, and checking the file with ONNX Runtime before it is written.

The inference pass (``training=False``, ``uint8`` RGB input called ``image``) is traced as a
``tf.function`` and converted by tf2onnx, the converter Keras's own
``model.export(format="onnx")`` calls on the TensorFlow backend; tracing it here spells out
``training=False`` and names the outputs. Every output keeps its name: ``probabilities``
(a plain classifier's one output is given that name too), and for a trusted model
``similarity``, ``unknown`` and ``positive``. The input size is dynamic when that converts
and runs cleanly, else the fixed training size; each file is run once with ONNX Runtime and
compared with Keras (:func:`check_onnx`), so a broken conversion is never offered.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from ..errors import TLCoreError
from ..runners import keras_runner
from ..runs import CONFIG

log = logging.getLogger(__name__)

INPUT_NAME = "image"
OPSET = 17  # ONNX Runtime 1.16+ and ONNX Runtime Web run it
DYNAMIC_NOTE = ("any input size (dynamic batch, height and width): pass uint8 RGB of shape "
                "(batch, height, width, 3); the model resizes it.")


def _fixed_note(size: int) -> str:
    return (f"fixed input size {size} x {size} (the training size): resize your images to exactly that size "
            "first (dynamic sizes did not convert cleanly).")


def _inference_fn(model, input_size: int | None):
    """The model's inference pass as a ``tf.function`` with named dict outputs."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, input_size, input_size, 3), tf.uint8, name=INPUT_NAME)

    def serve(image):
        out = model(image, training=False)
        return dict(out) if isinstance(out, dict) else {"probabilities": out}

    return tf.function(serve, input_signature=[spec]), spec


def convert_onnx(model, input_size: int | None = None) -> bytes:
    """The ``.onnx`` bytes of the model (``input_size``: fixed square input, else dynamic)."""
    import tf2onnx

    try:  # tf2onnx 1.17 still uses numpy names removed in numpy 2; Keras ships the patch
        from keras.src.export.tf2onnx_lib import patch_tf2onnx

        with warnings.catch_warnings():  # the patch itself trips numpy's FutureWarning
            warnings.simplefilter("ignore")
            patch_tf2onnx()
    except ImportError:
        pass
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)
    function, spec = _inference_fn(model, input_size)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=OPSET)
    return proto.SerializeToString()


def onnx_session(content: bytes):
    """An ONNX Runtime session on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(content, sess_options=options, providers=["CPUExecutionProvider"])


def run_onnx(session, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of one uint8 batch by name."""
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {session.get_inputs()[0].name: np.ascontiguousarray(batch, dtype=np.uint8)})
    return dict(zip(names, values))


def compare_outputs(got: dict[str, np.ndarray], want: dict[str, np.ndarray], limits: dict, runtime: str) -> float:
    """Check another runtime's outputs against Keras's; returns the largest probability difference.

    Probabilities and similarity within 1e-3; the 0/1 decisions ("unknown", "positive") equal
    except for an image whose Keras numbers lie within 1e-4 of a limit (either side is right there).

    Raises:
        ValueError: An output is missing, has another shape, is not finite or disagrees.
    """
    from ..trust.graph import near_limits

    if sorted(got) != sorted(want):
        raise ValueError(f"{runtime} outputs {sorted(got)} are not the Keras outputs {sorted(want)}")
    worst = 0.0
    for name, expected in want.items():
        value = np.asarray(got[name])
        if value.shape != expected.shape or not np.all(np.isfinite(value)):
            raise ValueError(f"{runtime} output {name!r} {value.shape} does not match Keras output {expected.shape}")
        if name in ("unknown", "positive"):
            differ = (value >= 0.5).reshape(-1) != (expected >= 0.5).reshape(-1)
            if np.any(differ & ~near_limits(want, limits, name)):
                raise ValueError(f"{runtime} output {name!r} decides differently from Keras")
            continue
        gap = float(np.max(np.abs(value - expected))) if value.size else 0.0
        if gap > 1e-3:
            raise ValueError(f"{runtime} output {name!r} differs from Keras by {gap:.2g}")
        if name == "probabilities":
            worst = gap
    return worst


def _keras_outputs(model, batch: np.ndarray) -> dict[str, np.ndarray]:
    out = keras_runner(model)(batch)
    return out if isinstance(out, dict) else {"probabilities": np.asarray(out)}


def check_onnx(content: bytes, model, image_size: int | None, dynamic: bool) -> float:
    """Run the file once (two images, at an odd size when dynamic) and compare with Keras.

    Returns the largest probability difference; raises ``ValueError`` when it does not run
    or disagrees (the caller then falls back to a fixed input size).
    """
    from ..trust.graph import graph_limits

    size = image_size or 224
    shape = (2, size + 13, size + 7, 3) if dynamic else (2, size, size, 3)
    batch = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    want = _keras_outputs(model, batch)
    got = run_onnx(onnx_session(content), batch)
    return compare_outputs(got, want, graph_limits(model) if len(want) > 1 else {}, "ONNX")


def export_onnx(model, image_size: int | None) -> tuple[bytes, dict[str, Any]]:
    """Convert to ONNX with a dynamic input size, or at the fixed training size when that fails.

    Returns:
        The file's bytes, and what ``model_info.json`` and the card say of it:
        ``{"input": "dynamic" | "fixed", "note": str, "max_difference": float}``.

    Raises:
        TLCoreError: Neither conversion gives a file that answers like the Keras model.
    """
    try:
        content = convert_onnx(model)
        gap = check_onnx(content, model, image_size, dynamic=True)
        return content, {"input": "dynamic", "note": DYNAMIC_NOTE, "max_difference": gap}
    except Exception as err:  # conversion or runtime problem with dynamic shapes
        log.info("ONNX with dynamic input size failed (%s); using the fixed training size", err)
        first = err
    if not image_size:
        raise TLCoreError(
            f"ONNX export with a dynamic input size failed ({first}), and the model's training size is unknown.",
            f"export from the run folder (its {CONFIG} has the image size).",
        )
    try:
        content = convert_onnx(model, image_size)
        gap = check_onnx(content, model, image_size, dynamic=False)
    except Exception as err:
        raise TLCoreError(
            f"The ONNX conversion does not answer like the Keras model ({err}), so no ONNX file was written.",
            "export the other formats (keras, savedmodel, tflite); report the model's backbone as an issue.",
        ) from err
    return content, {"input": "fixed", "note": _fixed_note(image_size), "max_difference": gap}


__all__ = ["INPUT_NAME", "check_onnx", "compare_outputs", "convert_onnx", "export_onnx", "onnx_session", "run_onnx"]
