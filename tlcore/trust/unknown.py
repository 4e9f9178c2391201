""""I don't know": how far a picture may be from everything the model was trained on.

A classifier gives every picture one of its classes, even a photo of bees to a flower
model. Two limits, learned per run, turn such answers into *unknown*:

- **Unlike the training pictures.** The cosine similarity of a picture's bottleneck
  features to the nearest training picture's (the prototypes). The limit is a low quantile
  of the same similarity of each training picture to the *other* training pictures, so it
  says what an ordinary new picture of the training kind scores. When the dataset knows its
  subjects (a patient's X-rays, a burst recorded with the camera), the *other* pictures are
  those of other subjects: a subject's pictures are near-copies of each other, and their
  similarity would call any new view of the same kind unlike them.
- **Unsure between classes.** The highest calibrated probability, below a share of the way
  from chance (1 / number of classes) to certainty.

The strictness picks both from one table (:data:`STRICTNESS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PROTOTYPES = 1000  # training pictures kept for the distance: bounds the exported model's size
_CHUNK = 2048


@dataclass(frozen=True)
class Strictness:
    """How readily the model says "I don't know"."""

    name: str
    label: str
    help: str
    quantile: float | None  # share of ordinary training pictures that would count as unlike the rest
    confidence: float | None  # how far from chance towards certainty the top probability must get


STRICTNESS: dict[str, Strictness] = {s.name: s for s in (
    Strictness("off", "Off", "Always answer with a class, however unlike the training pictures the picture is.",
               None, None),
    Strictness("lenient", "Lenient", "Say \"I don't know\" only for pictures clearly unlike every training picture "
               "(about 1 in 100 ordinary pictures is caught too), or when the model is torn between classes.",
               0.01, 0.1),
    Strictness("normal", "Normal", "Say \"I don't know\" for pictures unlike the training pictures (about 2 in 100 "
               "ordinary pictures are caught too), or when the model is unsure between classes.", 0.02, 0.2),
    Strictness("strict", "Strict", "Answer only pictures much like the training pictures (about 5 in 100 ordinary "
               "pictures are caught too) and where the model is fairly sure.", 0.05, 0.4),
)}
DEFAULT_STRICTNESS = "normal"


def normalise(features) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def choose_prototypes(features, y, *, limit: int = MAX_PROTOTYPES, seed: int = 0) -> np.ndarray:
    """Indices of the training pictures kept as prototypes: all of them, or a stratified sample."""
    y = np.asarray(y, dtype=int)
    n = len(y)
    if n <= limit:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(n), train_size=limit, stratify=y if np.bincount(y).min() > 1 else None,
                               random_state=seed)
    return np.sort(keep)


def nearest_similarity(features, prototypes, *, exclude_self: bool = False, subjects=None) -> np.ndarray:
    """Cosine similarity of each row of ``features`` to its nearest prototype (``exclude_self``:
    ``features`` are the prototypes, and a row's own copy does not count, nor with ``subjects``,
    one id per prototype, any prototype of its subject)."""
    x, p = normalise(features), np.asarray(prototypes, dtype=np.float32)
    out = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), _CHUNK):
        sims = x[start:start + _CHUNK] @ p.T
        if exclude_self:
            rows = np.arange(len(sims))
            sims[rows, start + rows] = -np.inf
            if subjects is not None:
                ids = np.asarray(subjects)
                sims[ids[start:start + _CHUNK, None] == ids[None, :]] = -np.inf
        # a picture with no other subject to compare with is as unlike as can be (-1)
        out[start:start + _CHUNK] = np.maximum(sims.max(axis=1), -1.0) if p.size else -1.0
    return out


def confidence_limit(strictness: str, num_classes: int) -> float | None:
    """The lowest top probability that still gets an answer."""
    level = STRICTNESS[strictness]
    if level.confidence is None:
        return None
    chance = 1.0 / max(num_classes, 1)
    return float(chance + (1.0 - chance) * level.confidence)


def fit_unknown(train_features, y_train, num_classes: int, strictness: str = DEFAULT_STRICTNESS, *,
                seed: int = 0, subjects=None) -> tuple[np.ndarray, dict]:
    """Prototypes (unit rows, float32) and the limits of ``strictness``.

    ``subjects`` (one id per training picture, or None) leaves each picture's subject out of
    its comparison. Returns ``(prototypes, {"similarity_limit", "confidence_limit",
    "prototype_subjects"})``; the prototypes and their subjects give the limits of another
    strictness later (:func:`limits_of`).
    """
    if strictness not in STRICTNESS:
        raise ValueError(f"strictness {strictness!r} is not one of {', '.join(STRICTNESS)}")
    keep = choose_prototypes(train_features, y_train, seed=seed)
    prototypes = normalise(np.asarray(train_features)[keep])
    kept = None if subjects is None else [int(i) for i in np.unique(np.asarray(subjects), return_inverse=True)[1][keep]]
    sim_limit, conf_limit = limits_of(prototypes, strictness, num_classes, subjects=kept)
    return prototypes, {"similarity_limit": sim_limit, "confidence_limit": conf_limit, "prototype_subjects": kept}


def limits_of(prototypes, strictness: str, num_classes: int, *,
              subjects=None) -> tuple[float | None, float | None]:
    """The similarity and confidence limits of ``strictness`` for these (unit) prototypes (with
    ``subjects``, each compared with other subjects only)."""
    loo = nearest_similarity(prototypes, prototypes, exclude_self=True, subjects=subjects) \
        if prototypes is not None and len(prototypes) > 1 else np.zeros(0, np.float32)
    return similarity_limit(loo, strictness), confidence_limit(strictness, num_classes)


def similarity_limit(leave_one_out, strictness: str) -> float | None:
    """The ``strictness`` quantile of the training pictures' leave-one-out similarities."""
    level = STRICTNESS[strictness]
    loo = np.asarray(leave_one_out, dtype=np.float64)
    if level.quantile is None or not len(loo):
        return None
    return float(np.quantile(loo, level.quantile))


__all__ = ["DEFAULT_STRICTNESS", "MAX_PROTOTYPES", "STRICTNESS", "Strictness", "choose_prototypes",
           "confidence_limit", "fit_unknown", "limits_of", "nearest_similarity", "normalise", "similarity_limit"]
