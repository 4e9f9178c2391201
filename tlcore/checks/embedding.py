"""A 2-D map of the images: similar images close together, for the eye to find clusters,
strays and classes that overlap.

Principal components first (50: t-SNE's neighbour search on 1,280 dimensions is slow and
its distances mostly noise), then t-SNE (scikit-learn). t-SNE grows with the number of points;
above :data:`MAX_TSNE_POINTS` the map is the first two principal components alone, which
keep the big picture (a linear map) and take a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .probe import one_thread

# t-SNE (500 iterations, one thread) took 3.9 s on 3,000 and 11.8 s on 6,000 points on 2 busy
# CPU cores; the other checks take ~8 s on 6,000 images and all together must stay within
# ~20 s, so larger sets get PCA alone.
MAX_TSNE_POINTS = 3000
TSNE_ITERATIONS = 500  # the layout is settled well before sklearn's default 1,000 on these sizes
PCA_DIM = 50


@dataclass
class Projection:
    """Map coordinates of each image, in the order of the features passed in.

    ``method`` is ``"tsne"`` or ``"pca"``.
    """

    x: list[float]
    y: list[float]
    method: str

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "method": self.method}


@one_thread()
def project(features: np.ndarray, *, seed: int = 0, max_points: int = MAX_TSNE_POINTS) -> Projection:
    """A 2-D map of ``features``: t-SNE up to ``max_points`` images, else PCA.

    Args:
        features: ``(n, d)`` bottleneck features.
        seed: seeds PCA and t-SNE (the same features give the same map).
        max_points: the most images t-SNE maps; beyond, the first two principal components.
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D array (images x dimensions), got shape {x.shape}")
    n = len(x)
    if n == 0:
        return Projection([], [], "pca")
    if n < 3:  # too few to fit anything; lay them out on a line
        return Projection([float(i) for i in range(n)], [0.0] * n, "pca")
    x = StandardScaler().fit_transform(x)
    components = min(PCA_DIM, n - 1, x.shape[1])
    reduced = PCA(n_components=components, svd_solver="randomized", random_state=seed).fit_transform(x)
    if n > max_points or n < 5:
        xy = reduced[:, :2] if reduced.shape[1] >= 2 else np.c_[reduced[:, 0], np.zeros(n)]
        return Projection(xy[:, 0].astype(float).tolist(), xy[:, 1].astype(float).tolist(), "pca")
    from sklearn.manifold import TSNE

    # perplexity must stay below the number of points; 30 (the default) for all but tiny sets
    tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", max_iter=TSNE_ITERATIONS,
                random_state=seed)
    xy = tsne.fit_transform(reduced)
    return Projection(xy[:, 0].astype(float).tolist(), xy[:, 1].astype(float).tolist(), "tsne")
