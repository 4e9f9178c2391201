"""Predict classes of new images with a trained or exported model.

One :class:`Predictor` wraps any of the formats tlcore writes: a run folder, a ``.keras``
file, a SavedModel folder or a ``.tflite`` file. Images are decoded and resized exactly
as in training (:func:`tlcore.images.load_image` at the model's training size), so a
prediction here matches what the run's evaluation saw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .config import TrainConfig
from .errors import TLCoreError
from .export.formats import FILE_NAMES, SAVED_MODEL_PB
from .images import load_image, open_image, resize_image
from .model import resolve_image_size
from .model_info import model_image_size
from .runfiles import read_json
from .runs import CONFIG, LABELS, MODEL, RunFolder
from .safety import load_model_safely
from .tflite import run_tflite, tflite_interpreter

_BATCH = 32  # images decoded and run at a time: bounded memory for any number of files


# ---------------------------------------------------------------- finding the pieces


def _nearby(model_path: Path, name: str) -> Path | None:
    """``name`` beside the model, inside it (a SavedModel folder), or in the run folder above ``export/``."""
    folders = [model_path] if model_path.is_dir() else []
    folders += [model_path.parent, model_path.parent.parent]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _find_labels(model_path: Path) -> list[str] | None:
    path = _nearby(model_path, LABELS)
    labels = read_json(path) if path else None
    if isinstance(labels, list) and all(isinstance(x, (str, int)) for x in labels):
        return [str(x) for x in labels]
    return None


def _find_image_size(model_path: Path) -> int | None:
    """The training size from model_info.json (exports) or config.json (runs) nearby."""
    info_path = _nearby(model_path, FILE_NAMES["info"])
    info = read_json(info_path) if info_path else None
    if isinstance(info, dict) and info.get("image_size"):
        return int(info["image_size"])
    config_path = _nearby(model_path, CONFIG)
    config = read_json(config_path) if config_path else None
    if isinstance(config, dict) and ("backbone" in config or "image_size" in config):
        try:
            return resolve_image_size(TrainConfig.from_dict(config))
        except (TLCoreError, TypeError, ValueError):
            return None
    return None


# ---------------------------------------------------------------- the predictor


@dataclass
class Predictor:
    """A loaded model plus its class names and input size.

    Attributes:
        classes: Class names in output order.
        image_size: The training size images are resized to (None: unknown, images are
            passed at their own size and the model resizes them).
        kind: ``"keras"``, ``"savedmodel"`` or ``"tflite"``.
        source: The file or folder the model was loaded from.
        labels_found: False when no ``labels.json`` was found (classes are then ``class_0``…).
    """

    classes: list[str]
    image_size: int | None
    kind: str
    source: Path
    _run: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    labels_found: bool = True
    model: Any = field(default=None, repr=False)

    def _array(self, item) -> np.ndarray:
        """One image as a uint8 (H, W, 3) array, at ``image_size`` when known."""
        if isinstance(item, (str, os.PathLike)) or hasattr(item, "read"):
            if self.image_size:
                return load_image(item, self.image_size)
            return np.asarray(open_image(item), dtype=np.uint8)
        if hasattr(item, "convert") and hasattr(item, "size"):  # a PIL image
            arr = np.asarray(item.convert("RGB"), dtype=np.uint8)
        else:
            arr = np.asarray(item)
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise TLCoreError(
                f"An image array has shape {arr.shape}; expected (height, width, 3).",
                "pass RGB images as uint8 arrays of shape (height, width, 3), or file paths.",
            )
        arr = arr[..., :3]
        if arr.dtype != np.uint8:
            if np.issubdtype(arr.dtype, np.floating) and arr.size and 0 < float(np.max(arr)) <= 1.0:
                raise TLCoreError(
                    "An image array holds values from 0 to 1; the model expects pixel values 0-255.",
                    "pass the image as uint8 (e.g. np.asarray(PIL.Image.open(path).convert('RGB'))), "
                    "without rescaling; preprocessing happens inside the model.",
                )
            arr = np.clip(np.rint(arr.astype(np.float64)), 0, 255).astype(np.uint8)
        if self.image_size:
            arr = resize_image(np.ascontiguousarray(arr), self.image_size)  # the model's own resize
        return arr

    def predict_proba(self, images: Sequence | Any) -> np.ndarray:
        """Class probabilities, shape ``(number of images, number of classes)``.

        Args:
            images: File paths, file objects, PIL images or uint8 RGB arrays (a single
                one, or a list). A 4-D array is taken as a batch.

        Raises:
            TLCoreError: An image cannot be read (the message names the file).
        """
        items = _as_list(images)
        out = []
        for start in range(0, len(items), _BATCH):
            arrays = [self._array(item) for item in items[start:start + _BATCH]]
            if self.image_size:
                out.append(self._run(np.stack(arrays)))
            else:  # sizes differ: one at a time, the model resizes inside
                out.extend(self._run(a[np.newaxis]) for a in arrays)
        if not out:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        probs = np.concatenate(out, axis=0).astype(np.float32)
        if probs.shape[1] != len(self.classes):
            raise TLCoreError(
                f"The model gives {probs.shape[1]} outputs but {LABELS} names {len(self.classes)} classes.",
                f"keep the {LABELS} that was exported with this model beside it.",
            )
        return probs

    def predict(self, images: Sequence | Any, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``top_k`` most likely classes of each image, as ``(class, probability)``, best first."""
        if not isinstance(top_k, int) or top_k < 1:
            raise TLCoreError(f"top_k is {top_k!r}, which is not allowed.", "use a whole number of at least 1.")
        probs = self.predict_proba(images)
        k = min(top_k, probs.shape[1]) if probs.size else top_k
        results = []
        for row in probs:
            order = np.argsort(-row, kind="stable")[:k]
            results.append([(self.classes[i], float(row[i])) for i in order])
        return results


