"""Temperature scaling: it keeps every decision and makes over-confident probabilities honest."""

from __future__ import annotations

import numpy as np

from tlcore.trust.calibration import (apply_temperature, cross_fitted, expected_calibration_error, fit_temperature,
                                      reliability)


def _overconfident(n: int, seed: int, scale: float = 3.0):
    """Probabilities of a model whose logits are ``scale`` times too large (so T should be near it)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 1.5
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in true])
    sharp = np.exp(logits * scale)
    return sharp / sharp.sum(axis=1, keepdims=True), y


def test_the_fitted_temperature_undoes_over_confidence_and_lowers_the_error_on_new_images():
    probs, y = _overconfident(3000, 0)
    temperature = fit_temperature(probs, y)
    assert 2.6 < temperature < 3.4
    new_probs, new_y = _overconfident(3000, 1)
    before = expected_calibration_error(new_probs, new_y)
    after = expected_calibration_error(apply_temperature(new_probs, temperature), new_y)
    assert after < 0.03 < before


def test_calibration_never_changes_a_decision():
    probs, _ = _overconfident(500, 2)
    assert np.array_equal(apply_temperature(probs, 2.5).argmax(axis=1), probs.argmax(axis=1))
    assert np.allclose(apply_temperature(probs, 1.0), probs, atol=1e-6)


def test_cross_fitting_does_not_flatter_and_the_diagram_adds_up():
    probs, y = _overconfident(400, 3)
    honest = expected_calibration_error(cross_fitted(probs, y), y)
    flattering = expected_calibration_error(apply_temperature(probs, fit_temperature(probs, y)), y)
    assert honest >= flattering - 0.01
    diagram = reliability(probs, y, bins=10)
    assert sum(b["count"] for b in diagram["bins"]) == 400 and len(diagram["bins"]) == 10
    full = [b for b in diagram["bins"] if b["count"]]
    assert all(b["lo"] <= b["confidence"] <= b["hi"] for b in full)
