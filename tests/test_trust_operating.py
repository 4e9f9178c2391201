"""The two-class operating point: each rule reaches what it promises on the pictures it was chosen on."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.errors import TLCoreError
from tlcore.trust.operating import choose_threshold, curves, figures_at


def _scores(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(rng.normal(0.35 + 0.3 * y, 0.18), 0, 1).astype(np.float32)


@pytest.mark.parametrize("target", [0.8, 0.95, 0.99])
def test_a_target_sensitivity_or_specificity_is_reached_with_no_more_false_alarms_than_needed(target):
    y, p = _scores()
    t = choose_threshold(y, p, "sensitivity", target)
    at = figures_at(y, p, t, ["NORMAL", "PNEUMONIA"])
    assert at["sensitivity"] >= target
    # one step up the threshold (the next positive) would miss the target
    higher = np.sort(p[(y == 1) & (p >= t)])
    assert figures_at(y, p, float(higher[0]) + 1e-6, ["a", "b"])["sensitivity"] < target
    t = choose_threshold(y, p, "specificity", target)
    assert figures_at(y, p, t, ["a", "b"])["specificity"] >= target


def test_thresholds_sit_between_images_so_no_format_rounds_a_decision_differently():
    y, p = _scores()
    for rule in ("balanced", "sensitivity", "specificity"):
        t = choose_threshold(y, p, rule, 0.9)
        assert np.min(np.abs(p - t)) > 0


def test_the_balanced_point_beats_the_default_on_shifted_scores_and_curves_have_areas():
    y, p = _scores()
    p = np.clip(p - 0.15, 0, 1)  # every score low: 0.5 calls few positives
    t = choose_threshold(y, p, "balanced")
    balanced, default = figures_at(y, p, t, ["a", "b"]), figures_at(y, p, 0.5, ["a", "b"])
    assert balanced["sensitivity"] + balanced["specificity"] > default["sensitivity"] + default["specificity"]
    c = curves(y, p)
    assert 0.8 < c["roc"]["auc"] < 1 and 0.7 < c["pr"]["auc"] < 1
    assert figures_at(y, p, 0.5, ["a", "b"])["confusion_matrix"][1][1] == int(((p >= 0.5) & (y == 1)).sum())


def test_a_threshold_cannot_be_chosen_on_one_class():
    with pytest.raises(TLCoreError, match="only one of the two classes"):
        choose_threshold(np.ones(10, int), np.linspace(0, 1, 10), "sensitivity")
    with pytest.raises(TLCoreError, match="between 0 and 1"):
        choose_threshold(np.ones(10, int), np.linspace(0, 1, 10), "manual", value=1.5)
