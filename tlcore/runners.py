"""Running each model format on a batch of uint8 images (or, for a text SavedModel, strings): Keras, SavedModel, TFLite.

Every runner returns the model's outputs by name (a single output is "probabilities"), so
the predictor reads an exported trusted model's "unknown" and "positive" the same way
whatever the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import TLCoreError
from .tflite import run_tflite, tflite_interpreter, tflite_output_indices


def named_outputs(out) -> dict[str, np.ndarray]:
    """A model's outputs by name; a single output is the probabilities."""
    if isinstance(out, dict):
        values = {str(k): np.asarray(v) for k, v in out.items()}
        return values if "probabilities" in values or len(values) != 1 else {"probabilities": next(iter(values.values()))}
    return {"probabilities": np.asarray(out)}


def keras_runner(model, *, compiled: bool = False) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A Keras model's outputs by name for a uint8 batch.

    ``compiled=True`` runs Keras's compiled predict step (``predict_on_batch``, inference mode):
    the same layers as a graph, about ten times faster than an eager call for one picture on a
    CPU (MobileNetV2 at 224 px: ~30 ms against ~270 ms), which live prediction from a camera needs.
    """
    if compiled:
        def run(batch: np.ndarray) -> dict[str, np.ndarray]:
            return named_outputs(model.predict_on_batch(batch))
    else:
        def run(batch: np.ndarray) -> dict[str, np.ndarray]:
            return named_outputs(model(batch, training=False))

    return run


def signature_takes_text(signature) -> bool:
    """True when a SavedModel signature takes strings (a text classifier's export), not uint8 images."""
    try:
        args, kwargs = signature.structured_input_signature
    except (AttributeError, TypeError, ValueError):
        return False
    specs = [*args, *kwargs.values()]
    return bool(specs) and all(getattr(spec, "dtype", None) is not None and spec.dtype.name == "string"
                               for spec in specs)


def savedmodel_takes_text(loaded) -> bool:
    """True for a loaded SavedModel (the handle :func:`savedmodel_runner` returns) that takes strings."""
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    return signature is not None and signature_takes_text(signature)


def _load_saved_model(path: Path):
    """``tf.saved_model.load``; a text export's WordPiece ops need tensorflow-text registered first."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(path))
    except Exception as err:
        if "not registered" not in str(err):
            raise
        try:
            import tensorflow_text  # noqa: F401  (the import registers the tokenizer's ops)
        except ImportError:
            raise err from None
        return tf.saved_model.load(str(path))


def savedmodel_runner(path: Path) -> tuple[Callable, Any, int | None]:
    """Run a SavedModel folder's ``serve`` (uint8 images, or strings for a text export); its outputs by name."""
    import tensorflow as tf

    try:
        loaded = _load_saved_model(path)
    except Exception as err:
        first = str(err).splitlines()[0][:300]
        raise TLCoreError(
            f"{path} could not be loaded as a TensorFlow SavedModel: {first}",
            "install tensorflow-text (pip install tensorflow-text): a text model's tokenizer needs its ops."
            if "not registered" in str(err) else
            "give the saved_model folder that tlcore exported (it holds saved_model.pb).",
        ) from None
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise TLCoreError(f"The SavedModel {path} has no 'serving_default' signature.", "export it again with tlcore.")
    outputs = dict(signature.structured_outputs)
    probabilities = outputs.get("probabilities", next(iter(outputs.values()), None))
    num_outputs = int(probabilities.shape[-1]) if probabilities is not None and probabilities.shape[-1] is not None \
        else None
    fn = loaded.serve if hasattr(loaded, "serve") else signature
    dtype = tf.string if signature_takes_text(signature) else tf.uint8

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        return named_outputs(fn(tf.constant(batch, dtype=dtype)))

    return run, loaded, num_outputs


def tflite_runner(path: Path) -> tuple[Callable, Any, int | None, int | None]:
    try:
        interpreter = tflite_interpreter(model_path=path)
        inp = interpreter.get_input_details()[0]
        names = tflite_output_indices(interpreter)
        shapes = {d["index"]: d["shape"] for d in interpreter.get_output_details()}
        out_shape = shapes[names.get("probabilities", next(iter(names.values())))]
    except Exception as err:
        raise TLCoreError(
            f"{path.name} could not be loaded as a TensorFlow Lite model: {str(err).splitlines()[0][:300]}",
            "give a .tflite file exported by tlcore.",
        ) from None
    signature = [int(d) for d in inp.get("shape_signature", inp["shape"])]
    if len(signature) != 4 or inp["dtype"] != np.uint8:
        raise TLCoreError(
            f"{path.name} expects input {signature} of type {np.dtype(inp['dtype']).name}, not uint8 RGB images.",
            "give a .tflite file exported by tlcore.",
        )
    fixed_size = signature[1] if signature[1] > 0 else None
    fixed_batch = signature[0] > 0

    def run(batch: np.ndarray) -> dict[str, np.ndarray]:
        if fixed_batch and batch.shape[0] != signature[0]:
            rows = [run_tflite(interpreter, batch[i:i + 1], named=True) for i in range(len(batch))]
            return {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}
        return run_tflite(interpreter, batch, named=True)

    return run, interpreter, fixed_size, int(out_shape[-1])


__all__ = ["keras_runner", "named_outputs", "savedmodel_runner", "savedmodel_takes_text", "signature_takes_text",
           "tflite_runner"]
