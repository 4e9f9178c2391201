"""What the Train, Runs and Predict pages show, from ``ui_state``'s progress maths and charts.

The event streams below are written in the format of docs/ARCHITECTURE.md, the way
tlcore.train emits them: the "features" stage starts before the feature pass, whose batches
carry ``images_done``/``images_total``; the "head" stage follows.
"""

from __future__ import annotations

import pytest

import ui_state as ui
from tlcore.config import TrainConfig

T0 = 1_700_000_000.0


def feature_pass_events(images: int = 1600, per_batch: int = 32, batches_done: int = 10, seconds_per_batch=0.2):
    events = [{"t": T0, "type": "status", "status": "running", "message": "Preparing data"},
              {"t": T0 + 1, "type": "stage", "stage": "features",
               "message": "Computing bottleneck features (cached for next time)"}]
    batches = -(-images // per_batch)
    for b in range(1, batches_done + 1):
        events.append({"t": T0 + 3 + b * seconds_per_batch, "type": "batch", "stage": "features", "split": "train",
                       "view": 0, "batch": b, "batches": batches, "images_done": min(b * per_batch, images),
                       "images_total": images, "message": "Computing features for train"})
    return events


def head_on_cache_events(epochs_done: int = 3, epochs: int = 20):
    events = feature_pass_events(images=64, per_batch=32, batches_done=2)
    t = events[-1]["t"]
    events.append({"t": t + 0.1, "type": "stage", "stage": "head", "message": "Training the classifier head"})
    for e in range(1, epochs_done + 1):
        events.append({"t": t + 0.1 + 0.2 * e, "type": "epoch", "stage": "head", "epoch": e, "epochs": epochs,
                       "loss": 1 / e, "accuracy": 0.9, "val_loss": 1 / e, "val_accuracy": 0.8, "seconds": 0.2,
                       "images_per_s": 20270.0})
    return events


# --------------------------------------------------------------------------- the feature pass
def test_the_feature_pass_is_its_own_stage_with_a_bar_speed_and_time_left():
    events = feature_pass_events(images=1600, per_batch=32, batches_done=10, seconds_per_batch=0.2)
    now = events[-1]["t"]
    progress = ui.progress_of(events, TrainConfig(), now=now)
    assert progress.stage == "features"
    assert "Epoch" not in progress.text and "classifier" not in progress.text
    assert "Computing features" in progress.text and "320 of 1,600" in progress.text
    assert progress.fraction == pytest.approx(320 / 1600)
    # 32 images every 0.2 s after the first batch (whose start-up time is not counted)
    assert progress.images_per_s == pytest.approx(160.0)
    assert progress.seconds_left == pytest.approx((1600 - 320) / 160.0)
    assert "160 images/s" in progress.text and "about 8 s left" in progress.text
    label, value, _ = ui.speed_metric(progress)
    assert (label, value) == ("Images per second", "160/s")


def test_a_single_feature_batch_already_gives_a_speed_from_the_stage_start():
    events = feature_pass_events(images=100, per_batch=50, batches_done=1, seconds_per_batch=2.0)
    progress = ui.progress_of(events, TrainConfig(), now=events[-1]["t"])
    # 50 images in the 4 s since the stage began
    assert progress.images_per_s == pytest.approx(50 / 4)
    assert progress.seconds_left == pytest.approx(4.0)


def test_the_feature_pass_sums_its_splits_for_the_speed():
    events = feature_pass_events(images=64, per_batch=32, batches_done=2, seconds_per_batch=1.0)
    t = events[-1]["t"]
    events.append({"t": t + 1.0, "type": "batch", "stage": "features", "split": "val", "view": 0, "batch": 1,
                   "batches": 2, "images_done": 32, "images_total": 40})
    progress = ui.progress_of(events, TrainConfig(), now=t + 1.0)
    assert "validation pictures" in progress.text and "32 of 40" in progress.text
    assert progress.images_per_s == pytest.approx(32.0)  # (32 + 32 more) images in 2 s after the first batch


def test_feature_batches_without_image_counts_fall_back_to_batches():
    events = feature_pass_events(batches_done=3)
    for ev in events:
        ev.pop("images_done", None)
        ev.pop("images_total", None)
    progress = ui.progress_of(events, TrainConfig(batch_size=32), now=events[-1]["t"])
    assert "3 of 50 batches" in progress.text
    assert progress.images_per_s == pytest.approx(5 * 32)  # 5 batches/s of 32 images


def test_feature_pass_inside_the_fine_tuning_stage_is_shown_as_such():
    events = head_on_cache_events(epochs_done=20)
    t = events[-1]["t"]
    events.append({"t": t + 1, "type": "stage", "stage": "fine-tune", "layers": 30,
                   "message": "Fine-tuning the top 30 layers on augmented images"})
    events.append({"t": t + 2, "type": "batch", "stage": "features", "split": "train", "view": 1, "batch": 1,
                   "batches": 2, "images_done": 32, "images_total": 64})
    config = TrainConfig(mode="fine-tune", fine_tune_layers=30)
    progress = ui.progress_of(events, config, now=t + 2)
    assert progress.stage == "features" and "augmented copy 1" in progress.text
    events.append({"t": t + 3, "type": "batch", "stage": "fine-tune", "epoch": 1, "epochs": 10, "batch": 1,
                   "batches": 2, "images_per_s": 300.0})
    progress = ui.progress_of(events, config, now=t + 3.5)
    assert progress.stage == "fine-tune"
    assert "Epoch 1 of 10" in progress.text and ui.fine_tune_words(30) in progress.text
    # Time left counts from the end of the feature pass (t + 2), not from the stage's start (t + 1):
    # 1.5 s for 5 % of the stage.
    assert progress.seconds_left == pytest.approx(1.5 / 0.05 - 1.5)


# --------------------------------------------------------------------------- words and numbers
def test_time_left_reads_naturally():
    assert ui.time_left_words(0.3) == "less than a second left"
    assert ui.time_left_words(12.4) == "about 12 s left"
    assert "under" not in ui.format_seconds(0.3) and "about" not in ui.time_left_words(0.3)
    assert ui.format_seconds(0.3) == "< 1 s"
    assert ui.format_seconds(1.34, precise=True) == "1.3 s"
    assert ui.format_seconds(125) == "2 min 05 s"


@pytest.mark.parametrize("value,text", [(7876.2, "7.9k"), (20270, "20.3k"), (31.2, "31"), (3.25, "3.2"),
                                        (250_000, "250k"), (1_234_567, "1.2M")])
def test_compact_numbers_fit_a_metric_box(value, text):
    assert ui.compact_number(value) == text


def test_no_progress_text_says_about_under():
    events = head_on_cache_events(epochs_done=19)
    events.append({"t": events[-1]["t"] + 0.05, "type": "batch", "stage": "head", "epoch": 20, "epochs": 20,
                   "batch": 1, "batches": 2, "images_per_s": 20000.0})
    progress = ui.progress_of(events, TrainConfig(), now=events[-1]["t"])
    assert "less than a second left" in progress.text
    assert "about under" not in progress.text and "under 1 s" not in progress.text


def test_head_on_cached_features_shows_time_per_epoch_not_a_giant_images_per_second():
    events = head_on_cache_events(epochs_done=3)
    progress = ui.progress_of(events, TrainConfig(), now=events[-1]["t"] + 0.1)
    assert progress.stage == "head" and progress.on_cached_features
    assert "20,270" not in progress.text and "20.3k" not in progress.text
    assert "on the saved features" in progress.text and "0.2 s per epoch" in progress.text
    label, value, help_text = ui.speed_metric(progress)
    assert label == "Time per epoch" and value == "0.2 s"
    assert "saved" in help_text
    # Once finished, the box still describes that stage the same way.
    events.append({"t": events[-1]["t"] + 1, "type": "status", "status": "finished"})
    assert ui.speed_metric(ui.progress_of(events, TrainConfig()))[0] == "Time per epoch"


def test_training_on_images_shows_a_short_images_per_second():
    events = [{"t": T0, "type": "stage", "stage": "head", "message": "Training the classifier head on images"},
              {"t": T0 + 2, "type": "batch", "stage": "head", "epoch": 1, "epochs": 4, "batch": 1, "batches": 2,
               "images_per_s": 7876.0}]
    progress = ui.progress_of(events, TrainConfig(), now=T0 + 2)
    assert not progress.on_cached_features
    label, value, _ = ui.speed_metric(progress)
    assert label == "Images per second" and value == "7.9k/s" and len(value) <= 8
    assert "Epoch 1 of 4 (training the classifier)" in progress.text


def test_fine_tuning_is_described_with_the_configured_number_of_layers():
    config = TrainConfig(mode="fine-tune", fine_tune_layers=30)
    events = [{"t": T0, "type": "stage", "stage": "fine-tune", "message": "Fine-tuning the top 30 layers"}]
    progress = ui.progress_of(events, config, now=T0 + 1)
    assert progress.phase == "Fine-tuning " + ui.fine_tune_words(30)
    assert "30 layers with weights" in ui.fine_tune_words(30) and "BatchNorm" in ui.fine_tune_words(30)


# --------------------------------------------------------------------------- charts
def _rows(epochs: int, fine_tune_from: int | None = None):
    return [{"epoch": e, "stage": "fine-tune" if fine_tune_from and e >= fine_tune_from else "head",
             "loss": 1 / e, "val_loss": 1.1 / e, "accuracy": 0.5, "val_accuracy": 0.45} for e in range(1, epochs + 1)]


def test_a_30_epoch_run_is_labelled_every_few_epochs_flat_and_readable():
    fig = ui.curves_figure({"run": _rows(30, fine_tune_from=21)}, "accuracy", "Accuracy")
    dtick = fig.layout.xaxis.dtick
    assert dtick is not None and 30 / dtick <= 10, "at most about ten epoch labels"
    assert fig.layout.xaxis.tickangle == 0
    short = ui.curves_figure({"run": _rows(5)}, "loss", "Loss")
    assert short.layout.xaxis.dtick == 1


def test_fine_tuning_label_sits_above_the_curves_and_the_legend_below_the_title():
    fig = ui.curves_figure({"run": _rows(30, fine_tune_from=21)}, "accuracy", "Accuracy")
    notes = [a for a in fig.layout.annotations]
    assert [a.text for a in notes] == ["fine-tuning starts"]
    assert notes[0].yref == "paper" and notes[0].y >= 1 and notes[0].yanchor == "bottom"
    assert fig.layout.legend.y < 0, "the legend is under the chart, not over its title"


def test_overlaid_runs_have_no_placeholder_annotations():
    fig = ui.curves_figure({"a": _rows(6, fine_tune_from=4), "b": _rows(8, fine_tune_from=5)}, "loss", "Loss")
    assert all(a.text for a in fig.layout.annotations), "an annotation without text shows as 'new text'"
    assert len([s for s in fig.layout.shapes if s.type == "line"]) == 2, "one fine-tuning marker per run"
    assert fig.layout.legend.y < 0


def test_probability_axis_runs_from_0_to_100_percent():
    fig = ui.probability_figure([("cat", 0.62), ("dog", 0.3), ("fox", 0.08)])
    assert tuple(fig.layout.xaxis.range) == (0, 1)
    assert 1.0 in tuple(fig.layout.xaxis.tickvals)
    assert fig.layout.margin.r >= 30, "room for the 100 % label at the right edge"
    assert list(fig.data[0].y) == ["fox", "dog", "cat"]  # best guess on top
