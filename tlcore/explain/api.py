"""Grad-CAM for images and run folders: which part of a picture made the model choose a class."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import TLCoreError
from ..images import resize_image
from ..predict import Predictor, as_image_list, load_predictor, predictor_from_model
from ..runfiles import write_bytes_atomic
from ..workspace import safe_filename
from .cam import ClassifierGraph, class_activation_maps, classifier_graph, normalise
from .overlay import blend, png_bytes, upsample

_BATCH = 16  # images explained together: bounded memory for any number of files
SUFFIX = "_gradcam.png"  # an overlay's file name: the image's name, then this


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Explanation:
    """Where the model looked when it scored one class for one image.

    Attributes:
        class_name: The explained class.
        class_index: Its position in the model's outputs.
        probability: The model's probability of that class for the image.
        heatmap: float32 (size, size) in [0, 1]: the Grad-CAM map at the feature map's grid,
            upsampled bilinearly to the image size (all zeros when nothing speaks for the class).
        overlay: uint8 RGB (size, size, 3): the heatmap's colours on the image as the model saw it.
        peak: (row, col) in image pixels: the centre of the hottest feature-map cell (the image
            centre when the map is all zeros).
    """

    class_name: str
    class_index: int
    probability: float
    heatmap: np.ndarray
    overlay: np.ndarray
    peak: tuple[int, int]


@dataclass
class _Explainer:
    predictor: Predictor
    graph: ClassifierGraph

    @property
    def classes(self) -> list[str]:
        return self.predictor.classes

    def array(self, item) -> np.ndarray:
        """One image decoded and resized exactly as :class:`~tlcore.predict.Predictor` does."""
        pixels = self.predictor.image_array(item)
        size = self.graph.image_size
        return pixels if pixels.shape[:2] == (size, size) else resize_image(np.ascontiguousarray(pixels), size)

    def class_index(self, class_name: str | None) -> int | None:
        if class_name is None:
            return None
        if class_name not in self.classes:
            raise TLCoreError(f"{class_name!r} is not a class of this model.",
                              f"use one of its classes: {', '.join(self.classes)}.")
        return self.classes.index(class_name)


def _explainer(model_or_run) -> _Explainer:
    if isinstance(model_or_run, _Explainer):
        return model_or_run
    if isinstance(model_or_run, Predictor):
        predictor = model_or_run
    elif isinstance(model_or_run, (str, os.PathLike)):
        predictor = load_predictor(model_or_run)
    else:
        import keras

        if not isinstance(model_or_run, keras.Model):
            raise TLCoreError(f"Grad-CAM was given a {type(model_or_run).__name__}, not a model.",
                              "give a run folder, a model.keras file, a Keras classifier or a Predictor.")
        predictor = predictor_from_model(model_or_run)
    if predictor.takes_text:
        raise TLCoreError("Where the model looks (Grad-CAM) is shown for pictures; this model classifies texts.",
                          "see the texts it got wrong on the Evaluate page (or in tlcore evaluate RUN).")
    if predictor.kind != "keras":
        raise TLCoreError(
            f"Grad-CAM needs the Keras model, but {predictor.source} is a {predictor.kind} model.",
            "give the run folder or its model.keras (exported TFLite and SavedModel files keep no gradients).",
        )
    # the plain classifier: a run with trust settings predicts through a trusted model around it
    graph = classifier_graph(getattr(predictor, "classifier", None) or predictor.model)
    if len(predictor.classes) != int(graph.predictions.units):
        raise TLCoreError(
            f"The model scores {graph.predictions.units} classes but {len(predictor.classes)} class names were found.",
            "keep the labels.json that was saved with this model beside it.",
        )
    return _Explainer(predictor, graph)


def _peak(cam: np.ndarray, size: int) -> tuple[int, int]:
    """The centre, in image pixels, of the hottest cell of the (h, w) map ``cam``."""
    if not cam.size or float(cam.max()) <= 0:
        return size // 2, size // 2
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return int((row + 0.5) * size / cam.shape[0]), int((col + 0.5) * size / cam.shape[1])


def _explain_arrays(explainer: _Explainer, arrays: np.ndarray, class_index: int | None, top: int) -> list[Explanation]:
    graph, size = explainer.graph, explainer.graph.image_size
    maps = graph.feature_maps(arrays)
    probs = graph.probabilities(maps)
    if class_index is not None:
        ranked = np.full((len(arrays), 1), class_index)
    else:  # best first; stable, like Predictor.predict
        ranked = np.argsort(-probs, axis=1, kind="stable")[:, :top]
    cams = [normalise(class_activation_maps(graph, maps, ranked[:, rank])) for rank in range(ranked.shape[1])]
    explanations = []
    for i, image in enumerate(arrays):
        for rank in range(ranked.shape[1]):
            index, cam = int(ranked[i, rank]), cams[rank][i]
            heatmap = upsample(cam, size)
            explanations.append(Explanation(explainer.classes[index], index, float(probs[i, index]), heatmap,
                                            blend(image, heatmap), _peak(cam, size)))
    return explanations


def explain_images(model_or_run, images: Sequence | Any, *, class_name: str | None = None,
                   top: int = 1) -> list[Explanation]:
    """Grad-CAM explanations of images: where the evidence for a class lies in each picture.

    Args:
        model_or_run: A run folder, a ``.keras`` file, an in-memory tlcore classifier, or a
            :class:`~tlcore.predict.Predictor` of kind ``"keras"``.
        images: File paths, file objects, PIL images or uint8 RGB arrays (one, or a list), decoded
            and resized exactly as for prediction.
        class_name: The class to explain in every image; None explains the predicted class.
        top: With ``class_name`` None, how many of the most likely classes to explain per image.

    Returns:
        One :class:`Explanation` per image (``top`` per image, best first, when ``top`` > 1), in
        the order of ``images``.

    Raises:
        TLCoreError: An image cannot be read (the message names it), ``class_name`` is not a class
            of the model, or the model's backbone has no spatial feature map.
    """
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise TLCoreError(f"top is {top!r}, which is not allowed.", "use a whole number of at least 1.")
    explainer = _explainer(model_or_run)
    class_index = explainer.class_index(class_name)
    top = min(int(top), len(explainer.classes))
    items = as_image_list(images)
    explanations: list[Explanation] = []
    for start in range(0, len(items), _BATCH):
        arrays = np.stack([explainer.array(item) for item in items[start:start + _BATCH]])
        explanations += _explain_arrays(explainer, arrays, class_index, top)
    return explanations


@dataclass(frozen=True, eq=False)
class ExplainedFile:
    """One image file's result in :func:`explain_files`: an overlay written, or why not."""

    path: str
    explanation: Explanation | None = None
    output: Path | None = None
    error: TLCoreError | None = None  # why the file was skipped


