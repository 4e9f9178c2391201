"""The one linear probe every data check trains, and its out-of-fold probabilities.

A check asks "what would a simple classifier on these features say about this image if it
had never seen it?". The answer comes from one model, written once: standardise, reduce to at
most :data:`PROBE_DIM` principal components (once, for every fit), logistic regression. Bottleneck features have
~1,280 dimensions and a check trains the probe dozens of times (k folds, learning-curve points,
one domain classifier per class and split); on 128 components each fit takes milliseconds
instead of seconds, the components keep almost all of a linear probe's accuracy on ImageNet
features, and fewer dimensions than images keep the small per-class domain classifiers from
separating anything from anything.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Sequence

import numpy as np

from ..errors import TLCoreError

PROBE_DIM = 128  # principal components the probe keeps (see the module docstring)
MAX_FOLDS = 5
MIN_FOLDS = 2
# A stronger prior than sklearn's C=1: few images per class in many dimensions. On real
# MobileNetV2 features (hymenoptera) C in 0.003..0.03 gave the same out-of-fold accuracy and the
# best log-loss; the probabilities, not only the argmax, feed cleanlab.
_C = 0.01


@contextlib.contextmanager
def one_thread():
    """Run on one BLAS/OpenMP thread (a context manager, or a decorator: ``@one_thread()``).

    A probe fit on a few hundred 128-d rows is too small to share between threads: with the
    CPU busy elsewhere (a training job, a second check), the threads of each tiny BLAS call
    wait for each other. Measured on 2 busy cores: the shift check took 45 s of CPU with the
    default threads, 2.5 s on one; all checks on 6,000 images 8.6 s on one thread.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@one_thread()
def reduce_features(features: np.ndarray, *, dim: int = PROBE_DIM, seed: int = 0) -> np.ndarray:
    """Principal components of the standardised ``features`` (at most ``dim`` of them).

    Unsupervised, so fitting it once on every image leaks no label into any fold. The last
    result is remembered (keyed by the array's bytes): the label and shift checks reduce the
    same features, and the reduction is the slowest step of either.
    """
    x = np.ascontiguousarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D array (images x dimensions), got shape {x.shape}")
    global _last_reduction
    key = (hashlib.sha1(x.data).hexdigest(), x.shape, dim, seed)
    last = _last_reduction  # one read: another thread may replace it meanwhile
    if last is not None and last[0] == key:
        return last[1].copy()
    reduced = _reduce(x, dim, seed)
    _last_reduction = (key, reduced)
    return reduced.copy()


_last_reduction: tuple | None = None


def _reduce(x: np.ndarray, dim: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(x)
    components = min(dim, x.shape[0] - 1, x.shape[1])
    if components < 1 or components >= x.shape[1]:
        return x
    # With more images than dimensions the covariance route is exact and several times faster
    # than randomized SVD (0.3 s vs 1.6 s on 6,000 x 1,280); with fewer, a full SVD is cheap.
    solver = "covariance_eigh" if x.shape[0] >= x.shape[1] else "full"
    return PCA(n_components=components, svd_solver=solver, random_state=seed).fit_transform(x).astype(np.float32)


def make_probe(seed: int = 0, *, balanced: bool = False):
    """A fresh, seeded probe: multinomial logistic regression.

    Expects reduced features (:func:`reduce_features`: already standardised; scaling the
    components again would blow the weakest up to the strongest and hurt). ``balanced`` weighs classes by
    their rarity, so that the larger side cannot win by its size alone.
    """
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=_C, max_iter=2000, random_state=seed,
                              class_weight="balanced" if balanced else None)


def resolve_folds(labels: np.ndarray, folds: int | None = None, classes: Sequence[str] | None = None) -> int:
    """The number of folds: ``folds`` if every class has that many images, else an error.

    ``None`` is automatic: ``min(5, smallest class)``, at least 2. Classes without any image
    are left out (they cannot be checked and do not limit the folds).
    """
    labels = np.asarray(labels)
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        raise TLCoreError("Checking labels needs at least two classes with images.",
                          "add a second class folder with images")

    def name(value) -> str:
        return str(classes[int(value)]) if classes is not None else f"class {int(value)}"

    smallest = int(np.argmin(counts))
    if folds is None:
        if counts[smallest] < MIN_FOLDS:
            raise TLCoreError(f"Class '{name(values[smallest])}' has {int(counts[smallest])} image, too few to check.",
                              f"add at least one more image to '{name(values[smallest])}'")
        return int(max(MIN_FOLDS, min(MAX_FOLDS, counts[smallest])))
    folds = int(folds)
    if folds < MIN_FOLDS:
        raise TLCoreError(f"{folds}-fold checking is not possible.", f"check with --folds {MIN_FOLDS} or more")
    if counts[smallest] < folds:
        image_s = "image" if counts[smallest] == 1 else "images"
        fix = (f"add images to '{name(values[smallest])}', or check with --folds {int(counts[smallest])} "
               f"(at least {MIN_FOLDS})" if counts[smallest] >= MIN_FOLDS
               else f"add at least one more image to '{name(values[smallest])}'")
        raise TLCoreError(f"Class '{name(values[smallest])}' has {int(counts[smallest])} {image_s}, too few "
                          f"for {folds}-fold checking.", fix)
    return folds


def fit_probabilities(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, num_classes: int, *,
                      seed: int = 0, balanced: bool = False) -> np.ndarray:
    """Train a probe on ``train_x`` and return its ``(len(test_x), num_classes)`` probabilities.

    Classes absent from ``train_y`` get probability 0.
    """
    probe = make_probe(seed, balanced=balanced).fit(train_x, train_y)
    probs = np.zeros((len(test_x), num_classes), dtype=np.float64)
    probs[:, probe.classes_.astype(int)] = probe.predict_proba(test_x)
    return probs


def out_of_fold_probabilities(features: np.ndarray, labels: np.ndarray, folds: int | None = None, seed: int = 0,
                              *, classes: Sequence[str] | None = None, reduced: bool = False) -> np.ndarray:
    """``(n, k)`` class probabilities of each image from a probe that never saw it.

    Args:
        features: ``(n, d)`` bottleneck features.
        labels: ``(n,)`` class indices.
        folds: stratified folds; ``None`` picks ``min(5, smallest class)``, at least 2.
        seed: seeds the fold assignment, the reduction and the probe.
        classes: class names (names the class in errors; ``k = len(classes)``).
        reduced: ``features`` already went through :func:`reduce_features`.

    Raises:
        TLCoreError: a class has fewer images than ``folds``.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels).astype(int)
    if len(labels) != len(features):
        raise ValueError(f"features has {len(features)} rows but labels has {len(labels)}")
    folds = resolve_folds(labels, folds, classes)
    num_classes = len(classes) if classes is not None else int(labels.max()) + 1
    x = np.asarray(features, np.float32) if reduced else reduce_features(features, seed=seed)
    probs = np.zeros((len(labels), num_classes), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with one_thread():
        for train_idx, test_idx in splitter.split(x, labels):
            probs[test_idx] = fit_probabilities(x[train_idx], labels[train_idx], x[test_idx], num_classes,
                                                seed=seed)
    return probs
