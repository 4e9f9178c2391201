"""Shift between splits: do a class's validation or test images look unlike its training ones?

For each class and split, a domain classifier (the linear probe, :mod:`.probe`) learns to tell
that split's images from training images of the same class; its cross-validated ROC AUC says
how separable they are (0.5: not at all, 1: always). A few dozen images in 128 dimensions give
an AUC noticeably off 0.5 by chance, so every row carries a bootstrap interval and a control:
the same procedure on two random parts of training (halves, or as many images as the split
against the rest when the split is smaller), which by construction do not differ.
A split is flagged only when its AUC is high and clearly above the control's interval.

Sides of different sizes cannot fake a high AUC: the AUC is a rank statistic, insensitive to
how many images each side has, and the classifier weighs both sides equally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .probe import make_probe, one_thread, reduce_features

MIN_IMAGES = 5  # per class and side, to be compared at all
FLAG_AUC = 0.7  # flagged from this AUC, when also clearly above the control
MAX_FOLDS = 5
# Random parts of training the control is drawn from. Out-of-fold scores of a few images are
# correlated (each was scored by a probe trained on the others), so one bootstrap interval is
# too narrow for small splits (6 images: a 95 % interval missed a null AUC 1 time in 10); the
# control spans all its draws' intervals, as wide as chance really scatters at that size.
CONTROL_DRAWS = 3
BOOTSTRAP = 200
MAX_BOOTSTRAP_SIDE = 3000  # images per side the interval's bootstrap compares (see _auc_with_interval)
NUM_EXAMPLES = 8
SPLIT_WORDS = {"val": "validation", "test": "test"}
CONSEQUENCES = {
    "test": "Expect test accuracy below validation.",
    "val": "Expect validation accuracy to be a poor guide to {items} like your training ones.",
}


@dataclass
class ShiftRow:
    """How separable one class's images of one split are from its training images.

    ``control_*``: the same comparison between two random parts of training (halves, or as
    many images as the split against the rest); ``None`` when training has too few images of
    the class to split (fewer than ``2 * MIN_IMAGES``). ``level`` is ``"warning"`` (flagged), ``"notice"``
    (detectably different, but little) or ``"ok"``. ``examples``: indices of the split's
    images that look most unlike training, most unlike first.
    """

    class_name: str
    split: str
    auc: float
    low: float
    high: float
    control_auc: float | None
    control_low: float | None
    control_high: float | None
    n_train: int
    n_split: int
    flagged: bool
    level: str
    message: str
    examples: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _out_of_fold_scores(x: np.ndarray, side: np.ndarray, seed: int) -> np.ndarray:
    """Cross-validated probability that each image belongs to side 1."""
    from sklearn.model_selection import StratifiedKFold

    folds = max(2, min(MAX_FOLDS, int(np.bincount(side).min())))
    scores = np.zeros(len(side))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, side):
        probe = make_probe(seed, balanced=True).fit(x[train_idx], side[train_idx])
        scores[test_idx] = probe.predict_proba(x[test_idx])[:, 1]
    return scores


def _auc_with_interval(scores: np.ndarray, side: np.ndarray, seed: int) -> tuple[float, float, float]:
    """ROC AUC and its 95 % percentile-bootstrap interval (each side resampled on its own)."""
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(side, scores))
    pos, neg = scores[side == 1], scores[side == 0]
    rng = np.random.default_rng(seed)
    # The pairwise matrix below grows as the product of the two sides: a class with tens of
    # thousands of images on each side would need gigabytes. A few thousand a side pin the
    # interval down as well as all of them would.
    pos, neg = (side_scores if len(side_scores) <= MAX_BOOTSTRAP_SIDE else
                rng.choice(side_scores, MAX_BOOTSTRAP_SIDE, replace=False) for side_scores in (pos, neg))
    # Every bootstrap AUC is a weighted mean of the same pairwise comparisons (Mann-Whitney):
    # one matrix, then resampling weights, instead of 200 calls to roc_auc_score.
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    w_pos = rng.multinomial(len(pos), np.full(len(pos), 1 / len(pos)), size=BOOTSTRAP)
    w_neg = rng.multinomial(len(neg), np.full(len(neg), 1 / len(neg)), size=BOOTSTRAP)
    boot = np.einsum("bi,ij,bj->b", w_pos, wins, w_neg) / (len(pos) * len(neg))
    low, high = np.percentile(boot, [2.5, 97.5])
    return auc, float(low), float(high)


def _interval(value: float, low: float, high: float) -> str:
    return f"AUC {value:.2f}, 95 % interval {low:.2f}–{high:.2f}"


def _message(row: ShiftRow, items: str = "images") -> str:
    words = SPLIT_WORDS.get(row.split, row.split)
    numbers = _interval(row.auc, row.low, row.high)
    if row.control_auc is not None:
        control = ("two random halves of training" if 2 * row.n_split >= row.n_train
                   else f"{row.n_split} random training {items} against the rest")
        numbers += f"; {control}: {row.control_auc:.2f}, {row.control_low:.2f}–{row.control_high:.2f}"
    who = f"Your {words} {row.class_name} {items}"
    if row.level == "warning":
        return f"{who} look different from your training ones ({numbers}). " + CONSEQUENCES.get(
            row.split, f"Expect accuracy on {words} {{items}} below validation.").format(items=items)
    if row.level == "notice":
        return f"{who} differ a little from your training ones ({numbers}); probably harmless."
    return f"{who} look like your training ones ({numbers})."


def _compare(x_train: np.ndarray, x_split: np.ndarray, seed: int):
    x = np.concatenate([x_train, x_split])
    side = np.r_[np.zeros(len(x_train), int), np.ones(len(x_split), int)]
    scores = _out_of_fold_scores(x, side, seed)
    return _auc_with_interval(scores, side, seed), scores[len(x_train):]


def split_shift(features: np.ndarray, labels: np.ndarray, splits, classes: Sequence[str], *,
                seed: int = 0, items: str = "images") -> list[ShiftRow]:
    """Compare each class's images of every non-training split with its training images.

    Args:
        features: ``(n, d)`` bottleneck features.
        labels: ``(n,)`` class indices into ``classes``.
        splits: ``(n,)`` split of each image; rows are made for every split but ``"train"``
            with at least :data:`MIN_IMAGES` images of the class (and as many in training).
        classes: class names.
        seed: seeds the reduction, the folds, the halves and the bootstrap.

    Returns:
        One :class:`ShiftRow` per class and split, in class order, validation before test.
    """
    labels, splits = np.asarray(labels).astype(int), np.asarray(splits).astype(str)
    if not len(features) == len(labels) == len(splits):
        raise ValueError(f"features, labels and splits must have the same length, got "
                         f"{len(features)}, {len(labels)} and {len(splits)}")
    others = sorted({s for s in splits.tolist() if s != "train"}, key=lambda s: (s != "val", s != "test", s))
    if not others or len(features) < 2:
        return []
    x = reduce_features(features, seed=seed)
    with one_thread():
        return _rows(x, labels, splits, classes, others, seed, items)


def _rows(x, labels, splits, classes, others, seed, items: str = "images") -> list[ShiftRow]:
    """The rows of :func:`split_shift` on reduced features ``x``."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, name in enumerate(classes):
        train_idx = np.flatnonzero((labels == label) & (splits == "train"))
        if len(train_idx) < MIN_IMAGES:
            continue
        for split in others:
            split_idx = np.flatnonzero((labels == label) & (splits == split))
            if len(split_idx) < MIN_IMAGES:
                continue
            control = (None, None, None)
            if len(train_idx) >= 2 * MIN_IMAGES:
                # The control's part is as large as the split (at most half of training): an
                # AUC from 6 images scatters far more than one from 60, and the control must
                # scatter as much as the comparison it vouches for.
                size = min(len(split_idx), len(train_idx) // 2)
                draws = []
                for _ in range(CONTROL_DRAWS):
                    shuffled = rng.permutation(train_idx)
                    draws.append(_compare(x[shuffled[size:]], x[shuffled[:size]], seed)[0])
                control = (float(np.mean([d[0] for d in draws])), min(d[1] for d in draws),
                           max(d[2] for d in draws))
            (auc, low, high), scores = _compare(x[train_idx], x[split_idx], seed)
            reference_high = control[2] if control[2] is not None else 0.5
            flagged = auc >= FLAG_AUC and low > reference_high
            level = "warning" if flagged else "notice" if low > max(reference_high, 0.5) else "ok"
            row = ShiftRow(class_name=str(name), split=split, auc=auc, low=low, high=high,
                           control_auc=control[0], control_low=control[1], control_high=control[2],
                           n_train=int(len(train_idx)), n_split=int(len(split_idx)), flagged=bool(flagged),
                           level=level, message="",
                           examples=[int(i) for i in split_idx[np.argsort(-scores, kind="stable")[:NUM_EXAMPLES]]])
            row.message = _message(row, items)
            rows.append(row)
    return rows
