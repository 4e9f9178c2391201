"""The learning curve: would more images help, and for which class?

The linear probe (:mod:`.probe`) is retrained on growing stratified subsets of the training
images and scored on the validation images: overall accuracy and each class's recall, the
mean and spread over a few random subsets per size. A class whose recall still climbs at the
end of the curve would likely gain from more images; one whose curve is flat has levelled off.
The probe stands in for the real head: the same features and a linear classifier, so it
follows the same curve closely and costs milliseconds per point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .probe import fit_probabilities, one_thread, reduce_features

# The rule, written once: fit recall against log2(training images) over the last part of the
# curve (subsets of at least LAST_PART of the training images, every repeat a point). The slope
# is the gain per doubling of the images. "more" when it is at least MIN_GAIN and at least
# MIN_T standard errors of the slope (the noise of the subsets and of the fit): a class has not
# levelled off when doubling its images still buys a couple of points, beyond doubt.
LAST_PART = 0.5
MIN_GAIN = 0.02
MIN_T = 2.0


@dataclass
class ClassCurve:
    """One class's curve: ``x`` training images of the class, ``mean``/``std`` its
    validation recall over the repeats; ``gain``: recall at the full set minus at the start of
    the last part; ``verdict`` "more", "levelled" or ``None`` (no validation images)."""

    class_name: str
    x: list[int]
    mean: list[float]
    std: list[float]
    gain: float | None
    slope: float | None
    verdict: str | None
    message: str

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class LearningCurve:
    """Validation accuracy against the number of training images.

    ``x``: training images at each fraction; ``mean``/``std``: overall validation accuracy;
    ``classes``: one :class:`ClassCurve` each, in class order; ``verdict``/``message``: the same
    rule applied to the overall accuracy.
    """

    fractions: list[float]
    x: list[int]
    mean: list[float]
    std: list[float]
    repeats: int
    classes: list[ClassCurve] = field(default_factory=list)
    verdict: str | None = None
    message: str = ""

    def to_dict(self) -> dict:
        return {"fractions": self.fractions, "x": self.x, "mean": self.mean, "std": self.std,
                "repeats": self.repeats, "classes": [c.to_dict() for c in self.classes],
                "verdict": self.verdict, "message": self.message}


def _subset(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified random subset: ``fraction`` of each class, at least one image of each."""
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, int(round(fraction * len(members))))
        chosen.append(members if take >= len(members) else rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(chosen))


def _verdict(fractions: np.ndarray, sizes: np.ndarray, points: list[list[float]]) -> tuple[float, float, str]:
    """(gain over the last part, slope per doubling, "more" or "levelled") for one curve."""
    last = [i for i, f in enumerate(fractions) if f >= LAST_PART * fractions[-1]]
    gain = float(np.mean(points[last[-1]]) - np.mean(points[last[0]]))
    xs = np.concatenate([np.full(len(points[i]), np.log2(max(sizes[i], 1))) for i in last])
    ys = np.concatenate([points[i] for i in last])
    if len(last) < 2 or np.ptp(xs) == 0:
        return gain, 0.0, "levelled"
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = ys - (slope * xs + intercept)
    dof = max(len(xs) - 2, 1)
    se = np.sqrt(residual @ residual / dof / np.sum((xs - xs.mean()) ** 2))
    # A flat curve with no noise at all (recall 1.0 everywhere) has se 0 and slope 0.
    beyond_noise = slope > 0 and (se == 0 or slope / se >= MIN_T)
    return gain, float(slope), "more" if slope >= MIN_GAIN and beyond_noise else "levelled"


def _change(gain: float) -> str:
    points = round(100 * gain)
    unit = "point" if abs(points) == 1 else "points"
    return f"rose {points} {unit}" if points > 0 else f"fell {-points} {unit}" if points < 0 else "did not change"


def _message(name: str | None, verdict: str, gain: float, start: float, items: str = "images") -> str:
    span = f"from {round(100 * start)} % to 100 %"
    if name is None:
        if verdict == "more":
            return (f"More {items} would likely help: {span} of the training {items} the validation accuracy "
                    f"{_change(gain)}.")
        return f"Validation accuracy has levelled off ({span} of the training {items} it {_change(gain)})."
    if verdict == "more":
        return f"More {items} of '{name}' would likely help: {span} of its {items} its accuracy {_change(gain)}."
    return f"'{name}' has levelled off ({span} of its {items} its accuracy {_change(gain)})."


