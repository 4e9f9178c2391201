"""Suspected label errors: planted flips are found, and the result is JSON-able."""

import json

import numpy as np

from tlcore.checks.labels import find_label_suspects

CLASSES = ["ants", "bees", "wasps"]


def _flipped_clusters(per_class=60, dim=128, flips=9, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (len(CLASSES), dim))
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    x = np.maximum(centers[labels] * 1.5 + rng.normal(0, 1, (len(labels), dim)), 0).astype(np.float32)
    flipped = rng.choice(len(labels), flips, replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, len(CLASSES), flips)) % len(CLASSES)
    return x, labels, noisy, flipped


def test_planted_label_flips_are_ranked_first_and_flagged_with_the_true_class():
    x, truth, noisy, flipped = _flipped_clusters()
    check = find_label_suspects(x, noisy, CLASSES, seed=0)
    k = len(flipped)
    assert set(flipped) <= set(check.ranked[: 2 * k])
    assert len(set(check.ranked[:k]) & set(flipped)) >= k - 2
    flagged = {s.index: s for s in check.suspects}
    assert len(set(flagged) & set(flipped)) >= k - 2
    assert len(set(flagged) - set(flipped)) <= 2  # few false alarms on clean separable data
    for index in set(flagged) & set(flipped):
        assert flagged[index].suggested == CLASSES[truth[index]] != flagged[index].given
        assert flagged[index].confidence > 0.5
    qualities = [s.quality for s in check.suspects]
    assert qualities == sorted(qualities)  # most likely wrong first
    assert check.num_flagged == len(check.suspects) and check.folds == 5
    assert 0.9 < check.oof_accuracy < 1.0


def test_to_dict_is_json_and_leaves_the_probabilities_out():
    x, _, noisy, _ = _flipped_clusters(per_class=20, flips=3)
    check = find_label_suspects(x, noisy, CLASSES, folds=3)
    saved = json.loads(json.dumps(check.to_dict()))
    assert set(saved) == {"suspects", "ranked", "num_flagged", "folds", "oof_accuracy"}
    assert sorted(saved["ranked"]) == list(range(60)) and saved["folds"] == 3
    assert check.pred_probs.shape == (60, 3)


def test_given_probabilities_are_used_instead_of_training():
    x, _, noisy, _ = _flipped_clusters(per_class=20, flips=3)
    probs = np.full((60, 3), 0.05)
    probs[np.arange(60), noisy] = 0.9
    probs[7] = [0.05, 0.05, 0.9] if noisy[7] != 2 else [0.9, 0.05, 0.05]
    check = find_label_suspects(x, noisy, CLASSES, pred_probs=probs)
    assert [s.index for s in check.suspects] == [7] and check.ranked[0] == 7
    assert check.oof_accuracy == 59 / 60


def test_a_class_without_images_is_never_suggested():
    x, _, noisy, _ = _flipped_clusters(per_class=20, flips=3)
    check = find_label_suspects(x, noisy, CLASSES + ["hornets"])
    assert all(s.suggested != "hornets" for s in check.suspects)
    assert check.pred_probs.shape == (60, 4)
