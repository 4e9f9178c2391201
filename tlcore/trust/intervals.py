"""95 % intervals for the figures a run reports, by bootstrap over the evaluated images.

With 150 validation images an accuracy of 95 % could as well be 91 % or 98 %: every
accuracy, sensitivity, specificity and per-class recall is reported with the interval that
says so. Intervals come from :func:`scipy.stats.bootstrap` (BCa up to a few thousand
images, the cheaper percentile method above, where the two agree); the Wilson score
interval takes over where a bootstrap cannot say anything (every answer right, or wrong,
or only a handful of images), since a bootstrap of 20 right answers out of 20 is [1, 1].
Above a few hundred images the percentile bootstrap draws its resampled shares straight
from the binomial law they follow, which is the same distribution, a thousand times faster.
"""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
_BCA_MAX = 600  # BCa's jackknife costs n x n: a few ms up to here; beyond, BCa and percentile agree
_MIN_ITEMS = 5


def wilson_interval(successes: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion (well-behaved at 0 %, 100 % and small counts)."""
    from scipy.stats import norm

    if total <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_interval(hits, *, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Interval of the share of True in ``hits`` (e.g. correct answers)."""
    from scipy.stats import bootstrap

    hits = np.asarray(hits, dtype=float).ravel()
    n, k = len(hits), int(hits.sum())
    if n < _MIN_ITEMS or k in (0, n):
        return wilson_interval(k, n, confidence)
    if n > _BCA_MAX:
        # The share of a bootstrap resample of n items with k hits is Binomial(n, k/n) / n.
        shares = np.random.default_rng(seed).binomial(n, k / n, RESAMPLES) / n
        lo, hi = np.quantile(shares, [(1 - confidence) / 2, (1 + confidence) / 2])
        return float(lo), float(hi)
    result = bootstrap((hits,), np.mean, confidence_level=confidence, n_resamples=RESAMPLES,
                       method="BCa", random_state=seed, vectorized=True)
    lo, hi = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return wilson_interval(k, n, confidence)
    return max(0.0, lo), min(1.0, hi)


def metric_intervals(y_true, y_pred, num_classes: int, *, seed: int = 0) -> dict:
    """95 % intervals of accuracy, every class's recall and, for two classes, sensitivity
    (recall of class 1) and specificity (recall of class 0)."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    correct = y_true == y_pred
    out = {"accuracy_ci": list(proportion_interval(correct, seed=seed)) if len(y_true) else None}
    # A class's recall is the accuracy on that class's images: resampling the evaluated images
    # and keeping those of the class is the same as resampling within the class.
    recall = [list(proportion_interval(correct[y_true == c], seed=seed)) if np.any(y_true == c) else None
              for c in range(num_classes)]
    out["recall_ci"] = recall
    if num_classes == 2:
        out["sensitivity_ci"], out["specificity_ci"] = recall[1], recall[0]
    return out


def with_interval(value: float | None, ci=None, *, digits: int = 1) -> str:
    """``95.4 % (92.2–97.9)``; without an interval just ``95.4 %``."""
    if value is None:
        return "–"
    text = f"{100 * float(value):.{digits}f} %"
    if ci is not None and len(ci) == 2 and ci[0] is not None and ci[1] is not None:
        text += f" ({100 * float(ci[0]):.{digits}f}–{100 * float(ci[1]):.{digits}f})"
    return text


__all__ = ["CONFIDENCE", "metric_intervals", "proportion_interval", "wilson_interval", "with_interval"]
