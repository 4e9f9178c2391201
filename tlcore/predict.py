"""Predict classes of new images with a trained or exported model.

One :class:`Predictor` wraps any of the formats tlcore writes: a run folder, a ``.keras``
file, a SavedModel folder or a ``.tflite`` file. Images are decoded and resized exactly
as in training (:func:`tlcore.images.load_image` at the model's training size), so a
prediction here matches what the run's evaluation saw.

A run with trust settings (``trust.json``, ``prototypes.npy``) is run as the trusted model
its exports hold (:func:`tlcore.trust.graph.trusted_model`), so :meth:`Predictor.answer`
decides here exactly as an exported model decides: the threshold and "I don't know" are
the model's own outputs, and :class:`tlcore.trust.settings.Trust` only puts the reason into words.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import TLCoreError
from .export.formats import SAVED_MODEL_PB
from .images import load_image, open_image, resize_image
from .model_info import model_image_size, model_num_outputs
from .model_files import find_image_size, find_info, find_labels, trust_of
from .runners import keras_runner, savedmodel_runner, savedmodel_takes_text, tflite_runner
from .runs import LABELS, MODEL, RunFolder
from .safety import load_model_safely
from .trust.run import load_trust
from .trust.settings import Trust

_BATCH = 32  # images decoded and run at a time: bounded memory for any number of files


# ---------------------------------------------------------------- the predictor


@dataclass
class Answer:
    """The model's answer for one image.

    Attributes:
        label: The class it answers, or None for "I don't know".
        probability: The calibrated probability of the class it picks (for "I don't know",
            of the class it would have picked).
        top: The most likely classes, ``(class, probability)``, best first.
        unknown: True when the answer is "I don't know".
        reason: Why it does not know, in words (None when it answers).
        similarity: Cosine similarity to the nearest training picture (None: the model has no
            trust settings).
    """

    label: str | None
    probability: float
    top: list[tuple[str, float]]
    unknown: bool = False
    reason: str | None = None
    similarity: float | None = None


@dataclass
class Predictor:
    """A loaded model plus its class names, input size and trust settings.

    Attributes:
        classes: Class names in output order.
        image_size: The training size images are resized to (None: unknown, images are
            passed at their own size and the model resizes them).
        kind: ``"keras"``, ``"savedmodel"`` or ``"tflite"``.
        source: The file or folder the model was loaded from.
        labels_found: False when no ``labels.json`` was found (classes are then ``class_0``…).
        model: What runs: the Keras model (the trusted one, with dict outputs, when the run
            has trust settings), the loaded SavedModel or the TFLite interpreter.
        trust: The threshold and "I don't know" settings (the run's ``trust.json``, or the
            ``"trust"`` entry of ``model_info.json`` beside an export); None for older models.
        classifier: The plain Keras classifier (one output: probabilities), kind "keras" only.
    """

    classes: list[str]
    image_size: int | None
    kind: str
    source: Path
    _run: Callable[[np.ndarray], dict[str, np.ndarray]] = field(repr=False)
    labels_found: bool = True
    model: Any = field(default=None, repr=False)
    trust: Trust | None = None
    classifier: Any = field(default=None, repr=False)
    takes_text: bool = False  # a text model: :meth:`outputs` takes strings
    tokenizer: Any = field(default=None, repr=False)  # a text model that takes tokens: texts -> its inputs

    @property
    def modality(self) -> str:
        return "text" if self.takes_text else "image"

    def image_array(self, item) -> np.ndarray:
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

    def outputs(self, images: Sequence | Any) -> dict[str, np.ndarray]:
        """Every output of the model by name: ``"probabilities"`` (N, classes), and for a
        trusted model ``"similarity"``, ``"unknown"`` and (two classes) ``"positive"``, each (N, 1).

        Args:
            images: File paths, file objects, PIL images or uint8 RGB arrays (a single
                one, or a list). A 4-D array is taken as a batch.

        Raises:
            TLCoreError: An image cannot be read (the message names the file).
        """
        if self.takes_text:
            return self._text_outputs(images)
        items = as_image_list(images)
        out: list[dict[str, np.ndarray]] = []
        for start in range(0, len(items), _BATCH):
            arrays = [self.image_array(item) for item in items[start:start + _BATCH]]
            if self.image_size:
                out.append(self._run(np.stack(arrays)))
            else:  # sizes differ: one at a time, the model resizes inside
                out.extend(self._run(a[np.newaxis]) for a in arrays)
        return self._joined(out)

    def _text_outputs(self, texts) -> dict[str, np.ndarray]:
        """:meth:`outputs` of a text model: ``texts`` is one string or a list of strings."""
        items = [texts] if isinstance(texts, str) else list(texts)
        bad = [type(t).__name__ for t in items if not isinstance(t, str)]
        if bad:
            raise TLCoreError(f"A text model takes strings; it was given a {bad[0]}.",
                              "pass the texts as a list of strings, e.g. answer([\"a sentence\"]).")
        out = []
        for start in range(0, len(items), _BATCH):
            chunk = items[start:start + _BATCH]
            out.append(self._run(self.tokenizer(chunk) if self.tokenizer is not None
                                 else np.array(chunk, dtype=object)))
        return self._joined(out)

    def _joined(self, out: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        if not out:
            return {"probabilities": np.zeros((0, len(self.classes)), dtype=np.float32)}
        outputs = {name: np.concatenate([o[name] for o in out], axis=0).astype(np.float32) for name in out[0]}
        width = outputs["probabilities"].shape[1]
        if width != len(self.classes):
            raise TLCoreError(
                f"The model gives {width} outputs but {LABELS} names {len(self.classes)} classes.",
                f"keep the {LABELS} that was exported with this model beside it.",
            )
        return outputs

    def predict_proba(self, images: Sequence | Any) -> np.ndarray:
        """Class probabilities, shape ``(number of images, number of classes)`` (see :meth:`outputs`)."""
        return self.outputs(images)["probabilities"]

    def answer(self, images: Sequence | Any, top_k: int = 3) -> list[Answer]:
        """The model's answer for each image: a class, or "I don't know" with the reason.

        The decision is the model's own when it carries one (the ``"positive"`` and
        ``"unknown"`` outputs of a trusted model, exported or not), so every format answers
        alike; otherwise :meth:`Trust.decide` decides, and without trust settings the most
        likely class is the answer.
        """
        _check_top_k(top_k)
        outputs = self.outputs(images)
        probs = outputs["probabilities"]
        similarity = outputs["similarity"].reshape(-1) if "similarity" in outputs else None
        decisions = self.trust.decide(probs, similarity) if self.trust is not None else None
        answers = []
        for i, row in enumerate(probs):
            sim = None if similarity is None else float(similarity[i])
            if "unknown" in outputs:
                unknown = bool(outputs["unknown"][i, 0] >= 0.5)
            else:
                unknown = bool(decisions[i].unknown) if decisions else False
            pick = self._pick(row, outputs, i, decisions)
            order = np.argsort(-row, kind="stable")[:top_k]
            reason = None
            if unknown:  # the words of Trust.decide, unless the model's own arithmetic disagreed
                reason = decisions[i].reason if decisions and decisions[i].reason else self._reason(row, sim)
            answers.append(Answer(None if unknown else self.classes[pick], float(row[pick]),
                                  [(self.classes[j], float(row[j])) for j in order], unknown, reason, sim))
        return answers

    def _pick(self, row: np.ndarray, outputs: dict, i: int, decisions) -> int:
        """The class index answered: the model's "positive" output, the threshold of
        :class:`Trust`, or the most likely class."""
        if "positive" in outputs and len(self.classes) == 2:
            positive = self.trust.positive_index if self.trust is not None else 1
            return positive if outputs["positive"][i, 0] >= 0.5 else 1 - positive
        if decisions and decisions[i].guess in self.classes:
            return self.classes.index(decisions[i].guess)
        return int(np.argmax(row))

    def _reason(self, row: np.ndarray, similarity: float | None) -> str:
        """Why an image is unknown, in the words of :meth:`Trust.reason`."""
        trust = self.trust
        if trust is None:
            return "the model answers \"I don't know\"" + (
                f" (similarity {similarity:.2f} to the nearest training picture)" if similarity is not None else "")
        # the model's own arithmetic put it a hair beyond a limit that numpy places it within
        unlike, unsure = trust.nearest_limit(row, similarity)
        return trust.reason(row, similarity, unlike, unsure) or "the model answers \"I don't know\""

    def predict(self, images: Sequence | Any, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``top_k`` most likely classes of each image, as ``(class, probability)``, best first."""
        _check_top_k(top_k)
        probs = self.predict_proba(images)
        k = min(top_k, probs.shape[1]) if probs.size else top_k
        results = []
        for row in probs:
            order = np.argsort(-row, kind="stable")[:k]
            results.append([(self.classes[i], float(row[i])) for i in order])
        return results


