import numpy as np
import pytest

import keras

from tlcore.config import TrainConfig
from tlcore.model import build_classifier, count_params, model_summary, unfreeze_top


@pytest.fixture(scope="module")
def parts(random_weights):
    return build_classifier(TrainConfig(weights=random_weights, image_size=64, augment=True), 3)


def test_model_takes_raw_uint8_of_any_size_and_returns_probabilities(parts):
    for shape in [(2, 64, 64, 3), (1, 100, 37, 3)]:
        probs = parts.model.predict(np.random.randint(0, 255, shape, dtype="uint8"), verbose=0)
        assert probs.shape == (shape[0], 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_base_frozen_and_bn_stays_frozen_when_fine_tuning(parts):
    trainable, frozen = count_params(parts.model)
    assert trainable == count_params(parts.head)[0] and frozen > trainable
    unfrozen = unfreeze_top(parts.base, 20)
    assert unfrozen > 0
    assert all(not l.trainable for l in parts.base.layers if isinstance(l, keras.layers.BatchNormalization))
    assert count_params(parts.model)[0] > trainable
    parts.base.trainable = False


def test_augmentation_only_in_the_training_model(parts):
    x = np.random.randint(0, 255, (1, 64, 64, 3), dtype="uint8")
    names = [l.name for l in parts.train_model.layers]
    assert "augmentation" in names and "augmentation" not in [l.name for l in parts.model.layers]
    a = parts.model(x, training=False)
    b = parts.model(x, training=False)
    np.testing.assert_allclose(a, b)


def test_saved_model_loads_with_plain_keras_in_safe_mode(parts, tmp_path):
    parts.model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.randint(0, 255, (2, 80, 80, 3), dtype="uint8")
    np.testing.assert_allclose(again.predict(x, verbose=0), parts.model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.slow
def test_model_summary_reports_params_and_time():
    summary = model_summary(TrainConfig(weights="imagenet", image_size=64, mode="fine-tune"), 2, 100)
    assert summary["fine_tune_trainable_params"] > summary["head_trainable_params"] > 0
    assert summary["seconds_per_epoch"] > 0 and summary["first_pass_seconds"] > 0
    assert summary["fine_tune_seconds_per_epoch"] > 0
    assert summary["fine_tune_layers_unfrozen"] == 30  # the number the user picked, everywhere
    scratch = model_summary(TrainConfig(weights="none", image_size=64, mode="fine-tune"), 2, 100)
    assert scratch["from_scratch"] and "fine_tune_seconds_per_epoch" not in scratch
    assert scratch["seconds_per_epoch"] > summary["seconds_per_epoch"]  # the whole network trains


@pytest.mark.slow
def test_the_fine_tuning_estimate_is_near_the_real_epoch_time(tmp_path, random_weights):
    """The Model page's estimate once said 35 s where epochs took 1.3-3.3 s."""
    from PIL import Image

    from tlcore.train import train
    from tlcore.workspace import Workspace

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(100):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "data" / label / f"{i}.png")
    config = TrainConfig(data=str(tmp_path / "data"), weights=random_weights, image_size=96, mode="fine-tune",
                         epochs=2, fine_tune_epochs=3, early_stopping=False)
    events = []
    train(config, workspace=Workspace(tmp_path / "ws"), on_event=events.append)
    real = np.median([e["seconds"] for e in events if e["type"] == "epoch" and e["stage"] == "fine-tune"])
    estimate = model_summary(config, 2, 160)["fine_tune_seconds_per_epoch"]
    print(f"fine-tuning epoch: estimated {estimate:.2f} s, measured {real:.2f} s")
    assert real / 4 < estimate < real * 4
