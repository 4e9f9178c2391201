"""The data check as a job: it runs in a process of its own, reports progress, and saves its result."""

from __future__ import annotations

import time

import pytest

from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.jobs import check_status, latest_check, start_check
from tlcore.workspace import Workspace


@pytest.mark.slow
def test_a_check_job_runs_in_the_background_and_saves_its_result(separable_dataset, random_weights, tmp_path):
    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(separable_dataset), weights=random_weights, layer="block_2_add", image_size=32)
    assert check_status(config.data, workspace=ws).status is None
    start_check(config, workspace=ws)
    with pytest.raises(TLCoreError, match="already running"):
        start_check(config, workspace=ws)
    deadline = time.time() + 240
    seen = set()
    while time.time() < deadline:
        status = check_status(config.data, workspace=ws)
        seen.add(status.status)
        if not status.active:
            break
        time.sleep(0.5)
    assert status.status == "finished", (status.message, (ws.root / "checks").glob("*/log.txt"))
    assert "running" in seen or "queued" in seen
    result = latest_check(config.data, workspace=ws)
    assert result["num_images"] == 90 and status.result == result
    assert status.progress is not None


def test_a_check_without_data_is_refused(tmp_path):
    with pytest.raises(TLCoreError, match="No dataset"):
        start_check(TrainConfig(), workspace=Workspace(tmp_path / "ws"))


@pytest.mark.slow
def test_a_check_can_be_stopped(separable_dataset, random_weights, tmp_path):
    from tlcore.jobs import cancel_check

    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(separable_dataset), weights=random_weights, layer="block_2_add", image_size=32)
    start_check(config, workspace=ws)
    cancel_check(config.data, workspace=ws)  # before its first batch: the job is still importing Keras
    deadline = time.time() + 240
    while time.time() < deadline and check_status(config.data, workspace=ws).active:
        time.sleep(0.5)
    status = check_status(config.data, workspace=ws)
    assert status.status == "cancelled" and "Stopped" in status.message
    assert latest_check(config.data, workspace=ws) is None
