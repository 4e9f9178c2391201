"""The linear probe of the data checks: folds, out-of-fold probabilities, errors that say how to fix."""

import numpy as np
import pytest

from tlcore.checks.probe import out_of_fold_probabilities, reduce_features, resolve_folds
from tlcore.errors import TLCoreError


def _clusters(per_class=(30, 30, 30), dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (len(per_class), dim))
    labels = np.concatenate([np.full(n, k) for k, n in enumerate(per_class)])
    return (centers[labels] + rng.normal(0, 1, (len(labels), dim))).astype(np.float32), labels


def test_automatic_folds_follow_the_smallest_class():
    assert resolve_folds(np.r_[np.zeros(50), np.ones(50)]) == 5
    assert resolve_folds(np.r_[np.zeros(50), np.ones(3)]) == 3
    assert resolve_folds(np.r_[np.zeros(50), np.ones(2)]) == 2


def test_too_many_folds_for_a_class_says_which_class_and_how_to_fix():
    labels = np.r_[np.zeros(20), np.ones(3)].astype(int)
    with pytest.raises(TLCoreError) as err:
        resolve_folds(labels, 5, ["cats", "dogs"])
    assert err.value.problem == "Class 'dogs' has 3 images, too few for 5-fold checking."
    assert err.value.fix == "add images to 'dogs', or check with --folds 3 (at least 2)"


def test_a_class_of_one_image_cannot_be_checked():
    with pytest.raises(TLCoreError, match="'dogs' has 1 image"):
        resolve_folds(np.r_[np.zeros(20), np.ones(1)].astype(int), None, ["cats", "dogs"])


def test_out_of_fold_probabilities_predict_unseen_images_of_separable_classes():
    x, labels = _clusters()
    probs = out_of_fold_probabilities(x, labels, None, 0, classes=["a", "b", "c"])
    assert probs.shape == (90, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert np.mean(probs.argmax(axis=1) == labels) > 0.95
    np.testing.assert_array_equal(probs, out_of_fold_probabilities(x, labels, None, 0, classes=["a", "b", "c"]))


def test_a_class_without_images_gets_a_zero_column():
    x, labels = _clusters((20, 20))
    probs = out_of_fold_probabilities(x, labels, 2, 0, classes=["a", "b", "empty"])
    assert probs.shape == (40, 3) and np.all(probs[:, 2] == 0)


def test_reduction_keeps_at_most_128_components_and_fewer_than_images():
    x, _ = _clusters((100, 100), dim=300)
    assert reduce_features(x).shape == (200, 128)
    assert reduce_features(x[:50]).shape == (50, 49)
    np.testing.assert_array_equal(reduce_features(x), reduce_features(x.copy()))
