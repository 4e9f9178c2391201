"""The learning curve: a hard class that keeps improving asks for more images, an easy one has levelled off."""

import json

import numpy as np
import pytest

from tlcore.checks.curve import learning_curve

CLASSES = ["daisy", "roses"]


def _hard_and_easy(seed=0, dim=60):
    """'daisy': many images, far from the rest. 'roses': 60 images, spread along many noisy
    dimensions, only learnable with plenty of examples."""
    rng = np.random.default_rng(seed)

    def sample(n_daisy, n_roses):
        daisy = rng.normal(0, 1, (n_daisy, dim))
        daisy[:, 0] += 8
        roses = rng.normal(0, 1, (n_roses, dim)) + 0.35  # a small offset on every dimension
        return np.vstack([daisy, roses]).astype(np.float32), np.r_[np.zeros(n_daisy, int), np.ones(n_roses, int)]

    train_x, train_y = sample(300, 60)
    val_x, val_y = sample(200, 200)
    # half of the daisies sit among the roses: the probe must learn 'roses' to keep them apart
    val_x[:100, 0] -= 8
    train_x[:150, 0] -= 8
    return train_x, train_y, val_x, val_y


def test_a_hard_class_asks_for_more_images_and_an_easy_one_has_levelled_off():
    curve = learning_curve(*_hard_and_easy(), CLASSES, seed=0)
    daisy, roses = curve.classes
    assert roses.verdict == "more", roses
    assert roses.message.startswith("More images of 'roses' would likely help: from 50 % to 100 % of its images")
    assert roses.mean[-1] > roses.mean[0] + 0.1
    assert daisy.verdict == "levelled", daisy
    assert daisy.message.startswith("'daisy' has levelled off")
    assert roses.x == [6, 12, 21, 30, 45, 60] and curve.x[-1] == 360
    assert len(curve.mean) == len(curve.std) == 6 and curve.std[-1] == 0.0  # one full set only
    saved = json.loads(json.dumps(curve.to_dict()))
    assert saved["classes"][1]["verdict"] == "more" and saved["fractions"][-1] == 1.0


def test_an_easy_problem_levels_off_everywhere():
    rng = np.random.default_rng(1)
    centers = np.array([[6.0] * 20, [-6.0] * 20])
    ty, vy = np.repeat([0, 1], 80), np.repeat([0, 1], 40)
    curve = learning_curve(centers[ty] + rng.normal(0, 1, (160, 20)), ty,
                           centers[vy] + rng.normal(0, 1, (80, 20)), vy, CLASSES)
    assert [c.verdict for c in curve.classes] == ["levelled", "levelled"]
    assert curve.verdict == "levelled" and curve.mean[-1] == 1.0


def test_a_class_without_validation_images_has_no_verdict_and_bad_input_is_refused():
    train_x, train_y, val_x, val_y = _hard_and_easy()
    curve = learning_curve(train_x, train_y, val_x[val_y == 0], val_y[val_y == 0], CLASSES, repeats=1)
    assert curve.classes[1].verdict is None and "no validation images" in curve.classes[1].message
    with pytest.raises(ValueError, match="fractions"):
        learning_curve(train_x, train_y, val_x, val_y, CLASSES, fractions=(0.5, 1.5))
