"""Evaluation with scikit-learn: accuracy, confusion matrix, per-class report, mistakes.

Every accuracy, sensitivity, specificity and per-class recall comes with its 95 % interval
(:mod:`tlcore.trust.intervals`). With two classes the decisions follow the run's threshold.

:func:`evaluate_predictions` scores one split from labels and probabilities (what training
saves as the run's evaluation); :func:`evaluate_run` reads that evaluation back from a run
folder through :class:`tlcore.runs.RunFolder`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .errors import TLCoreError
from .runs import RunFolder
from .trust.intervals import metric_intervals


def evaluate_predictions(y_true, probs, classes: list[str], paths: list[str] | None = None, *,
                         threshold: float | None = None) -> dict:
    """Metrics for one split from true labels and predicted probabilities.

    ``threshold`` (two classes): an image is given the second class when its probability
    reaches it (None: the most likely class).
    """
    y_true = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=float)
    if len(classes) == 2 and threshold is not None and len(probs):
        y_pred = (probs[:, 1].astype(np.float32) >= np.float32(threshold)).astype(int)
    else:
        y_pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, int)
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    intervals = metric_intervals(y_true, y_pred, len(classes))
    report = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "recall_ci": intervals["recall_ci"][i],
               "f1": float(f1[i]), "support": int(support[i])}
        for i, name in enumerate(classes)
    }
    result = {
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "accuracy_ci": intervals["accuracy_ci"],
        "num_images": int(len(y_true)),
        "classes": list(classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "report": report,
        "macro_f1": float(np.mean(f1)) if len(f1) else 0.0,
    }
    if len(classes) == 2:
        # The second class (alphabetically, e.g. PNEUMONIA vs NORMAL) is taken as "positive".
        result["positive_class"] = classes[1]
        result["sensitivity"] = float(recall[1])
        result["specificity"] = float(recall[0])
        result["sensitivity_ci"], result["specificity_ci"] = intervals["sensitivity_ci"], intervals["specificity_ci"]
        result["threshold"] = 0.5 if threshold is None else float(threshold)
    if paths is not None:
        confidence = probs[np.arange(len(y_pred)), y_pred] if len(y_pred) else np.zeros(0)
        result["misclassified"] = [
            {"path": str(paths[i]), "true": classes[y_true[i]], "predicted": classes[y_pred[i]],
             "confidence": float(confidence[i]),
             "true_probability": float(probs[i, y_true[i]])}
            for i in np.flatnonzero(y_pred != y_true)
        ]
        result["misclassified"].sort(key=lambda m: -m["confidence"])
    return result


def evaluate_run(run_dir: str | Path) -> dict:
    """The evaluation saved with a finished run."""
    folder = RunFolder(run_dir)
    evaluation = folder.evaluation()
    if evaluation is None:
        raise TLCoreError(
            f"Run {folder.run_id} has no evaluation yet.",
            "wait for the run to finish, or pick a finished run.",
        )
    return evaluation
