import numpy as np
import pytest

from tlcore.config import TrainConfig, load_config
from tlcore.runs import RunFolder
from tlcore.train import class_weights, train
from tlcore.workspace import Workspace


@pytest.fixture
def fast(random_weights):
    """Small, quick settings on a frozen (randomly initialised) MobileNetV2."""
    return dict(weights=random_weights, image_size=48, epochs=3, batch_size=8)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def test_feature_extraction_run_writes_a_complete_run_folder(tiny_dataset, ws, fast):
    run = RunFolder(ws.runs_dir / "fe")
    result = train(TrainConfig(data=str(tiny_dataset), **fast), run.path, workspace=ws)
    assert result.status == "finished"
    for path in (run.config_path, run.events_path, run.model_path, run.evaluation_path, run.labels_path,
                 run.data_report_path, run.head_checkpoint_path):
        assert path.is_file(), path.name
    events = run.events()
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses[0] == "running" and statuses[-1] == "finished"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == 3
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_s"):
        assert key in epochs[-1]
    evaluation = run.evaluation()
    assert set(evaluation) >= {"accuracy", "confusion_matrix", "classes", "report", "misclassified"}
    assert run.labels() == evaluation["classes"]
    assert sum(map(sum, evaluation["confusion_matrix"])) == evaluation["num_images"]


def test_training_on_separable_generated_images_beats_chance(separable_dataset, ws, random_weights):
    """Three classes told apart by colour and pattern (chance: 1/3 on 18 validation images):
    a head on early features of a random MobileNetV2 learns them in seconds."""
    config = TrainConfig(data=str(separable_dataset), weights=random_weights, layer="block_2_add", image_size=32,
                         epochs=30, batch_size=8, learning_rate=1e-2)
    result = train(config, workspace=ws)
    assert result.status == "finished" and result.evaluation["split"] == "val"
    assert result.evaluation["num_images"] == 18
    assert result.evaluation["accuracy"] >= 2 / 3, result.evaluation["accuracy"]


@pytest.mark.slow
def test_feature_cache_is_hit_on_the_second_run(tiny_dataset, ws, fast):
    first = train(TrainConfig(data=str(tiny_dataset), **fast), workspace=ws)
    assert first.feature_cache_misses == 2  # train and val features computed once
    second = train(TrainConfig(data=str(tiny_dataset), **dict(fast, learning_rate=3e-3, dropout=0.5)), workspace=ws)
    assert second.feature_cache_hits >= 2 and second.feature_cache_misses == 0
    # another cut layer is another extractor: no stale features
    third = train(TrainConfig(data=str(tiny_dataset), layer="block_16_project", **fast), workspace=ws)
    assert third.feature_cache_misses >= 2


@pytest.mark.slow
def test_fine_tuning_trains_the_head_then_the_top_of_the_base(tiny_dataset, ws, fast):
    events = []
    config = TrainConfig(data=str(tiny_dataset), mode="fine-tune", fine_tune_epochs=2, fine_tune_layers=10, **fast)
    result = train(config, ws.runs_dir / "ft", workspace=ws, on_event=events.append)
    stages = [e["stage"] for e in events if e["type"] == "epoch"]
    assert stages == ["head"] * 3 + ["fine-tune"] * 2
    ft = next(e for e in events if e["type"] == "stage" and e["stage"] == "fine-tune")
    model_ready = next(e for e in events if e.get("message") == "Model ready")
    assert ft["trainable_params"] > model_ready["trainable_params"]
    assert RunFolder(ws.runs_dir / "ft").checkpoint_path.is_file()
    assert result.status == "finished"


@pytest.mark.slow
def test_augmentation_with_cached_views_and_on_images(tiny_dataset, ws, fast):
    views = train(TrainConfig(data=str(tiny_dataset), augment=True, feature_views=2, **fast), workspace=ws)
    assert views.feature_cache_misses >= 4  # train x 3 views + val
    slow = train(TrainConfig(data=str(tiny_dataset), augment=True, feature_views=0, epochs=1,
                             **{k: v for k, v in fast.items() if k != "epochs"}), workspace=ws)
    assert slow.feature_cache_misses == 0 and slow.status == "finished"


