"""Outliers: images unlike anything else in the dataset (a placeholder banner, a screenshot,
a photo of something else entirely).

cleanlab's ``OutOfDistribution`` scores each image by its average cosine distance to its
k nearest neighbours in feature space (1: typical, towards 0: far from everything). Flagged are
the images whose average distance lies beyond ``Q3 + 1.7 x IQR`` of all of them: Datalab's
``outlier`` rule, which adapts to how spread out a dataset is (X-rays sit much closer together
than holiday photos).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from .probe import one_thread

NEIGHBOURS = 10  # cleanlab's default k
# Datalab's features threshold 0.37037 means Q3 + (1 / 0.37037 - 1) x IQR = Q3 + 1.7 x IQR.
IQR_SCALE = 1.7
TOP = 20


@dataclass
class Outlier:
    """One unusual image: ``score`` from cleanlab (lower is more unusual), ``is_outlier``
    whether it passes the flagging rule."""

    index: int
    score: float
    is_outlier: bool

    def to_dict(self) -> dict:
        return {"index": self.index, "score": self.score, "is_outlier": self.is_outlier}


@one_thread()
def outlier_scores(features: np.ndarray | None, labels: np.ndarray | None = None, *,
                   pred_probs: np.ndarray | None = None) -> np.ndarray:
    """cleanlab's out-of-distribution score of every image (lower: more unusual).

    From the features when there are any; otherwise (as Datalab does) from out-of-fold
    probabilities and labels, which only says how unsure the probe is about each image.
    """
    from cleanlab.outlier import OutOfDistribution

    if features is None:
        if pred_probs is None or labels is None:
            raise ValueError("find_outliers needs features, or pred_probs with labels")
        with contextlib.redirect_stdout(io.StringIO()):  # cleanlab prints its progress
            return OutOfDistribution().fit_score(pred_probs=np.asarray(pred_probs), labels=np.asarray(labels))
    x = np.asarray(features, dtype=np.float32)
    k = min(NEIGHBOURS, len(x) - 1)
    with contextlib.redirect_stdout(io.StringIO()):
        return OutOfDistribution(params={"k": k}).fit_score(features=x)


def find_outliers(features: np.ndarray | None, labels: np.ndarray | None = None, *,
                  pred_probs: np.ndarray | None = None, top: int = TOP) -> list[Outlier]:
    """The most unusual images, most unusual first.

    Args:
        features: ``(n, d)`` bottleneck features (``None``: score from ``pred_probs``).
        labels: ``(n,)`` class indices (used with ``pred_probs`` only).
        pred_probs: out-of-fold probabilities, the fallback without features.
        top: list at least this many images: every flagged one, then the next most unusual
            (``is_outlier`` False) up to ``top``, for a person to look through.
    """
    n = len(features) if features is not None else len(pred_probs) if pred_probs is not None else 0
    if n < 3:
        return []
    scores = np.asarray(outlier_scores(features, labels, pred_probs=pred_probs), dtype=np.float64)
    if features is not None:
        # score = exp(-avg distance / median avg distance): the distance in units of the median
        distance = -np.log(np.clip(scores, 1e-300, None))
        q1, q3 = np.percentile(distance, [25, 75])
        flagged = distance > q3 + IQR_SCALE * (q3 - q1)
    else:
        flagged = scores < 0.13 * np.median(scores)  # Datalab's pred_probs rule
    order = np.argsort(scores, kind="stable")
    keep = order[: max(int(flagged.sum()), int(top))]
    return [Outlier(index=int(i), score=float(scores[i]), is_outlier=bool(flagged[i])) for i in keep]
