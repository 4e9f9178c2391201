"""The progress maths of tlcore.progress: where a run stands, from its event stream.

The event streams below are written in the format of tlcore.events, the way tlcore.train
emits them: the "features" stage starts before the feature pass, whose batches carry
``images_done``/``images_total``; the "head" stage follows. What the Train page's boxes make
of a Progress is tested in test_ui_fmt.py.
"""

from __future__ import annotations

import pytest

from tlcore import events as ev
from tlcore.config import TrainConfig
from tlcore.progress import (compact_number, epoch_rows, fine_tune_words, format_seconds, progress_of,
                             time_left_words)

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
    progress = progress_of(events, TrainConfig(), now=now)
    assert progress.stage == "features"
    assert "Epoch" not in progress.text and "classifier" not in progress.text
    assert "Computing features" in progress.text and "320 of 1,600" in progress.text
    assert progress.fraction == pytest.approx(320 / 1600)
    # 32 images every 0.2 s after the first batch (whose start-up time is not counted)
    assert progress.images_per_s == pytest.approx(160.0)
    assert progress.seconds_left == pytest.approx((1600 - 320) / 160.0)
    assert "160 images/s" in progress.text and "about 8 s left" in progress.text


def test_a_single_feature_batch_already_gives_a_speed_from_the_stage_start():
    events = feature_pass_events(images=100, per_batch=50, batches_done=1, seconds_per_batch=2.0)
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"])
    # 50 images in the 4 s since the stage began
    assert progress.images_per_s == pytest.approx(50 / 4)
    assert progress.seconds_left == pytest.approx(4.0)


@pytest.mark.parametrize("split, view, total, words, fraction", [
    ("val", 0, 40, "validation pictures: 32 of 40", 32 / 40),  # a new split counts from 0
    ("train", 2, 64, "training pictures, augmented copy 2: 32 of 64", 0.5),  # each copy is its own bar
])
def test_the_feature_pass_sums_its_splits_and_copies_for_the_speed(split, view, total, words, fraction):
    events = feature_pass_events(images=64, per_batch=32, batches_done=2, seconds_per_batch=1.0)
    t = events[-1]["t"]
    events.append(ev.batch_event(ev.STAGE_FEATURES, 1, 2, t=t + 1.0, split=split, view=view, images_done=32,
                                 images_total=total))
    progress = progress_of(events, TrainConfig(), now=t + 1.0)
    assert words in progress.text
    assert progress.fraction == pytest.approx(fraction)
    assert progress.images_per_s == pytest.approx(32.0)  # (32 + 32 more) images in 2 s after the first batch


def test_feature_batches_without_image_counts_fall_back_to_batches():
    events = feature_pass_events(batches_done=3)
    for ev in events:
        ev.pop("images_done", None)
        ev.pop("images_total", None)
    progress = progress_of(events, TrainConfig(batch_size=32), now=events[-1]["t"])
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
    progress = progress_of(events, config, now=t + 2)
    assert progress.stage == "features" and "augmented copy 1" in progress.text
    events.append({"t": t + 3, "type": "batch", "stage": "fine-tune", "epoch": 1, "epochs": 10, "batch": 1,
                   "batches": 2, "images_per_s": 300.0})
    progress = progress_of(events, config, now=t + 3.5)
    assert progress.stage == "fine-tune"
    assert "Epoch 1 of 10" in progress.text and fine_tune_words(30) in progress.text
    # Time left counts from the end of the feature pass (t + 2), not from the stage's start (t + 1):
    # 1.5 s for 5 % of the stage.
    assert progress.seconds_left == pytest.approx(1.5 / 0.05 - 1.5)


# --------------------------------------------------------------------------- words and numbers
def test_time_left_reads_naturally():
    assert time_left_words(0.3) == "less than a second left"
    assert time_left_words(12.4) == "about 12 s left"
    assert "under" not in format_seconds(0.3) and "about" not in time_left_words(0.3)
    assert format_seconds(0.3) == "< 1 s"
    assert format_seconds(1.34, precise=True) == "1.3 s"
    assert format_seconds(125) == "2 min 05 s"


@pytest.mark.parametrize("value,text", [(7876.2, "7.9k"), (20270, "20.3k"), (31.2, "31"), (3.25, "3.2"),
                                        (250_000, "250k"), (1_234_567, "1.2M")])
def test_compact_numbers_fit_a_metric_box(value, text):
    assert compact_number(value) == text


def test_no_progress_text_says_about_under():
    events = head_on_cache_events(epochs_done=19)
    events.append({"t": events[-1]["t"] + 0.05, "type": "batch", "stage": "head", "epoch": 20, "epochs": 20,
                   "batch": 1, "batches": 2, "images_per_s": 20000.0})
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"])
    assert "less than a second left" in progress.text
    assert "about under" not in progress.text and "under 1 s" not in progress.text


