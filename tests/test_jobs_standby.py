"""The warm standby (tlcore.jobs.standby): a job process with TensorFlow loaded before the next
run arrives, used only by matching callers, gone when idle or when its server is gone."""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs_helpers import FAST, gone, wait_run, ws  # noqa: F401  (ws: a fixture)
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.jobs import (cancel_run, ensure_standby, mark_interrupted, read_events, ready_standby, run_status,
                         start_run, stop_standbys, warm_worker_enabled)
from tlcore.jobs.standby import _standby_entries
from tlcore.runs import RunFolder, process_alive


# ---------------------------------------------------------------- the warm standby
@pytest.fixture(scope="module")
def warm_lock(tmp_path_factory):
    """Warm mode on, and a lock folder shared by the warm tests: the standby one warm start
    leaves behind serves the next test, so the module pays for few TensorFlow start-ups."""
    lock = tmp_path_factory.mktemp("warm") / "train.lock"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLCORE_WARM_WORKER", "1")
        yield lock
        _stop_standbys(lock)


def _standby(lock, *, spawn=True, other_than=None, timeout=180):
    """The pid of a ready standby for ``lock`` (spawned first, as the Train page does, if ``spawn``)."""
    if spawn:
        ensure_standby(lock)
    deadline = time.time() + timeout
    while (pid := ready_standby(lock)) is None or pid == other_than:
        if time.time() > deadline:
            log = lock.parent / "standby" / "standby.log"
            raise AssertionError(f"no standby became ready; {log.read_text()[-2000:] if log.exists() else 'no log'}")
        time.sleep(0.1)
    return pid


def _stop_standbys(lock):
    for pid in stop_standbys(lock):
        gone(pid)


def _files_of(lock, pid):
    folder = Path(lock).parent / "standby"
    return sorted(p.name for p in folder.glob(f"{pid}-*")) if folder.is_dir() else []


@pytest.mark.slow
def test_a_warm_start_runs_in_the_ready_standby_and_leaves_a_new_one(tiny_dataset, ws, warm_lock):
    pid = _standby(warm_lock)
    run = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), ws.runs_dir, workspace=ws,
                    lock_path=warm_lock, warm=True)
    assert run_status(run).pid == pid
    st = wait_run(run, lambda s: s.status == "finished")
    assert st.accuracy is not None and RunFolder(run).has_model
    gone(pid)  # one run per standby, then it exits
    assert _files_of(warm_lock, pid) == []
    _standby(warm_lock, spawn=False, other_than=pid)  # spawned by start_run for the next click


@pytest.mark.slow
def test_a_standby_with_another_environment_is_not_used(tiny_dataset, ws, tmp_path, monkeypatch):
    monkeypatch.setenv("TLCORE_WARM_WORKER", "1")
    lock = tmp_path / "lock"
    try:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
        other = _standby(lock)
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
        assert ready_standby(lock) is None  # not offered to a caller whose jobs would differ
        run = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), ws.runs_dir, workspace=ws,
                        lock_path=lock, warm=True)
        pid = run_status(run).pid
        assert pid != other
        assert str(run).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()  # a cold job process
        wait_run(run, lambda s: s.status == "finished")
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
        assert ready_standby(lock) == other  # still waiting for a matching caller
    finally:
        _stop_standbys(lock)


@pytest.mark.slow
def test_a_warm_started_queued_run_can_be_cancelled(tiny_dataset, ws, warm_lock):
    pid = _standby(warm_lock)
    busy = os.open(warm_lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(busy, fcntl.LOCK_EX)  # another run is training
    try:
        run = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), ws.runs_dir, workspace=ws,
                        lock_path=warm_lock, warm=True)
        assert run_status(run).pid == pid
        deadline = time.time() + 10
        while _files_of(warm_lock, pid):  # until the standby has taken the run and waits for the lock
            assert time.time() < deadline, _files_of(warm_lock, pid)
            time.sleep(0.05)
        assert run_status(run).status == "queued"
        cancel_run(run)
        st = wait_run(run, lambda s: s.status == "cancelled", timeout=30)
        assert ready_standby(warm_lock) is None  # the next standby warms up only once no run trains
    finally:
        os.close(busy)
    assert "before it started" in st.message
    assert not any(e.get("status") == "running" for e in read_events(run))
    gone(pid)


@pytest.mark.slow
def test_a_killed_warm_job_is_marked_interrupted(tiny_dataset, ws, warm_lock):
    pid = _standby(warm_lock)
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, feature_cache=False, early_stopping=False, **FAST)
    run = start_run(slow, ws.runs_dir, workspace=ws, lock_path=warm_lock, warm=True)
    st = wait_run(run, lambda s: s.last_epoch is not None)
    assert st.pid == pid
    os.kill(pid, signal.SIGKILL)
    wait_run(run, lambda s: s.status == "interrupted", timeout=20)
    assert mark_interrupted(ws.runs_dir) == [run.name]
    assert read_events(run)[-1]["status"] == "interrupted"


