"""95 % intervals: they cover the truth about 95 % of the time, and say something at 0 % and 100 %."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.trust.intervals import metric_intervals, proportion_interval, wilson_interval, with_interval


@pytest.mark.slow  # 4,000 bootstraps: about 15 s
@pytest.mark.parametrize("accuracy, n", [(0.85, 150), (0.95, 150), (0.7, 40), (0.9, 1500)])
def test_the_interval_covers_the_true_accuracy_about_95_percent_of_the_time(accuracy, n):
    """Simulated evaluations with a known accuracy: the share of intervals holding it is 95 %
    within sampling error (1,000 trials: the standard error of a 95 % share is 0.7 points, so
    3 of them either side; with 40 images the count's discreteness adds about a point more)."""
    rng = np.random.default_rng(20261201)
    trials = 1000
    covered = 0
    for trial in range(trials):
        lo, hi = proportion_interval(rng.random(n) < accuracy, seed=trial)
        covered += lo <= accuracy <= hi
    share = covered / trials
    print(f"accuracy {accuracy}, {n} images: coverage {share:.3f}")
    assert 0.925 <= share <= 0.98, share


def test_a_perfect_score_on_few_images_still_gets_a_real_interval():
    lo, hi = proportion_interval(np.ones(20, bool))
    assert hi == 1.0 and 0.75 < lo < 0.9  # a bootstrap would say [1, 1]
    assert proportion_interval(np.zeros(3, bool)) == wilson_interval(0, 3)


def test_every_figure_gets_an_interval_around_it():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    pred = np.where(rng.random(300) < 0.8, y, 1 - y)
    out = metric_intervals(y, pred, 2)
    accuracy = float((pred == y).mean())
    assert out["accuracy_ci"][0] < accuracy < out["accuracy_ci"][1]
    sensitivity = float((pred[y == 1] == 1).mean())
    assert out["sensitivity_ci"][0] < sensitivity < out["sensitivity_ci"][1]
    assert out["sensitivity_ci"] == out["recall_ci"][1] and out["specificity_ci"] == out["recall_ci"][0]
    assert out["accuracy_ci"][1] - out["accuracy_ci"][0] < out["sensitivity_ci"][1] - out["sensitivity_ci"][0]


def test_intervals_read_as_the_pages_show_them():
    assert with_interval(0.954, [0.922, 0.979]) == "95.4 % (92.2–97.9)"
    assert with_interval(0.954) == "95.4 %" and with_interval(None) == "–"