def _check_top_k(top_k) -> None:
    if not isinstance(top_k, int) or top_k < 1:
        raise TLCoreError(f"top_k is {top_k!r}, which is not allowed.", "use a whole number of at least 1.")


def as_image_list(images) -> list:
    """One image or many (paths, file objects, PIL images, arrays; a 4-D array is a batch) as a list."""
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, (str, os.PathLike)) or hasattr(images, "read") or hasattr(images, "convert"):
        return [images]
    return list(images)


# ---------------------------------------------------------------- loading


def _predictor_for_keras(model, source: Path, classes: list[str] | None, size: int | None,
                         trust: Trust | None = None, prototypes=None, tokenizer=None) -> Predictor:
    """A keras Predictor; with ``trust`` and ``prototypes`` a plain classifier runs as its trusted model."""
    from .trust.graph import is_trusted, trusted_model

    labels_found = classes is not None
    if classes is None:
        classes = [f"class_{i}" for i in range(model_num_outputs(model) or 0)]
    classifier = None if is_trusted(model) else model
    if classifier is not None and trust is not None and prototypes is not None:
        model = trusted_model(classifier, trust, prototypes)
    elif classifier is not None:
        trust = None  # a plain model answers by its probabilities alone (no limits to say why)
    if tokenizer is not None:
        return Predictor(classes, None, "keras", source, keras_runner(model, compiled=True), labels_found, model,
                         trust, classifier, takes_text=True, tokenizer=tokenizer)
    return Predictor(classes, model_image_size(model) or size, "keras", source, keras_runner(model, compiled=True),
                     labels_found, model, trust, classifier)


