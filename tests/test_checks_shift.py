"""Shift between splits: a shifted split is flagged well above the control, an iid one is not."""

import json

import numpy as np

from tlcore.checks.shift import split_shift

CLASSES = ["NORMAL", "PNEUMONIA"]


def _dataset(n_train=80, n_test=40, shift=0.0, seed=0, dim=200):
    """Two classes; test images of NORMAL offset by ``shift`` along a random direction."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (2, dim))
    direction = rng.normal(0, 1, dim) / np.sqrt(dim)
    labels = np.r_[np.repeat([0, 1], n_train), np.repeat([0, 1], n_test)]
    splits = np.array(["train"] * (2 * n_train) + ["test"] * (2 * n_test))
    x = centers[labels] + rng.normal(0, 1, (len(labels), dim))
    shifted = (splits == "test") & (labels == 0)
    x[shifted] += shift * direction * np.sqrt(dim)
    return x.astype(np.float32), labels, splits


def test_a_shifted_split_is_flagged_far_above_the_control_and_an_iid_one_is_not():
    x, labels, splits = _dataset(shift=1.0)
    normal, pneumonia = split_shift(x, labels, splits, CLASSES)
    assert (normal.class_name, normal.split, pneumonia.class_name) == ("NORMAL", "test", "PNEUMONIA")
    assert normal.flagged and normal.level == "warning"
    assert normal.auc > 0.9 and normal.low > normal.control_high
    assert 0.3 < normal.control_auc < 0.7
    assert normal.low <= normal.auc <= normal.high
    assert normal.message.startswith("Your test NORMAL images look different from your training ones (AUC ")
    assert "two random halves of training" in normal.message and "Expect test accuracy below validation." in normal.message
    shifted = set(np.flatnonzero((splits == "test") & (labels == 0)))
    assert len(normal.examples) == 8 and set(normal.examples) <= shifted
    assert not pneumonia.flagged and pneumonia.level in ("ok", "notice")
    assert pneumonia.message.startswith("Your test PNEUMONIA images ")
    assert (normal.n_train, normal.n_split) == (80, 40)


def test_unbalanced_sides_do_not_fake_a_shift():
    for seed in range(3):
        x, labels, splits = _dataset(n_train=200, n_test=6, seed=seed)
        for row in split_shift(x, labels, splits, CLASSES, seed=seed):
            assert not row.flagged, row.message


def test_splits_with_too_few_images_of_a_class_get_no_row_and_rows_are_json():
    x, labels, splits = _dataset(n_train=30, n_test=4)
    assert split_shift(x, labels, splits, CLASSES) == []
    x, labels, splits = _dataset(n_train=8, n_test=6)
    rows = split_shift(x, labels, splits, CLASSES)
    assert len(rows) == 2 and rows[0].control_auc is None  # 8 training images cannot be halved
    saved = json.loads(json.dumps([r.to_dict() for r in rows]))
    assert saved[0]["class_name"] == "NORMAL" and saved[0]["control_low"] is None
    assert set(saved[0]) >= {"auc", "low", "high", "control_auc", "flagged", "level", "message", "examples"}


def test_the_interval_of_a_very_large_split_needs_no_huge_matrix():
    from tlcore.checks.shift import MAX_BOOTSTRAP_SIDE, _auc_with_interval

    rng = np.random.default_rng(0)
    n = 4 * MAX_BOOTSTRAP_SIDE
    side = np.r_[np.zeros(n, int), np.ones(n, int)]
    scores = np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]  # a true AUC of about 0.76
    auc, low, high = _auc_with_interval(scores, side, seed=0)
    assert low < auc < high and 0.72 < low and high < 0.80