def _overlay_name(path: str, used: set[str]) -> str:
    stem = safe_filename(Path(path).stem, "image")
    name, number = stem + SUFFIX, 2
    while name in used:  # two images of the same name (from different folders) keep both overlays
        name, number = f"{stem}_{number}{SUFFIX}", number + 1
    used.add(name)
    return name


def explain_files(model_or_run, paths: Iterable, out_dir: str | Path, class_name: str | None = None
                  ) -> Iterator[ExplainedFile]:
    """Write a Grad-CAM overlay PNG for each image file into ``out_dir`` (created); a file that
    cannot be read is reported in its :class:`ExplainedFile` and skipped, the others still explained.

    Raises:
        TLCoreError: The model cannot be explained, ``class_name`` is not one of its classes, or
            ``out_dir`` cannot be created.
    """
    explainer = _explainer(model_or_run)
    class_index = explainer.class_index(class_name)  # checked once, before any image
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TLCoreError(f"The output folder {out} cannot be created: {err.strerror or err}.",
                          "give a folder you can write to (it is created when missing).") from None
    paths = [os.fspath(p) for p in paths]
    used: set[str] = set()
    for start in range(0, len(paths), _BATCH):
        decoded: list[np.ndarray | TLCoreError] = []
        for path in paths[start:start + _BATCH]:
            try:
                decoded.append(explainer.array(path))
            except TLCoreError as err:
                decoded.append(err)
        arrays = [item for item in decoded if isinstance(item, np.ndarray)]
        good = iter(_explain_arrays(explainer, np.stack(arrays), class_index, 1) if arrays else ())
        for path, item in zip(paths[start:start + _BATCH], decoded):
            if isinstance(item, TLCoreError):
                yield ExplainedFile(path, error=item)
                continue
            explanation = next(good)
            target = out / _overlay_name(path, used)
            write_bytes_atomic(target, png_bytes(explanation.overlay))
            yield ExplainedFile(path, explanation, target)


def explain_run(run_dir: str | Path, paths: Iterable, out_dir: str | Path, class_name: str | None = None) -> list[Path]:
    """Grad-CAM overlay PNGs of image files, explained by a run's model, written into ``out_dir``.

    Returns:
        The written files, one per image, in the order of ``paths`` (names from the images' names).

    Raises:
        TLCoreError: As :func:`explain_files`, and for the first image that cannot be read.
    """
    written = []
    for result in explain_files(run_dir, paths, out_dir, class_name):
        if result.error is not None:
            raise result.error
        written.append(result.output)
    return written
