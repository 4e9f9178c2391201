"""The operating point of a two-class model: where the cut-off between the classes goes.

The second class (alphabetically, e.g. PNEUMONIA after NORMAL) is the "positive" one, and an
image is called positive when its calibrated probability reaches the threshold. The default
is 0.5, the most likely class; a radiologist who must miss few pneumonias picks the
threshold by a target sensitivity instead. Thresholds are chosen on the validation split,
so figures at that threshold on validation flatter it; the test split's are the honest ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TLCoreError
from .intervals import metric_intervals


@dataclass(frozen=True)
class Rule:
    """One way to choose the threshold."""

    name: str
    label: str  # how a page names it
    help: str
    uses_target: bool


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("default", "The most likely class (threshold 0.5)", "Each picture gets the class the model finds most likely.",
         False),
    Rule("balanced", "Balanced point", "The threshold that maximises sensitivity + specificity on the validation "
         "pictures (Youden's J): neither kind of mistake is preferred.", False),
    Rule("sensitivity", "Reach a sensitivity", "The highest threshold that still finds at least the target share "
         "of the positive pictures of the validation split: fewer missed positives, more false alarms.", True),
    Rule("specificity", "Reach a specificity", "The lowest threshold that still leaves out at least the target share "
         "of the negative pictures of the validation split: fewer false alarms, more missed positives.", True),
    Rule("manual", "An exact threshold", "The threshold you set yourself.", False),
)}
THRESHOLD_RULES = RULES  # the name tlcore exports it under
DEFAULT_THRESHOLD = 0.5


def _check(y, p_pos) -> tuple[np.ndarray, np.ndarray]:
    y, p_pos = np.asarray(y, dtype=int), np.asarray(p_pos, dtype=np.float64)
    if len(y) != len(p_pos):
        raise ValueError(f"{len(y)} labels but {len(p_pos)} probabilities")
    return y, p_pos


def _below(values: np.ndarray, value: float) -> float:
    """Halfway between ``value`` and the next lower of ``values``: a threshold no image sits on,
    so the decisions at it do not hang on how a format rounds the probability."""
    lower = values[values < value]
    return float((value + (lower.max() if len(lower) else 0.0)) / 2)


def choose_threshold(y, p_pos, rule: str = "default", target: float = 0.95, value: float | None = None) -> float:
    """The threshold ``rule`` picks on labels ``y`` (1 = positive) and positive probabilities
    ``p_pos`` (``value``: the "manual" rule's own threshold)."""
    if rule not in RULES:
        raise TLCoreError(f"Unknown threshold rule {rule!r}.", f"use one of: {', '.join(RULES)}.")
    y, p_pos = _check(y, p_pos)
    if rule == "default":
        return DEFAULT_THRESHOLD
    if rule == "manual":
        if value is None or not 0.0 < float(value) < 1.0:
            raise TLCoreError(f"The threshold {value!r} is not between 0 and 1.",
                              "give a threshold such as 0.3 (setting 'threshold_value').")
        return float(value)
    positives, negatives = p_pos[y == 1], p_pos[y == 0]
    if not len(positives) or not len(negatives):
        raise TLCoreError("The validation pictures hold only one of the two classes, so no threshold can be "
                          "chosen on them.", "add validation pictures of both classes, or keep the default threshold.")
    if rule == "sensitivity":
        # The k-th highest positive probability: at least ceil(target * P) positives reach it.
        k = int(np.ceil(float(target) * len(positives) - 1e-9))
        return _below(p_pos, float(np.sort(positives)[::-1][max(k, 1) - 1]))
    if rule == "specificity":
        # Just above the k-th lowest negative probability: at least ceil(target * N) negatives fall below.
        k = int(np.ceil(float(target) * len(negatives) - 1e-9))
        value = float(np.sort(negatives)[max(k, 1) - 1])
        higher = p_pos[p_pos > value]
        return float((value + (higher.min() if len(higher) else 1.0)) / 2)
    candidates = np.unique(p_pos)
    sens = (positives[None, :] >= candidates[:, None]).mean(axis=1)
    spec = (negatives[None, :] < candidates[:, None]).mean(axis=1)
    return _below(p_pos, float(candidates[int(np.argmax(sens + spec))]))


def curves(y, p_pos) -> dict:
    """ROC and precision-recall curves with their areas (None when a class is missing)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    y, p_pos = _check(y, p_pos)
    if len(np.unique(y)) < 2:
        return {"roc": None, "pr": None}
    fpr, tpr, thr = roc_curve(y, p_pos)
    precision, recall, pr_thr = precision_recall_curve(y, p_pos)
    return {
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": np.clip(thr, 0, 1).tolist(),
                "auc": float(roc_auc_score(y, p_pos))},
        "pr": {"recall": recall.tolist(), "precision": precision.tolist(), "thresholds": pr_thr.tolist(),
               "auc": float(average_precision_score(y, p_pos))},
    }


def figures_at(y, p_pos, threshold: float, classes: list[str]) -> dict:
    """Confusion matrix, accuracy, sensitivity, specificity and precision at ``threshold``, with intervals."""
    from sklearn.metrics import confusion_matrix

    y, p_pos = _check(y, p_pos)
    decided = (p_pos >= float(threshold)).astype(int)
    matrix = confusion_matrix(y, decided, labels=[0, 1])
    tn, fp, fn, tp = (int(v) for v in matrix.ravel())
    out = {
        "threshold": float(threshold),
        "positive_class": classes[1],
        "num_images": int(len(y)),
        "confusion_matrix": matrix.tolist(),
        "accuracy": float((decided == y).mean()) if len(y) else None,
        "sensitivity": tp / (tp + fn) if tp + fn else None,
        "specificity": tn / (tn + fp) if tn + fp else None,
        "precision": tp / (tp + fp) if tp + fp else None,
    }
    intervals = metric_intervals(y, decided, 2)
    out.update({k: intervals[k] for k in ("accuracy_ci", "sensitivity_ci", "specificity_ci")})
    return out


__all__ = ["DEFAULT_THRESHOLD", "RULES", "THRESHOLD_RULES", "Rule", "choose_threshold", "curves", "figures_at"]