@pytest.mark.slow
def test_cancel_stops_at_the_next_batch_and_keeps_a_model(tiny_dataset, ws, fast):
    seen = []

    def on_event(event):
        seen.append(event)

    stop_after = {"n": 0}

    def should_stop():
        stop_after["n"] += 1
        return stop_after["n"] > 3

    run = RunFolder(ws.runs_dir / "cancelled")
    config = TrainConfig(data=str(tiny_dataset), feature_cache=False, **dict(fast, epochs=50))
    result = train(config, run.path, workspace=ws, on_event=on_event, should_stop=should_stop)
    assert result.status == "cancelled"
    assert len([e for e in seen if e["type"] == "epoch"]) < 50
    assert run.model_path.is_file() and run.evaluation_path.is_file()
    assert run.events()[-1]["status"] == "cancelled"


@pytest.mark.slow
def test_replay_from_config_json_gives_the_same_run(tiny_dataset, ws, fast):
    first = train(TrainConfig(data=str(tiny_dataset), **fast), ws.runs_dir / "a", workspace=ws)
    replay = train(load_config(RunFolder(ws.runs_dir / "a").config_path), ws.runs_dir / "b", workspace=ws)
    assert replay.evaluation["confusion_matrix"] == first.evaluation["confusion_matrix"]


def test_class_weights_balance_only_imbalanced_sets():
    assert class_weights(np.array([0, 1] * 10), 2, "auto") is None
    weights = class_weights(np.array([0] * 30 + [1] * 10), 2, "auto")
    assert weights[1] == pytest.approx(3 * weights[0])
    assert class_weights(np.array([0] * 30 + [1] * 10), 2, "none") is None


def test_no_data_is_a_plain_error(ws, fast):
    from tlcore.errors import TLCoreError

    with pytest.raises(TLCoreError, match="No dataset"):
        train(TrainConfig(**fast), workspace=ws)


@pytest.mark.real_data
@pytest.mark.slow
def test_defaults_learn_sample_data_well_above_chance(shapes_dir, real_keras_home, ws):
    """Default settings (MobileNetV2, ImageNet weights, feature extraction) on sample_data."""
    result = train(TrainConfig(data=str(shapes_dir)), ws.runs_dir / "defaults", workspace=ws)
    print("sample_data val accuracy with defaults:", result.evaluation["accuracy"])
    assert result.evaluation["accuracy"] >= 0.9  # chance is 1/3


@pytest.mark.real_data
@pytest.mark.slow
def test_both_modes_learn_with_real_weights_at_small_size(shapes_dir, real_keras_home, ws):
    for mode in ("feature-extraction", "fine-tune"):
        config = TrainConfig(data=str(shapes_dir), image_size=96, epochs=8, mode=mode, fine_tune_epochs=1)
        result = train(config, workspace=ws)
        assert result.evaluation["accuracy"] >= 0.8, (mode, result.evaluation["accuracy"])


def test_a_full_disk_fails_the_run_with_a_plain_message_and_no_torn_files(tiny_dataset, ws, monkeypatch, fast):
    import errno

    from tlcore.errors import TLCoreError
    import keras

    run = RunFolder(ws.runs_dir / "diskfull")

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", full_disk)
    with pytest.raises(TLCoreError) as err:
        train(TrainConfig(data=str(tiny_dataset), **fast), run.path, workspace=ws)
    assert "No space left" in str(err.value) and "free some disk space" in str(err.value)
    assert not run.model_path.exists()
    assert run.config_dict()["data"] == str(tiny_dataset)  # earlier files intact
    assert not list(run.path.glob(".*tmp*"))


def test_out_of_memory_suggests_a_smaller_batch(tiny_dataset, ws, monkeypatch, fast):
    from tlcore.errors import TLCoreError
    import keras

    class ResourceExhaustedError(Exception):
        pass

    def oom(self, *args, **kwargs):
        raise ResourceExhaustedError("OOM when allocating tensor with shape[64,112,112,96]")

    monkeypatch.setattr(keras.Model, "fit", oom)
    with pytest.raises(TLCoreError) as err:
        train(TrainConfig(data=str(tiny_dataset), **dict(fast, batch_size=64)), workspace=ws)
    assert "batch size 64" in str(err.value) and "try 32" in str(err.value)