def predictor_from_model(model, classes: Sequence[str] | None = None, *, trust: Trust | None = None,
                         prototypes=None, tokenizer=None) -> Predictor:
    """A :class:`Predictor` around an in-memory Keras classifier (e.g. ``TrainResult.model``);
    with ``trust`` and ``prototypes`` it runs as the trusted model an export holds; a text
    classifier needs its ``tokenizer``."""
    return _predictor_for_keras(model, Path("<in memory>"), [str(c) for c in classes] if classes else None, None,
                                trust, prototypes, tokenizer)


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

    classes = find_labels(path)
    size = find_image_size(path)
    # an export carries its trust settings in model_info.json; a run folder in trust.json
    trust = trust_of(find_info(path).get("trust"))
    if kind == "keras":
        model = load_model_safely(path)
        prototypes = None
        run_folder = RunFolder(path.parent)
        if path.name == MODEL and run_folder.trust_path.is_file():
            trust, prototypes = load_trust(run_folder.path)
        return _predictor_for_keras(model, path, classes, size, trust, prototypes, _tokenizer_beside(path))
    takes_text = False
    if kind == "savedmodel":
        run, handle, num_outputs = savedmodel_runner(path)
        takes_text = savedmodel_takes_text(handle)  # a text export: strings in, the tokenizer inside
        size = None if takes_text else size
    else:
        run, handle, fixed_size, num_outputs = tflite_runner(path)
        size = fixed_size or size
    labels_found = classes is not None
    if classes is None:
        classes = [f"class_{i}" for i in range(num_outputs or 0)]
    return Predictor(classes, size, kind, path, run, labels_found, handle, trust, takes_text=takes_text)


def _tokenizer_beside(model_path: Path):
    """A text model's tokenizer: the ``tokenizer/`` folder beside its ``.keras`` file (None: a picture model)."""
    folder = RunFolder(model_path.parent).tokenizer_path
    if not folder.is_dir():
        return None
    from .text.encoders import load_tokenizer

    return load_tokenizer(folder)


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


__all__ = ["Answer", "Predictor", "load_model", "load_predictor", "predict_images", "predictor_from_model"]
