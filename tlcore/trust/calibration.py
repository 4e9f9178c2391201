"""Temperature scaling: probabilities that mean what they say.

A network trained with cross-entropy on a few hundred images is usually over-confident: of
the pictures it calls "90 %", fewer than 90 % are right. Temperature scaling (Guo et al.,
2017) divides the logits by one number T fitted on the validation split, which keeps every
decision of the model (the order of the classes never changes) and makes its probabilities
honest. The expected calibration error (ECE) measures the gap: the average, over bins of
confidence, of |accuracy - confidence|, weighted by how many pictures fall in each bin.
"""

from __future__ import annotations

import numpy as np

_TINY = np.finfo(np.float32).tiny
T_RANGE = (0.05, 20.0)  # beyond these the fit says more about too few images than about the model


def _logits(probs) -> np.ndarray:
    # Softmax probabilities are logits up to a constant per row, which softmax ignores.
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), _TINY, 1.0))


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / T)``: the probabilities of the model with its logits divided by T."""
    z = _logits(probs) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _nll(probs, y) -> float:
    p = np.clip(np.asarray(probs, dtype=np.float64)[np.arange(len(y)), y], 1e-12, 1.0)
    return float(-np.mean(np.log(p)))


def fit_temperature(probs, y) -> float:
    """The temperature that minimises the negative log-likelihood of ``y`` (1.0 without images)."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(y, dtype=int)
    if len(y) == 0:
        return 1.0
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    result = minimize_scalar(lambda log_t: _nll(apply_temperature(probs, np.exp(log_t)), y),
                             bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def reliability(probs, y, bins: int = 10) -> dict:
    """Confidence against accuracy in equal-width bins of the highest probability, and the ECE."""
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y, dtype=int)
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = probs.argmax(axis=1) == y if len(probs) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        row = {"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": count,
               "confidence": float(confidence[inside].mean()) if count else None,
               "accuracy": float(correct[inside].mean()) if count else None}
        if count:
            ece += count / len(y) * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return {"bins": rows, "ece": float(ece), "num_images": int(len(y))}


def expected_calibration_error(probs, y, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width bins of confidence (0: perfectly calibrated)."""
    return reliability(probs, y, bins)["ece"]


def cross_fitted(probs, y, folds: int = 2, seed: int = 0) -> np.ndarray:
    """Each image's probabilities calibrated by a temperature fitted on the other folds.

    The ECE of these is what the fitted temperature will do on new pictures; the ECE of the
    validation split calibrated on itself would flatter it.
    """
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y, dtype=int)
    order = np.random.default_rng(seed).permutation(len(y))
    out = np.zeros_like(probs, dtype=np.float32)
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        t = fit_temperature(probs[rest], y[rest]) if len(rest) else 1.0
        out[part] = apply_temperature(probs[part], t)
    return out


__all__ = ["T_RANGE", "apply_temperature", "cross_fitted", "expected_calibration_error", "fit_temperature",
           "reliability"]