@pytest.mark.slow
def test_fine_tuning_on_cached_bottom_activations_matches_the_saved_model(tiny_dataset, ws, fast):
    """The fast fine-tuning path trains the real model's weights: the saved model.keras,
    run on the images, must score exactly what the run reported."""
    from tlcore.data import load_dataset
    from tlcore.predict import load_predictor

    config = TrainConfig(data=str(tiny_dataset), mode="fine-tune", fine_tune_epochs=2, fine_tune_layers=12,
                         fine_tune_learning_rate=1e-3, **fast)
    run = ws.runs_dir / "ft-cached"
    result = train(config, run, workspace=ws)
    assert result.feature_cache_misses >= 4  # head features + boundary activations, train and val
    ds = load_dataset(str(tiny_dataset), workspace=ws)
    val = ds.split("val")
    probs = load_predictor(run).predict_proba([s.path for s in val])
    reported = np.array(result.evaluation["confusion_matrix"])
    from sklearn.metrics import confusion_matrix

    again = confusion_matrix([s.label for s in val], probs.argmax(1), labels=range(len(ds.classes)))
    np.testing.assert_array_equal(again, reported)
    second = train(config, workspace=ws)
    assert second.feature_cache_misses == 0  # both caches hit


def test_fine_tuning_keeps_the_head_weights_unless_it_beats_them(tmp_path):
    import keras

    from tlcore.callbacks import BestWeights

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    start = [w.copy() for w in model.get_weights()]
    moved = [w + 1.0 for w in start]
    for val_loss, expected in ((0.9, start), (0.3, moved)):
        model.set_weights(start)
        keeper = BestWeights(model, "val_loss", tmp_path / "ckpt.weights.h5", baseline=0.5)
        keeper.on_train_begin()
        assert (tmp_path / "ckpt.weights.h5").is_file()  # a checkpoint exists from the start
        model.set_weights(moved)
        keeper.on_epoch_end(0, {"val_loss": val_loss})
        keeper.on_train_end()
        for got, want in zip(model.get_weights(), expected):
            np.testing.assert_allclose(got, want)


@pytest.mark.slow
def test_a_random_start_trains_the_whole_network_from_scratch(tiny_dataset, ws):
    """weights="none" is the honest no-transfer baseline: every layer learns, BN included."""
    from tlcore.model import build_classifier

    config = TrainConfig(data=str(tiny_dataset), weights="none", image_size=48, epochs=2, batch_size=8)
    events = []
    result = train(config, workspace=ws, on_event=events.append)
    ready = next(e for e in events if e.get("message") == "Model ready")
    assert ready["from_scratch"] is True
    assert ready["trainable_params"] > 0.9 * (ready["trainable_params"] + ready["frozen_params"])
    assert result.evaluation["from_scratch"] is True and "fine_tune" not in result.evaluation
    assert result.feature_cache_misses == 0  # random features are not cached: the base changes
    untrained = build_classifier(config, 3).model
    changed = [not np.allclose(a, b) for a, b in zip(untrained.get_weights(), result.model.get_weights())]
    assert sum(changed) > 0.5 * len(changed)  # the backbone's weights moved, not only the head's


def test_fine_tune_verdict_keeps_only_what_is_at_least_as_good():
    from tlcore.train import fine_tune_verdict

    keep, text = fine_tune_verdict({"accuracy": 0.9, "loss": 0.3}, {"accuracy": 0.95, "loss": 0.4}, 1000)
    assert keep and "raised validation accuracy from 90.0% to 95.0%" in text
    keep, text = fine_tune_verdict({"accuracy": 0.9, "loss": 0.3}, {"accuracy": 0.9, "loss": 0.2}, 1000)
    assert keep and "lower loss" in text
    keep, text = fine_tune_verdict({"accuracy": 0.9, "loss": 0.3}, {"accuracy": 0.85, "loss": 0.2}, 60)
    assert not keep and "the frozen model was kept" in text and "chance" in text


