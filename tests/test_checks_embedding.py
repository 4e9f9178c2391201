"""The 2-D map: separated clusters stay separated, with t-SNE and with the PCA fallback."""

import json

import numpy as np
import pytest

from tlcore.checks.embedding import project


def _two_clusters(n=200, dim=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    centers = rng.normal(0, 1, (2, dim)) * 2
    return (centers[labels] + rng.normal(0, 1, (n, dim))).astype(np.float32), labels


def _separated(projection, labels) -> bool:
    xy = np.c_[projection.x, projection.y]
    a, b = xy[labels == 0], xy[labels == 1]
    gap = np.linalg.norm(a.mean(0) - b.mean(0))
    spread = max(np.linalg.norm(a - a.mean(0), axis=1).max(), np.linalg.norm(b - b.mean(0), axis=1).max())
    # every point is nearer its own cluster's centre than the other's
    nearer_own = (np.linalg.norm(a - a.mean(0), axis=1) < np.linalg.norm(a - b.mean(0), axis=1)).all() and \
        (np.linalg.norm(b - b.mean(0), axis=1) < np.linalg.norm(b - a.mean(0), axis=1)).all()
    return nearer_own and gap > spread


@pytest.mark.parametrize("max_points, method", [(3000, "tsne"), (100, "pca")])
def test_two_separated_clusters_stay_separated(max_points, method):
    x, labels = _two_clusters()
    projection = project(x, seed=0, max_points=max_points)
    assert projection.method == method and len(projection.x) == len(projection.y) == 200
    assert _separated(projection, labels)
    assert project(x, seed=0, max_points=max_points) == projection  # seeded
    assert set(json.loads(json.dumps(projection.to_dict()))) == {"x", "y", "method"}


def test_tiny_sets_still_get_a_map():
    assert project(np.zeros((0, 8), np.float32)).x == []
    assert len(project(np.random.default_rng(0).normal(size=(4, 8))).x) == 4
