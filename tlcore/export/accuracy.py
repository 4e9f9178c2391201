"""The 8-bit TFLite model, measured: its accuracy against the float model's on the run's own images.

Quantizing the weights can change answers, so an export with ``"tflite-quant"`` finds the
run's validation images again (:func:`validation_images`), runs both models on them
(:func:`measure_int8_accuracy`) and records the result, or why there is none, in
``model_info.json``; :func:`export_accuracy` reads it back for the pages and the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..data import decode_all, load_dataset
from ..errors import TLCoreError
from ..runfiles import read_json
from ..runners import keras_runner
from ..runs import RunFolder
from ..tflite import run_tflite, tflite_interpreter
from ..workspace import Workspace, default_workspace
from .formats import FILE_NAMES

_MEASURE_BATCH = 32  # images decoded and run at a time: bounded memory for any validation set


def measure_int8_accuracy(model, int8_content: bytes, paths: Sequence[str], labels: Sequence[int],
                          image_size: int, split: str = "val") -> dict:
    """Accuracy of the float Keras model and of the 8-bit TFLite model on the same labelled images.

    Images are decoded as in training and in the app (:func:`tlcore.images.load_image` at the
    training size, through :func:`tlcore.data.decode_all`), a batch at a time. Both models
    are compared on their ``"probabilities"`` (the most likely class).

    Args:
        model: The float Keras classifier.
        int8_content: The quantized ``.tflite`` file's bytes.
        paths: Image files.
        labels: Their true class indices.
        image_size: The training image size.
        split: Which split the images are, for the record ("val").

    Returns:
        ``{"float", "tflite_int8"}`` (accuracies from 0 to 1), ``"split"``, ``"images"`` and
        ``"disagree"`` (images the two models give different answers for).
    """
    interpreter = tflite_interpreter(model_content=int8_content)
    float_answers, int8_answers = [], []
    for start in range(0, len(paths), _MEASURE_BATCH):
        batch = decode_all(list(paths[start:start + _MEASURE_BATCH]), image_size)
        float_answers.append(keras_runner(model)(batch)["probabilities"].argmax(axis=1))
        int8_answers.append(run_tflite(interpreter, batch).argmax(axis=1))
    truth = np.asarray(labels, dtype=int)
    float_answers, int8_answers = np.concatenate(float_answers), np.concatenate(int8_answers)
    return {"float": float(np.mean(float_answers == truth)), "tflite_int8": float(np.mean(int8_answers == truth)),
            "split": split, "images": int(len(truth)), "disagree": int(np.sum(float_answers != int8_answers))}


def int8_accuracy(model, content: bytes, validation: dict | None, image_size: int | None) -> dict:
    """What goes into ``model_info.json["accuracy"]``: measured numbers, or why there are none."""
    validation = validation or {"reason": "no labelled validation images were given to the export"}
    split = validation.get("split", "val")
    not_measured = {"float": None, "tflite_int8": None, "split": split, "images": 0}
    if not validation.get("paths"):
        return {**not_measured, "not_measured": validation.get("reason") or "there are no validation images"}
    if not image_size:
        return {**not_measured, "not_measured": "the model's training image size is unknown"}
    return measure_int8_accuracy(model, content, validation["paths"], validation["labels"], image_size, split)


def _run_workspace(run_dir: Path) -> Workspace:
    """The workspace a run folder lives in (``<workspace>/runs/<run>``), else the default one."""
    root = run_dir.resolve().parent.parent
    if run_dir.resolve().parent.name == "runs" and (root / "datasets").is_dir():
        return Workspace(root)
    return default_workspace()


def validation_images(run_dir: Path, config: dict | None, classes: Sequence[str],
                      evaluation: dict | None) -> dict:
    """The run's validation images and labels, found again from its settings, or why not.

    The dataset is read again exactly as training read it (same folder or zip, validation
    fraction and seed), and used only when it still gives the classes and the number of
    validation images the run was evaluated on.
    """
    data = (config or {}).get("data")
    if not data:
        return {"reason": "the run's settings do not name its dataset"}
    if not Path(data).exists():
        return {"reason": "its dataset is no longer on this server"}
    try:
        # A run saved before subjects and edits existed split at random: "none" finds its split again.
        dataset = load_dataset(data, val_fraction=float(config.get("val_fraction", 0.2)),
                               seed=int(config.get("seed", 42)), workspace=_run_workspace(run_dir),
                               group_by=str(config.get("group_by", "none")), edits=config.get("edits") or ())
    except (TLCoreError, OSError):
        return {"reason": "its dataset could not be read again"}
    if [str(c) for c in dataset.classes] != [str(c) for c in classes]:
        return {"reason": "its dataset's classes have changed since training"}
    val = dataset.split("val")
    expected = (evaluation or {}).get("num_images")
    if not val:
        return {"reason": "its dataset has no validation images"}
    if expected and int(expected) != len(val):
        return {"reason": f"its dataset has changed since training ({len(val)} validation images now, "
                          f"{expected} then)"}
    return {"paths": [s.path for s in val], "labels": [s.label for s in val], "split": "val"}


def export_accuracy(run_dir: str | Path) -> dict | None:
    """The accuracies measured when the run was exported with the 8-bit TFLite format.

    Args:
        run_dir: The run folder (or an export folder, e.g. one written with ``out_dir``).

    Returns:
        e.g. ``{"float": 0.954, "tflite_int8": 0.948, "split": "val", "images": 153,
        "disagree": 2}``, read from ``<run>/export/model_info.json``; None when the run was
        never exported with ``"tflite-quant"`` or its accuracy could not be measured.
    """
    export_dir = RunFolder(run_dir).export_dir
    if not export_dir.is_dir():
        export_dir = Path(run_dir)
    if not (export_dir / FILE_NAMES["tflite-quant"]).is_file():
        return None
    info = read_json(export_dir / FILE_NAMES["info"])  # missing or damaged: nothing measured to show
    accuracy = info.get("accuracy") if isinstance(info, dict) else None
    if not isinstance(accuracy, dict) or accuracy.get("tflite_int8") is None:
        return None
    return dict(accuracy)


__all__ = ["export_accuracy", "int8_accuracy", "measure_int8_accuracy", "validation_images"]