def _uncalibrated_weights(run_dir) -> list:
    """Every weight of a run's saved model, with the temperature folded into its last layer undone."""
    from tlcore.predict import load_predictor

    model = load_predictor(run_dir).model
    temperature = RunFolder(run_dir).trust()["temperature"]
    kernel, bias = model.get_layer("head").get_layer("predictions").get_weights()
    return [w for layer in model.layers if layer.name != "head" for w in layer.get_weights()] + \
        [kernel * temperature, bias * temperature]


@pytest.mark.parametrize("kept", [True, False])
@pytest.mark.slow
def test_a_fine_tuned_model_never_equals_the_frozen_one_silently(tiny_dataset, ws, fast, monkeypatch, kept):
    """The saved model is the fine-tuned one exactly when the run says so."""
    from tlcore.predict import load_predictor
    from tlcore.train import fine_tuning

    frozen_run, tuned_run = ws.runs_dir / "frozen", ws.runs_dir / f"tuned-{kept}"
    train(TrainConfig(data=str(tiny_dataset), **fast), frozen_run, workspace=ws)
    real = fine_tuning.fine_tune_verdict
    monkeypatch.setattr(fine_tuning, "fine_tune_verdict", lambda *a: (kept, real(*a)[1]))
    result = train(TrainConfig(data=str(tiny_dataset), mode="fine-tune", fine_tune_epochs=2,
                               fine_tune_learning_rate=1e-3, **fast), tuned_run, workspace=ws)
    images = [str(p) for p in sorted(tiny_dataset.rglob("*.png"))]
    difference = np.abs(load_predictor(frozen_run).predict_proba(images)
                        - load_predictor(tuned_run).predict_proba(images)).max()
    # Calibration can flatten near-chance probabilities of this tiny set: the weights tell.
    base_change = max(float(np.abs(a - b).max()) for a, b in zip(
        _uncalibrated_weights(frozen_run), _uncalibrated_weights(tuned_run)))
    report = RunFolder(tuned_run).evaluation()["fine_tune"]
    assert report == result.evaluation["fine_tune"]
    events = RunFolder(tuned_run).events()
    assert any(e["type"] == "fine_tune_result" and e["kept"] == report["kept"] for e in events)
    if kept:
        assert report["kept"] == "fine-tuned" and base_change > 1e-4
    else:
        assert report["kept"] == "frozen" and difference < 1e-6 and base_change < 1e-5
        assert "the frozen model was kept" in report["message"]


def test_unfreeze_top_counts_only_layers_with_weights(random_weights):
    import keras

    from tlcore.model import build_classifier, max_fine_tune_layers, unfreeze_top

    parts = build_classifier(TrainConfig(weights=random_weights, image_size=48), 3)
    assert unfreeze_top(parts.base, 10) == 10
    learning = [l for l in parts.base.layers if l.trainable and l.weights]
    assert len(learning) == 10 and not any(isinstance(l, keras.layers.BatchNormalization) for l in learning)
    assert unfreeze_top(parts.base, 10_000) == max_fine_tune_layers(parts.base)


def test_fine_tuning_epochs_cycle_through_the_cached_augmented_views():
    """Epoch k trains on view k mod (views + 1), each image once: Keras must call on_epoch_end."""
    import keras

    from tlcore.train.feeds import view_cycle

    seen = []

    class Record(keras.layers.Layer):
        def call(self, x):
            seen.append(float(np.asarray(x).mean()))
            return x

    views = [np.full((8, 2), float(v), dtype="float32") for v in range(3)]
    labels = np.eye(2, dtype="float32")[[0, 1] * 4]
    model = keras.Sequential([keras.Input((2,)), Record(), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", run_eagerly=True)
    model.fit(view_cycle(views, labels, 4, seed=0), epochs=5, verbose=0)
    per_epoch = [seen[i * 2] for i in range(5)]  # two batches an epoch
    assert per_epoch == [0.0, 1.0, 2.0, 0.0, 1.0]
