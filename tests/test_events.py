"""The event schema: constructors stamp time and type; status names are checked."""

import time

import pytest

from tlcore import events as ev


def test_constructors_stamp_time_and_type():
    before = time.time()
    e = ev.stage_event(ev.STAGE_FEATURES, "Computing features", images_total=10)
    assert e["type"] == ev.STAGE and e["stage"] == ev.STAGE_FEATURES and e["images_total"] == 10
    assert before <= e["t"] <= time.time()
    assert ev.epoch_event(ev.STAGE_HEAD, 2, 5, loss=0.1)["epoch"] == 2
    assert ev.batch_event(ev.STAGE_HEAD, 3, 9)["batches"] == 9
    assert ev.fine_tune_result_event(kept="frozen")["stage"] == ev.STAGE_FINE_TUNE
    assert ev.event(ev.STATUS, t=12.5, status=ev.QUEUED)["t"] == 12.5


def test_status_must_be_known():
    assert ev.status_event(ev.FINISHED, accuracy=0.9)["accuracy"] == 0.9
    with pytest.raises(ValueError, match="done"):
        ev.status_event("done")


def test_statuses_partition_into_active_and_final():
    assert set(ev.ACTIVE) | set(ev.FINAL) == set(ev.STATUSES)
    assert not set(ev.ACTIVE) & set(ev.FINAL)


def test_last_status_and_is_status():
    stream = [ev.status_event(ev.QUEUED), ev.stage_event(ev.STAGE_DATA), ev.status_event(ev.RUNNING),
              ev.epoch_event(ev.STAGE_HEAD, 1, 1)]
    assert ev.last_status(stream)["status"] == ev.RUNNING
    assert ev.last_status([]) is None
    assert ev.is_status(stream[0]) and ev.is_status(stream[0], ev.QUEUED)
    assert not ev.is_status(stream[0], *ev.FINAL) and not ev.is_status(stream[1])