def _fit_points(x_train, train_y, x_val, val_y, num_classes, fractions, repeats, seed):
    """Validation accuracy and per-class recall of the probe trained on each subset.

    Returns ``(overall, recall, sizes, class_sizes)``: ``overall[i]`` the accuracies of the
    repeats at fraction ``i``, ``recall[c][i]`` class ``c``'s recalls (empty without
    validation images of ``c``), ``sizes[i]`` / ``class_sizes[c, i]`` the training images used.
    """
    rng = np.random.default_rng(seed)
    overall = [[] for _ in fractions]
    recall = [[[] for _ in fractions] for _ in range(num_classes)]
    sizes = np.zeros(len(fractions), int)
    class_sizes = np.zeros((num_classes, len(fractions)), int)
    for i, fraction in enumerate(fractions):
        for _ in range(1 if fraction >= 1 else max(1, repeats)):
            chosen = _subset(train_y, fraction, rng)
            sizes[i] = len(chosen)
            class_sizes[:, i] = np.bincount(train_y[chosen], minlength=num_classes)[:num_classes]
            probs = fit_probabilities(x_train[chosen], train_y[chosen], x_val, num_classes, seed=seed)
            correct = probs.argmax(axis=1) == val_y
            overall[i].append(float(correct.mean()))
            for label in range(num_classes):
                if np.any(val_y == label):
                    recall[label][i].append(float(correct[val_y == label].mean()))
    return overall, recall, sizes, class_sizes


def learning_curve(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                   classes: Sequence[str], *, fractions: Sequence[float] = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0),
                   repeats: int = 3, seed: int = 0, items: str = "images") -> LearningCurve:
    """Validation accuracy of the probe trained on growing stratified subsets of training.

    Args:
        train_x, train_y: training features ``(n, d)`` and class indices.
        val_x, val_y: validation features and class indices.
        classes: class names.
        fractions: shares of each class's training images, ascending, ending at 1.0.
        repeats: random subsets per fraction (one at 1.0: there is only one full set).
        seed: seeds the subsets, the reduction and the probe.
    """
    train_y, val_y = np.asarray(train_y).astype(int), np.asarray(val_y).astype(int)
    fractions = np.asarray(sorted(float(f) for f in fractions))
    if len(fractions) == 0 or fractions[0] <= 0 or fractions[-1] > 1:
        raise ValueError(f"fractions must be in (0, 1], got {list(fractions)}")
    if len(val_y) == 0:
        raise ValueError("learning_curve needs validation images")
    if len(np.unique(train_y)) < 2:
        raise ValueError("learning_curve needs training images of at least two classes")
    both = reduce_features(np.concatenate([train_x, val_x]), seed=seed)
    x_train, x_val = both[: len(train_y)], both[len(train_y):]
    k = len(classes)
    with one_thread():
        overall, recall, sizes, class_sizes = _fit_points(x_train, train_y, x_val, val_y, k, fractions, repeats, seed)

    start = float(fractions[[f >= LAST_PART * fractions[-1] for f in fractions].index(True)])
    curves = []
    for label, name in enumerate(classes):
        if not recall[label][0]:
            curves.append(ClassCurve(str(name), class_sizes[label].tolist(), [], [], None, None, None,
                                     f"'{name}' has no validation images to draw its curve."))
            continue
        gain, slope, verdict = _verdict(fractions, class_sizes[label], recall[label])
        curves.append(ClassCurve(str(name), [int(v) for v in class_sizes[label]],
                                 [float(np.mean(p)) for p in recall[label]], [float(np.std(p)) for p in recall[label]],
                                 gain, slope, verdict, _message(str(name), verdict, gain, start, items)))
    gain, _, verdict = _verdict(fractions, sizes, overall)
    return LearningCurve(fractions=[float(f) for f in fractions], x=[int(v) for v in sizes],
                         mean=[float(np.mean(p)) for p in overall], std=[float(np.std(p)) for p in overall],
                         repeats=int(repeats), classes=curves, verdict=verdict,
                         message=_message(None, verdict, gain, start, items))
