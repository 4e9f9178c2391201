"""Suspected label errors: images whose label a probe that never saw them disagrees with.

Out-of-fold probabilities of the linear probe (:mod:`.probe`) go through cleanlab's confident
learning (Northcutt et al., 2021): per-class thresholds from the probabilities themselves
decide which disagreements are confident enough to flag, so a class the probe finds hard does
not flood the list. Suspects are ranked by cleanlab's label-quality score (the probability of
the given label), most likely wrong first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .probe import out_of_fold_probabilities, resolve_folds


@dataclass
class Suspect:
    """One image whose label looks wrong.

    Attributes:
        index: row in the features passed in.
        given: the label it has (class name).
        suggested: the class the probe believes instead.
        confidence: the probe's probability of ``suggested``.
        quality: cleanlab's label-quality score (0: surely wrong, 1: surely right).
    """

    index: int
    given: str
    suggested: str
    confidence: float
    quality: float

    def to_dict(self) -> dict:
        return {"index": self.index, "given": self.given, "suggested": self.suggested,
                "confidence": self.confidence, "quality": self.quality}


@dataclass
class LabelCheck:
    """What the label check found.

    Attributes:
        suspects: flagged images, most likely wrong first.
        ranked: every index, lowest label quality first (for top-k review and evaluation).
        num_flagged: ``len(suspects)``.
        folds: folds of the out-of-fold probabilities.
        oof_accuracy: how often the out-of-fold probe agrees with the labels.
        pred_probs: the ``(n, k)`` out-of-fold probabilities, kept for other checks (not saved).
    """

    suspects: list[Suspect]
    ranked: list[int]
    num_flagged: int
    folds: int
    oof_accuracy: float
    pred_probs: np.ndarray = field(repr=False, default=None)

    def to_dict(self) -> dict:
        return {"suspects": [s.to_dict() for s in self.suspects], "ranked": list(self.ranked),
                "num_flagged": self.num_flagged, "folds": self.folds, "oof_accuracy": self.oof_accuracy}


def find_label_suspects(features: np.ndarray, labels: np.ndarray, classes: Sequence[str], *,
                        folds: int | None = None, seed: int = 0,
                        pred_probs: np.ndarray | None = None) -> LabelCheck:
    """Find images that are probably labelled wrong.

    Args:
        features: ``(n, d)`` bottleneck features.
        labels: ``(n,)`` class indices into ``classes``.
        classes: class names.
        folds: folds for the out-of-fold probabilities (``None``: automatic, see
            :func:`.probe.resolve_folds`).
        seed: seeds the folds and the probe.
        pred_probs: out-of-fold probabilities computed before (skips the probe).

    Raises:
        TLCoreError: a class has too few images for ``folds``.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels).astype(int)
    folds = resolve_folds(labels, folds, classes)
    if pred_probs is None:
        pred_probs = out_of_fold_probabilities(features, labels, folds, seed, classes=classes)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if pred_probs.shape != (len(labels), len(classes)):
        raise ValueError(f"pred_probs must have shape {(len(labels), len(classes))}, got {pred_probs.shape}")

    # cleanlab wants every column to be a class with images: drop the empty ones, then map back.
    present = np.unique(labels)
    compact = np.searchsorted(present, labels)
    probs = pred_probs[:, present]
    probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    # n_jobs=1: cleanlab's default forks a process per core, slower than the work itself here.
    flagged = find_label_issues(compact, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    quality = get_label_quality_scores(compact, probs, method="self_confidence")

    suspects = []
    for index in flagged:
        others = probs[index].copy()
        others[compact[index]] = -1.0  # the suggestion is never the label it already has
        best = int(np.argmax(others))
        suspects.append(Suspect(index=int(index), given=str(classes[labels[index]]),
                                suggested=str(classes[present[best]]), confidence=float(probs[index, best]),
                                quality=float(quality[index])))
    ranked = np.argsort(quality, kind="stable")
    return LabelCheck(suspects=suspects, ranked=[int(i) for i in ranked], num_flagged=len(suspects),
                      folds=folds, oof_accuracy=float(np.mean(present[probs.argmax(axis=1)] == labels)),
                      pred_probs=pred_probs)