@pytest.mark.slow
def test_an_idle_standby_exits_after_its_idle_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCORE_WARM_WORKER", "1")
    monkeypatch.setenv("TLCORE_STANDBY_IDLE_S", "2")
    lock = tmp_path / "lock"
    try:
        spawned = ensure_standby(lock)
        assert ensure_standby(lock) == spawned  # one per lock folder and environment, even while starting
        pid = _standby(lock, spawn=False)
        assert pid == spawned
        ready_at = time.time()
        gone(pid)
        assert time.time() - ready_at > 1.5
        assert _files_of(lock, pid) == []
        assert ready_standby(lock) is None
    finally:
        _stop_standbys(lock)


def test_stale_standby_files_are_removed_and_warm_mode_can_be_switched_off(tmp_path, monkeypatch):
    dead = subprocess.Popen(["true"])
    dead.wait()
    folder = tmp_path / "standby"
    folder.mkdir()
    (folder / f"{dead.pid}-0123456789abcdef.ready").write_text("{}")
    monkeypatch.setenv("TLCORE_WARM_WORKER", "1")
    assert ready_standby(tmp_path / "lock") is None
    assert list(folder.iterdir()) == []
    monkeypatch.setenv("TLCORE_WARM_WORKER", "0")
    assert ensure_standby(tmp_path / "lock") is None and list(folder.iterdir()) == []
    monkeypatch.setenv("TLCORE_WARM_WORKER", "yes")
    with pytest.raises(TLCoreError, match="TLCORE_WARM_WORKER"):
        warm_worker_enabled()


# ---------------------------------------------------------------- a standby outlives no server (issue 10, item 18)
_SERVER = """
import sys, time
from pathlib import Path
from tlcore.jobs import ensure_standby, ready_standby, start_run
lock = Path(sys.argv[1])
print(ensure_standby(lock), flush=True)
if len(sys.argv) > 2:  # hand a run to the standby once it is ready, as a click on Train does
    from tlcore.config import TrainConfig
    from tlcore.workspace import Workspace
    while ready_standby(lock) is None:
        time.sleep(0.1)
    ws = Workspace(sys.argv[3])
    run = start_run(TrainConfig(data=sys.argv[2], epochs=1, weights="none", image_size=48, batch_size=8),
                    ws.runs_dir, workspace=ws, lock_path=lock, warm=True)
    print(run, flush=True)
time.sleep(3600)
"""


def _server(*args):
    """A stand-in for the app's server: a process of its own that starts standbys."""
    env = dict(os.environ, TLCORE_WARM_WORKER="1", TLCORE_STANDBY_IDLE_S="600")
    return subprocess.Popen([sys.executable, "-c", _SERVER, *map(str, args)], stdout=subprocess.PIPE, text=True,
                            env=env, cwd=Path(__file__).resolve().parent.parent)


def _kill(server):
    server.kill()
    server.wait()


def _ready_file(lock, pid, timeout=180):
    deadline = time.time() + timeout
    while not list((Path(lock).parent / "standby").glob(f"{pid}-*.ready")):
        assert process_alive(pid), f"standby {pid} died before it was ready"
        assert time.time() < deadline, f"standby {pid} never became ready"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_ready_standby_exits_when_its_server_is_killed(tmp_path):
    lock = tmp_path / "lock"
    server = _server(lock)
    try:
        standby = int(server.stdout.readline())
        _ready_file(lock, standby)
    finally:
        _kill(server)
    killed_at = time.time()
    try:
        gone(standby, timeout=10)
    finally:
        _stop_standbys(lock)  # if the test fails: no orphan left behind
    assert time.time() - killed_at < 5, "the standby outlived its server by more than a few seconds"
    assert _files_of(lock, standby) == []


@pytest.mark.slow
def test_a_run_taken_by_a_standby_outlives_the_server_but_the_next_standby_does_not(tiny_dataset, ws, tmp_path):
    lock = tmp_path / "lock"
    server = _server(lock, tiny_dataset, ws.root)
    try:
        first = int(server.stdout.readline())
        run = Path(server.stdout.readline().strip())
        assert run_status(run).pid == first  # the run went to the standby
        deadline = time.time() + 60
        while not (next_ones := [p for p, _, _, _ in _entries(lock) if p != first]):
            assert time.time() < deadline, "start_run left no standby for the next run"
            time.sleep(0.1)
    finally:
        _kill(server)
    st = wait_run(run, lambda s: s.status in ("finished", "failed", "interrupted"))
    assert st.status == "finished", st.message  # the server's end does not end a run
    try:
        for pid in next_ones:
            gone(pid, timeout=60)  # waiting for the lock or warming up when the server died
            assert _files_of(lock, pid) == []
    finally:
        _stop_standbys(lock)  # if the test fails: no orphan left behind


def _entries(lock):
    return list(_standby_entries(Path(lock).parent / "standby"))
