import os
import signal
import time

import pytest

from tlcore.config import TrainConfig
from tlcore.jobs import cancel_run, list_runs, mark_interrupted, read_events, run_status, start_run
from tlcore.workspace import Workspace

FAST = dict(weights="none", image_size=48, batch_size=8)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def _wait(run_dir, predicate, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = run_status(run_dir)
        if predicate(st):
            return st
        time.sleep(0.3)
    raise AssertionError(f"timed out; status {run_status(run_dir)} events {read_events(run_dir)[-3:]}")


def test_a_job_runs_in_its_own_process_to_the_end(tiny_dataset, ws, tmp_path):
    run = start_run(TrainConfig(data=str(tiny_dataset), epochs=2, **FAST), ws.runs_dir, workspace=ws,
                    lock_path=tmp_path / "lock")
    assert run_status(run).status in ("queued", "running")
    st = _wait(run, lambda s: s.status == "finished")
    assert st.accuracy is not None and (run / "model.keras").is_file()
    assert [r.run_id for r in list_runs(ws.runs_dir)] == [run.name]


def test_runs_queue_and_a_cancelled_queued_run_never_starts(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, feature_cache=False, early_stopping=False, **FAST)
    first = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    second = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    _wait(first, lambda s: s.last_epoch is not None)
    assert run_status(second).status == "queued"
    cancel_run(second)
    st2 = _wait(second, lambda s: s.status == "cancelled")
    assert "before it started" in st2.message
    assert not any(e.get("status") == "running" for e in read_events(second))
    cancel_run(first)
    st1 = _wait(first, lambda s: s.status == "cancelled")
    assert st1.last_epoch["epoch"] < 200
    assert (first / "model.keras").is_file()  # cancelled runs keep their best weights


def test_a_killed_job_is_marked_interrupted_and_the_next_run_can_start(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, feature_cache=False, early_stopping=False, **FAST)
    run = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    # after epoch 2 began, epoch 1's checkpoint is on disk
    st = _wait(run, lambda s: s.last_epoch is not None and s.last_epoch["epoch"] >= 2)
    os.kill(st.pid, signal.SIGKILL)
    st = _wait(run, lambda s: s.status == "interrupted", timeout=20)
    assert mark_interrupted(ws.runs_dir) == [run.name]
    assert read_events(run)[-1]["status"] == "interrupted"
    assert "checkpoint" in read_events(run)[-1]["message"]
    assert mark_interrupted(ws.runs_dir) == []  # recorded once
    nxt = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), ws.runs_dir, workspace=ws, lock_path=lock)
    _wait(nxt, lambda s: s.status == "finished")


def test_a_failing_job_is_marked_failed_with_the_message(ws, tmp_path):
    run = start_run(TrainConfig(data=str(tmp_path / "missing-folder"), epochs=1, **FAST), ws.runs_dir,
                    workspace=ws, lock_path=tmp_path / "lock")
    st = _wait(run, lambda s: s.status == "failed")
    assert "missing-folder" in st.message
    assert "Traceback" not in st.message
