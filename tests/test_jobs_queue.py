"""Training jobs (tlcore.jobs.launch, tlcore.jobs.queue): each run in its own process, queued in
click order behind the training lock, cancellable, and marked interrupted when its process dies."""

import os
import signal
import subprocess
import sys
import time

import pytest

from jobs_helpers import FAST, wait_run, ws  # noqa: F401  (ws: a fixture)
from tlcore import events as ev
from tlcore.config import TrainConfig
from tlcore.jobs import cancel_run, list_runs, mark_interrupted, new_run_dir, read_events, run_status, start_run
from tlcore.runs import RunFolder
from tlcore.workspace import Workspace


def test_importing_jobs_loads_no_tensorflow():
    """The server imports tlcore.jobs on every page; TensorFlow loads only in the job processes."""
    code = ("import sys, tlcore.jobs, tlcore.jobs.__main__; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_new_run_dir_makes_a_fresh_run_folder(tmp_path):
    config = TrainConfig(data="x", backbone="MobileNetV2")
    first, second = new_run_dir(tmp_path, config, "my set"), new_run_dir(tmp_path, config, "my set")
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.endswith("-mobilenetv2-fe-my-set")


@pytest.mark.slow
def test_a_job_runs_in_its_own_process_to_the_end(tiny_dataset, ws, tmp_path):
    run = start_run(TrainConfig(data=str(tiny_dataset), epochs=2, **FAST), ws.runs_dir, workspace=ws,
                    lock_path=tmp_path / "lock")
    assert run_status(run).status in ("queued", "running")
    st = wait_run(run, lambda s: s.status == "finished")
    assert st.accuracy is not None and RunFolder(run).has_model
    assert [r.run_id for r in list_runs(ws.runs_dir)] == [run.name]


@pytest.mark.slow
def test_runs_queue_and_a_cancelled_queued_run_never_starts(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, feature_cache=False, early_stopping=False, **FAST)
    first = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    second = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    wait_run(first, lambda s: s.last_epoch is not None)
    assert run_status(second).status == "queued"
    cancel_run(second)
    st2 = wait_run(second, lambda s: s.status == "cancelled")
    assert "before it started" in st2.message
    assert not any(e.get("status") == "running" for e in read_events(second))
    cancel_run(first)
    st1 = wait_run(first, lambda s: s.status == "cancelled")
    assert st1.last_epoch["epoch"] < 200
    assert RunFolder(first).has_model  # cancelled runs keep their best weights


@pytest.mark.slow
def test_queued_runs_start_in_the_order_they_were_started(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    runs = [start_run(TrainConfig(data=str(tiny_dataset), epochs=2, **FAST), ws.runs_dir, workspace=ws,
                      lock_path=lock) for _ in range(3)]
    for run in runs:
        wait_run(run, lambda s: s.status == "finished")
    began = [next(e["t"] for e in read_events(run) if e.get("status") == "running") for run in runs]
    assert began == sorted(began), "runs started out of order"
    assert not any((lock.parent / "queue").iterdir()), "tickets left behind"


@pytest.mark.slow
def test_a_killed_job_is_marked_interrupted_and_the_next_run_can_start(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, feature_cache=False, early_stopping=False, **FAST)
    run = start_run(slow, ws.runs_dir, workspace=ws, lock_path=lock)
    # after epoch 2 began, epoch 1's checkpoint is on disk
    st = wait_run(run, lambda s: s.last_epoch is not None and s.last_epoch["epoch"] >= 2)
    os.kill(st.pid, signal.SIGKILL)
    st = wait_run(run, lambda s: s.status == "interrupted", timeout=20)
    assert mark_interrupted(ws.runs_dir) == [run.name]
    assert read_events(run)[-1]["status"] == "interrupted"
    assert "checkpoint" in read_events(run)[-1]["message"]
    assert mark_interrupted(ws.runs_dir) == []  # recorded once
    nxt = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), ws.runs_dir, workspace=ws, lock_path=lock)
    wait_run(nxt, lambda s: s.status == "finished")


def test_a_failing_job_is_marked_failed_with_the_message(ws, tmp_path):
    run = start_run(TrainConfig(data=str(tmp_path / "missing-folder"), epochs=1, **FAST), ws.runs_dir,
                    workspace=ws, lock_path=tmp_path / "lock")
    st = wait_run(run, lambda s: s.status == "failed")
    assert "missing-folder" in st.message
    assert "Traceback" not in st.message


# ---------------------------------------------------------------- from test_hostile.py (issue 4: faults)
def test_a_torn_last_event_line_is_ignored(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.write_config(TrainConfig(data="x", epochs=2))
    gone = subprocess.Popen(["true"])
    gone.wait()
    folder.write_job(gone.pid)  # the writer, killed
    folder.log_status(ev.RUNNING)
    folder.emit(ev.epoch_event(ev.STAGE_HEAD, 1, 2))
    with open(folder.events_path, "a") as fh:
        fh.write('{"t": 1, "type": "epoch", "stage": "he')  # the writer was killed mid-line
    st = run_status(folder.path)
    assert st.last_epoch["epoch"] == 1
    assert st.status == "interrupted"  # no process behind it


def test_a_run_cancelled_before_its_process_starts_never_starts(tiny_dataset, tmp_path):
    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(tiny_dataset), epochs=1, weights="none", image_size=48, batch_size=8)
    run = start_run(config, ws.runs_dir, workspace=ws, lock_path=tmp_path / "free.lock")  # nobody holds the lock
    cancel_run(run)
    deadline = time.time() + 120
    while run_status(run).status in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    st = run_status(run)
    assert st.status == "cancelled" and "before it started" in st.message, (st.status, st.message)
    assert not any(e.get("status") == "running" for e in read_events(run))
    assert not RunFolder(run).has_model
