"""The Train page's boxes (ui.fmt): speeds and sizes in words that fit a metric box."""

from __future__ import annotations

from test_progress import T0, feature_pass_events, head_on_cache_events
from tlcore.config import TrainConfig
from tlcore.progress import progress_of
from ui.fmt import format_params, speed_metric


def test_the_feature_pass_box_shows_images_per_second():
    events = feature_pass_events(images=1600, per_batch=32, batches_done=10, seconds_per_batch=0.2)
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"])
    label, value, _ = speed_metric(progress)
    assert (label, value) == ("Images per second", "160/s")


def test_head_on_cached_features_shows_time_per_epoch_not_a_giant_images_per_second():
    events = head_on_cache_events(epochs_done=3)
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"] + 0.1)
    label, value, help_text = speed_metric(progress)
    assert label == "Time per epoch" and value == "0.2 s"
    assert "saved" in help_text
    # Once finished, the box still describes that stage the same way.
    events.append({"t": events[-1]["t"] + 1, "type": "status", "status": "finished"})
    assert speed_metric(progress_of(events, TrainConfig()))[0] == "Time per epoch"


def test_training_on_images_shows_a_short_images_per_second():
    events = [{"t": T0, "type": "stage", "stage": "head", "message": "Training the classifier head on images"},
              {"t": T0 + 2, "type": "batch", "stage": "head", "epoch": 1, "epochs": 4, "batch": 1, "batches": 2,
               "images_per_s": 7876.0}]
    progress = progress_of(events, TrainConfig(), now=T0 + 2)
    label, value, _ = speed_metric(progress)
    assert label == "Images per second" and value == "7.9k/s" and len(value) <= 8


def test_parameter_counts_fit_a_metric_box():
    assert format_params(2_257_984) == "2.3 M"
    assert format_params(410_000) == "410 k"
    assert format_params(12_345) == "12,345"
    assert format_params(None) == "—" and format_params("many") == "—"