def _as_list(images) -> list:
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (str, os.PathLike)) or hasattr(images, "read") or hasattr(images, "convert"):
        return [images]
    return list(images)


# ---------------------------------------------------------------- loading


def _keras_runner(model) -> Callable[[np.ndarray], np.ndarray]:
    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(model(batch, training=False))

    return run


def _savedmodel_runner(path: Path) -> tuple[Callable, Any, int | None]:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as err:
        raise TLCoreError(
            f"{path} could not be loaded as a TensorFlow SavedModel: {str(err).splitlines()[0][:300]}",
            "give the saved_model folder that tlcore exported (it holds saved_model.pb).",
        ) from None
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise TLCoreError(f"The SavedModel {path} has no 'serving_default' signature.", "export it again with tlcore.")
    outputs = list(signature.structured_outputs.values())
    num_outputs = int(outputs[0].shape[-1]) if outputs and outputs[0].shape[-1] is not None else None
    fn = loaded.serve if hasattr(loaded, "serve") else (lambda x: next(iter(signature(x).values())))

    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(fn(tf.constant(batch, dtype=tf.uint8)))

    return run, loaded, num_outputs


def _tflite_runner(path: Path) -> tuple[Callable, Any, int | None, int | None]:
    try:
        interpreter = tflite_interpreter(model_path=path)
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
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

    def run(batch: np.ndarray) -> np.ndarray:
        if fixed_batch and batch.shape[0] != signature[0]:
            return np.concatenate([run_tflite(interpreter, batch[i:i + 1]) for i in range(len(batch))])
        return run_tflite(interpreter, batch)

    return run, interpreter, fixed_size, int(out["shape"][-1])


def _predictor_for_keras(model, source: Path, classes: list[str] | None, size: int | None) -> Predictor:
    labels_found = classes is not None
    if classes is None:
        classes = [f"class_{i}" for i in range(int(model.output.shape[-1]))]
    return Predictor(classes, model_image_size(model) or size, "keras", source, _keras_runner(model),
                     labels_found, model)


def predictor_from_model(model, classes: Sequence[str] | None = None) -> Predictor:
    """A :class:`Predictor` around an in-memory Keras classifier (e.g. ``TrainResult.model``)."""
    return _predictor_for_keras(model, Path("<in memory>"), [str(c) for c in classes] if classes else None, None)


def load_predictor(path: str | Path) -> Predictor:
    """Load a model for prediction from a run folder, ``.keras``/``.h5`` file, SavedModel folder or ``.tflite`` file.

    Class names come from ``labels.json`` beside the model (or in the run folder); the
    training image size from the model itself, or ``model_info.json``/``config.json``
    nearby. ``.keras`` files are loaded with :func:`tlcore.safety.load_model_safely`
    (Lambda layers and custom code are refused).

    Raises:
        TLCoreError: The path does not exist or is not a model tlcore can load.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise TLCoreError(f"{path} does not exist.", "give a run folder, or a .keras, .tflite or saved_model path.")
    if path.is_dir():
        folder = RunFolder(path)
        if (path / SAVED_MODEL_PB).is_file():
            kind = "savedmodel"
        elif folder.has_model:
            path, kind = folder.model_path, "keras"
        elif folder.is_run or folder.events_path.is_file():
            folder.require_model()  # says the run has no model yet, and what to do
        else:
            raise TLCoreError(
                f"{path} holds no model (no {MODEL} or {SAVED_MODEL_PB}).",
                "give a run folder, a .keras or .tflite file, or an exported saved_model folder.",
            )
    else:
        suffix = path.suffix.lower()
        if suffix in (".keras", ".h5", ".hdf5"):
            kind = "keras"
        elif suffix == ".tflite":
            kind = "tflite"
        elif suffix == ".zip":
            raise TLCoreError(f"{path.name} is a zip file.", "unzip it and give the saved_model folder inside.")
        else:
            raise TLCoreError(
                f"{path.name} is not a model file tlcore can load.",
                "give a run folder, a .keras, .h5 or .tflite file, or a saved_model folder.",
            )

    classes = _find_labels(path)
    size = _find_image_size(path)
    if kind == "keras":
        return _predictor_for_keras(load_model_safely(path), path, classes, size)
    if kind == "savedmodel":
        run, handle, num_outputs = _savedmodel_runner(path)
    else:
        run, handle, fixed_size, num_outputs = _tflite_runner(path)
        size = fixed_size or size
    labels_found = classes is not None
    if classes is None:
        classes = [f"class_{i}" for i in range(num_outputs or 0)]
    return Predictor(classes, size, kind, path, run, labels_found, handle)


def predict_images(model_or_path, paths: Iterable, top_k: int = 3) -> list[list[tuple[str, float]]]:
    """Top-k predictions for image files: ``model_or_path`` is a :class:`Predictor` or anything
    :func:`load_predictor` takes."""
    if isinstance(model_or_path, Predictor):
        predictor = model_or_path
    elif isinstance(model_or_path, (str, os.PathLike)):
        predictor = load_predictor(model_or_path)
    else:  # an in-memory Keras model
        predictor = predictor_from_model(model_or_path)
    return predictor.predict(list(paths), top_k=top_k)


def load_model(path_or_run: str | Path) -> Predictor:
    """Alias of :func:`load_predictor` (the name in docs/ARCHITECTURE.md)."""
    return load_predictor(path_or_run)


__all__ = ["Predictor", "load_model", "load_predictor", "predict_images", "predictor_from_model"]
