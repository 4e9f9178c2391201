""""I don't know": limits learned from the training features flag far-away pictures, few ordinary ones."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.trust.settings import Trust
from tlcore.trust.unknown import MAX_PROTOTYPES, STRICTNESS, fit_unknown, nearest_similarity


def _clusters(n, seed, centres):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(centres), n)
    return np.abs(centres[y] + rng.normal(scale=0.6, size=(n, centres.shape[1]))), y


def test_far_pictures_are_unknown_and_few_ordinary_ones_are():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 64)) * 2
    train, y = _clusters(400, 1, centres)
    new, _ = _clusters(400, 2, centres)
    far = np.abs(rng.normal(size=(200, 64)) * 2)  # a third kind of picture
    prototypes, limits = fit_unknown(train, y, 2, "normal")
    trust = Trust(classes=["a", "b"], similarity_limit=limits["similarity_limit"])
    flagged = lambda x: trust.unknown_mask(np.full((len(x), 2), 0.5), nearest_similarity(x, prototypes))[0].mean()
    print(f"flagged: ordinary {flagged(new):.1%}, far {flagged(far):.1%}")
    assert flagged(new) < 0.06 and flagged(far) > 0.9


def test_stricter_levels_flag_more_and_prototypes_are_bounded():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(MAX_PROTOTYPES + 300, 16))
    y = rng.integers(0, 3, len(train))
    limits = {name: fit_unknown(train, y, 3, name)[1] for name in STRICTNESS}
    assert limits["off"]["similarity_limit"] is None and limits["off"]["confidence_limit"] is None
    assert limits["lenient"]["similarity_limit"] < limits["normal"]["similarity_limit"] < limits["strict"]["similarity_limit"]
    assert 1 / 3 < limits["lenient"]["confidence_limit"] < limits["strict"]["confidence_limit"] < 1
    prototypes, _ = fit_unknown(train, y, 3, "normal")
    assert prototypes.shape == (MAX_PROTOTYPES, 16) and np.allclose(np.linalg.norm(prototypes, axis=1), 1, atol=1e-5)


def test_a_decision_says_why_it_does_not_know():
    trust = Trust(classes=["ants", "bees"], threshold=0.3, rule="manual", similarity_limit=0.5, confidence_limit=0.6)
    probs = np.array([[0.9, 0.1], [0.45, 0.55], [0.65, 0.35], [0.2, 0.8]], np.float32)
    sims = np.array([0.9, 0.9, 0.9, 0.2], np.float32)
    d = trust.decide(probs, sims)
    assert d[0].label == "ants" and not d[0].unknown
    assert d[1].label == "bees" and d[1].probability == np.float32(0.55)  # beyond the band (24 %–44 %) around 30 %
    # the threshold, not the top class, decides, and 35 % is too near it to tell
    assert d[2].unknown and d[2].guess == "bees" and "too close to the cut-off 30%" in d[2].reason
    assert d[3].unknown and "unlike every training picture" in d[3].reason and d[3].guess == "bees"
    assert trust.unsure_band() == pytest.approx((0.24, 0.44))
    # at the default cut the band is "top probability below the limit"
    assert Trust(classes=["a", "b"], confidence_limit=0.6).unsure_band() == pytest.approx((0.4, 0.6))
    three = Trust(classes=["a", "b", "c"], confidence_limit=0.6).decide(np.array([[0.5, 0.3, 0.2]], np.float32))
    assert three[0].unknown and "unsure between a (50%) and b (30%)" in three[0].reason
