"""Outliers: an image unlike every other comes first and is flagged; typical ones are not."""

import json

import numpy as np
import pytest

from tlcore.checks.outliers import find_outliers


def _photos(n=300, dim=128, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (3, dim))
    labels = rng.integers(0, 3, n)
    return np.maximum(centers[labels] * 2 + rng.normal(0, 1, (n, dim)), 0).astype(np.float32), labels, rng


def test_an_image_unlike_all_others_is_the_first_flagged_outlier():
    x, labels, rng = _photos()
    x[42] = np.maximum(rng.normal(0, 3, x.shape[1]), 0)  # a banner among photos
    found = find_outliers(x, labels, top=10)
    assert found[0].index == 42 and found[0].is_outlier
    assert len(found) >= 10
    assert [o.score for o in found] == sorted(o.score for o in found)
    assert sum(o.is_outlier for o in found) <= 0.05 * len(x)
    assert json.loads(json.dumps(found[0].to_dict())) == {"index": 42, "score": found[0].score, "is_outlier": True}


def test_without_features_the_probabilities_are_scored():
    _, labels, _ = _photos(60)
    probs = np.full((60, 3), 0.02)
    probs[np.arange(60), labels] = 0.96
    probs[5] = 1 / 3  # the probe has no idea what this is
    found = find_outliers(None, labels, pred_probs=probs, top=3)
    assert found[0].index == 5


def test_too_few_images_have_no_outliers():
    assert find_outliers(np.ones((2, 8), np.float32)) == []


@pytest.mark.real_data
@pytest.mark.slow
def test_the_placeholder_banner_in_hymenoptera_is_among_the_top_outliers(hymenoptera_dir, real_keras_home):
    from checks_helpers import extract_features, hymenoptera_samples

    samples = hymenoptera_samples(hymenoptera_dir)
    found = find_outliers(extract_features(hymenoptera_dir, samples), np.array([s.label for s in samples]))
    top = [samples[o.index].path for o in found[:3]]
    assert any(path.endswith("train/ants/imageNotFound.gif") for path in top), top
    banner = next(o for o in found if samples[o.index].path.endswith("imageNotFound.gif"))
    assert banner.is_outlier
