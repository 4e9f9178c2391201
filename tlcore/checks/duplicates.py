"""Near-duplicate images, found by content: copies that were re-encoded, resized, slightly
cropped or recoloured still have almost the same bottleneck features.

Two images are near-duplicates when their cosine distance is well below the dataset's typical
nearest-neighbour distance (cleanlab Datalab's ``near_duplicate`` rule; Datalab itself needs the
``datasets`` package, so the same rule runs on scikit-learn's NearestNeighbors here). A fixed
cosine cut cannot serve every backbone and dataset: distinct photos of one bee species sit at
cosine ~0.85 in MobileNetV2 features, distinct chest X-rays at ~0.9. Measured with MobileNetV2 on
hymenoptera and chest X-rays, copies sit below 0.45 x the median nearest-neighbour distance
(8 %-cropped photos the farthest), distinct images above 0.65 x (the closest pairs under that were
the same patient's consecutive X-rays): :data:`RATIO` sits between. Absolute bounds keep the
rule sane at the extremes: identical vectors always match, far-apart ones never do.

Features go through signed square roots first (power normalisation, as in image retrieval):
it damps the few large activations that make unrelated images look alike, and widened the gap
between copies and distinct photos (8 %-cropped copies 0.91 vs distinct pairs at most 0.85).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .probe import one_thread

RATIO = 0.55  # a pair is a near-duplicate below RATIO x the median nearest-neighbour distance
EXACT_DISTANCE = 0.01  # cosine distance below which two images always count as copies
LOOSEST_DISTANCE = 0.2  # ... and above which never (cosine similarity 0.8)
NEIGHBOURS = 10  # nearest neighbours searched per image (Datalab's k)

KINDS = ("leak", "conflict", "duplicate")


@dataclass
class DuplicateGroup:
    """Images that are copies of each other.

    Attributes:
        indices: rows in the features passed in, ascending.
        similarity: the lowest cosine similarity between two members (of the normalised features).
        kind: ``"leak"`` (members in more than one split: the same image is trained on and
            evaluated), ``"conflict"`` (one split, different labels) or ``"duplicate"``
            (one split, one label: it counts twice).
        mixed_labels: the members do not all have the same label (also for leaks).
    """

    indices: list[int]
    similarity: float
    kind: str
    mixed_labels: bool

    def to_dict(self) -> dict:
        return {"indices": list(self.indices), "similarity": self.similarity, "kind": self.kind,
                "mixed_labels": self.mixed_labels}


def _normalised(features: np.ndarray) -> np.ndarray:
    x = np.asarray(features, dtype=np.float32)
    x = np.sign(x) * np.sqrt(np.abs(x))
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)


def _neighbours(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances and indices of each image's :data:`NEIGHBOURS` nearest others."""
    from sklearn.neighbors import NearestNeighbors

    k = min(NEIGHBOURS, len(x) - 1)
    # kneighbors() without a query leaves each point out of its own neighbours
    return NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(x).kneighbors()


def _radius(nearest: np.ndarray) -> float:
    return float(np.clip(RATIO * np.median(nearest), EXACT_DISTANCE, LOOSEST_DISTANCE))


@one_thread()
def near_duplicate_threshold(features: np.ndarray) -> float:
    """The cosine similarity above which two of these images count as near-duplicates."""
    x = _normalised(features)
    if len(x) < 2:
        return 1.0 - EXACT_DISTANCE
    return 1.0 - _radius(_neighbours(x)[0][:, 0])


@one_thread()
def find_near_duplicates(features: np.ndarray, labels: np.ndarray, splits, *, threshold: float | None = None,
                         pair_filter=None) -> list[DuplicateGroup]:
    """Group images that are copies of each other.

    Args:
        features: ``(n, d)`` bottleneck features.
        labels: ``(n,)`` class indices.
        splits: ``(n,)`` split of each image (``"train"``, ``"val"``, ``"test"``).
        threshold: cosine similarity from which two images are copies; ``None`` derives it
            from the data (:func:`near_duplicate_threshold`).
        pair_filter: ``(rows, cols) -> bool mask``: which close pairs also count as copies (texts:
            close in meaning *and* in wording, see :mod:`tlcore.text.near_copies`); None keeps all.

    Returns:
        Groups (connected components of the near-duplicate pairs): leaks first, then
        conflicts, then duplicates, each most similar first.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels, splits = np.asarray(labels), np.asarray(splits)
    if not len(features) == len(labels) == len(splits):
        raise ValueError(f"features, labels and splits must have the same length, got "
                         f"{len(features)}, {len(labels)} and {len(splits)}")
    if len(features) < 2:
        return []
    x = _normalised(features)
    distances, neighbours = _neighbours(x)
    if threshold is None:
        threshold = 1.0 - _radius(distances[:, 0])
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine similarity in (0, 1], got {threshold}")
    # Pairs among each image's nearest neighbours, as Datalab does: a group of more copies
    # than NEIGHBOURS still joins up, through the members' shared neighbours.
    close = distances <= 1.0 - threshold
    rows, cols = np.repeat(np.arange(len(x)), close.sum(axis=1)), neighbours[close]
    if pair_filter is not None and len(rows):
        keep = np.asarray(pair_filter(rows, cols), dtype=bool)
        rows, cols = rows[keep], cols[keep]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(x), len(x)))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    groups = []
    for comp in np.flatnonzero(sizes > 1):
        members = np.flatnonzero(component == comp)
        sims = x[members] @ x[members].T
        mixed = len(set(labels[members].tolist())) > 1
        kind = "leak" if len(set(splits[members].tolist())) > 1 else "conflict" if mixed else "duplicate"
        groups.append(DuplicateGroup(indices=[int(i) for i in members], similarity=float(min(sims.min(), 1.0)),
                                     kind=kind, mixed_labels=mixed))
    groups.sort(key=lambda g: (KINDS.index(g.kind), -g.similarity, g.indices[0]))
    return groups
