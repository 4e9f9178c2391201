"""What the tests of tlcore.jobs share: fast settings, a workspace, and waiting for a job.

Used by test_jobs_queue.py, test_jobs_standby.py and test_jobs_export.py. ``ws`` is a fixture:
a module that imports it gets a fresh workspace per test.
"""

from __future__ import annotations

import time

import pytest

from tlcore.jobs import export_status, read_events, run_status
from tlcore.runs import process_alive
from tlcore.workspace import Workspace

FAST = dict(weights="none", image_size=48, batch_size=8)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def wait_run(run_dir, predicate, timeout=300):
    """The run's status once ``predicate(status)`` holds (polling, as a page does)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = run_status(run_dir)
        if predicate(st):
            return st
        time.sleep(0.3)
    raise AssertionError(f"timed out; status {run_status(run_dir)} events {read_events(run_dir)[-3:]}")


def wait_export(run_dir, timeout=300):
    """The run's export status once its export job has ended."""
    deadline = time.time() + timeout
    while (st := export_status(run_dir)).active:
        assert time.time() < deadline, f"the export did not end; status {st}"
        time.sleep(0.3)
    return st


def gone(pid, timeout=30):
    """Wait until process ``pid`` has exited."""
    deadline = time.time() + timeout
    while process_alive(pid):
        assert time.time() < deadline, f"process {pid} still running"
        time.sleep(0.1)