def test_head_on_cached_features_shows_time_per_epoch_not_a_giant_images_per_second():
    events = head_on_cache_events(epochs_done=3)
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"] + 0.1)
    assert progress.stage == "head" and progress.on_cached_features
    assert "20,270" not in progress.text and "20.3k" not in progress.text
    assert "on the saved features" in progress.text and "0.2 s per epoch" in progress.text


def test_training_on_images_shows_a_short_images_per_second():
    events = [{"t": T0, "type": "stage", "stage": "head", "message": "Training the classifier head on images"},
              {"t": T0 + 2, "type": "batch", "stage": "head", "epoch": 1, "epochs": 4, "batch": 1, "batches": 2,
               "images_per_s": 7876.0}]
    progress = progress_of(events, TrainConfig(), now=T0 + 2)
    assert not progress.on_cached_features
    assert "Epoch 1 of 4 (training the classifier)" in progress.text


def test_fine_tuning_is_described_with_the_configured_number_of_layers():
    config = TrainConfig(mode="fine-tune", fine_tune_layers=30)
    events = [{"t": T0, "type": "stage", "stage": "fine-tune", "message": "Fine-tuning the top 30 layers"}]
    progress = progress_of(events, config, now=T0 + 1)
    assert progress.phase == "Fine-tuning " + fine_tune_words(30)
    assert "30 layers with weights" in fine_tune_words(30) and "BatchNorm" in fine_tune_words(30)


# --------------------------------------------------------------------------- more of the stream
def test_epochs_are_numbered_across_the_head_and_fine_tuning():
    events = head_on_cache_events(epochs_done=2, epochs=2)
    t = events[-1]["t"]
    events.append({"t": t + 1, "type": "stage", "stage": "fine-tune", "layers": 5, "message": "Fine-tuning"})
    events.append({"t": t + 2, "type": "epoch", "stage": "fine-tune", "epoch": 1, "epochs": 4, "loss": 0.2,
                   "accuracy": 0.95, "val_loss": 0.3, "val_accuracy": 0.9, "seconds": 1.0})
    rows = epoch_rows(events)
    assert [(r["epoch"], r["stage"]) for r in rows] == [(1, "head"), (2, "head"), (3, "fine-tune")]
    assert rows[-1]["val_accuracy"] == pytest.approx(0.9)
    progress = progress_of(events, TrainConfig(mode="fine-tune", fine_tune_layers=5, fine_tune_epochs=4),
                           now=t + 3)
    assert progress.stage == "fine-tune" and progress.fraction == pytest.approx(1 / 4)
    assert "Epoch 2 of 4" in progress.text and fine_tune_words(5) in progress.text
    # 25 % of the stage in the 2 s since it began: 6 s more.
    assert progress.seconds_left == pytest.approx(6.0)


def test_epoch_rows_skip_values_that_are_not_numbers():
    rows = epoch_rows([{"t": T0, "type": "epoch", "stage": "head", "loss": "nan", "val_loss": None,
                        "accuracy": float("inf"), "val_accuracy": 0.5}])
    assert rows == [{"epoch": 1, "stage": "head", "loss": None, "val_loss": None, "accuracy": None,
                     "val_accuracy": 0.5, "seconds": None}]


def test_a_finished_run_is_full_and_says_so():
    events = head_on_cache_events(epochs_done=3, epochs=20)  # early stopping: 3 of 20 epochs
    events.append({"t": events[-1]["t"] + 1, "type": "status", "status": "finished", "accuracy": 0.8})
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"] + 100)
    assert progress.fraction == 1.0 and progress.text == "Finished"
    assert progress.seconds_left is None and progress.stage == "head"


@pytest.mark.parametrize("status,words", [("failed", "Failed"), ("cancelled", "Cancelled"),
                                          ("interrupted", "Failed: interrupted")])
def test_a_run_that_stopped_early_keeps_the_share_it_reached(status, words):
    events = head_on_cache_events(epochs_done=5, epochs=20)
    events.append({"t": events[-1]["t"] + 1, "type": "status", "status": status, "message": "stopped"})
    progress = progress_of(events, TrainConfig(), now=events[-1]["t"] + 100)
    assert progress.fraction == pytest.approx(5 / 20)
    assert progress.text.startswith(words) and progress.seconds_left is None


def test_a_queued_run_waits_at_zero():
    progress = progress_of([{"t": T0, "type": "status", "status": "queued", "message": "Waiting for its turn"}],
                           TrainConfig(), now=T0 + 5)
    assert progress.fraction == 0.0 and progress.stage == ""
    assert progress.phase == "Waiting for its turn" and progress.seconds_left is None


def test_an_old_stream_without_images_done_and_without_a_config_still_shows_batches():
    events = feature_pass_events(batches_done=4)
    for event in events:
        event.pop("images_done", None)
        event.pop("images_total", None)
    progress = progress_of(events, None, now=events[-1]["t"])
    assert "4 of 50 batches" in progress.text
    assert progress.fraction == pytest.approx(4 / 50)
    assert progress.images_per_s is None, "no batch size known: no images per second made up"
    assert progress.seconds_left is not None  # batches per second still give the time left
