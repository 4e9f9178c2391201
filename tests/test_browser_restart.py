"""A server that dies during a run (issue 4, faults): the restarted app shows the run
interrupted, keeps its checkpoint, and the next run can start. Moved from test_hostile.py.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time

import pytest

from browser_helpers import browser  # noqa: F401  (a fixture)
from tlcore.runs import RunFolder
from tlcore.workspace import Workspace


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_after_the_server_and_the_run_die_the_restarted_app_shows_it_interrupted(browser, tiny_dataset,
                                                                                 tmp_path_factory):
    import h5py

    from browser_helpers import start_server, wait_idle
    from tlcore.config import TrainConfig
    from tlcore.jobs import read_events, run_status, start_run

    workspace = tmp_path_factory.mktemp("workspace")
    sid = "restartsession1"
    ws = Workspace.for_session(sid, root=workspace)
    server = start_server(workspace)
    # The run the Train page would start: this session's runs folder, the server's training lock.
    slow = TrainConfig(data=str(tiny_dataset), epochs=200, early_stopping=False, feature_cache=False,
                       weights="none", image_size=48, batch_size=8)
    run = start_run(slow, ws.runs_dir, workspace=ws, lock_path=workspace / "train.lock")
    try:
        deadline = time.time() + 300
        while True:
            st = run_status(run)
            if st.last_epoch and st.last_epoch["epoch"] >= 2:  # epoch 1's checkpoint is on disk
                break
            assert st.status in ("queued", "running") and time.time() < deadline, (st.status, st.message)
            time.sleep(0.3)
        # The machine goes down: the server and the training process die at once, without a word.
        server.kill()
        os.kill(st.pid, signal.SIGKILL)
        try:
            os.waitpid(st.pid, 0)  # the job is this test's child: reap it
        except ChildProcessError:
            pass
        assert read_events(run)[-1].get("type") != "status", "nobody recorded the end of the run"
        server = start_server(workspace, log_name="streamlit-after-restart.log")
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/train?ws={sid}")
        page.get_by_text("Failed: interrupted (its process stopped").first.wait_for()
        page.get_by_text("stopped unexpectedly").first.wait_for()
        wait_idle(page)
        assert "last checkpoint is kept" in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        context.close()
    finally:
        server.stop()
    statuses = [e["status"] for e in read_events(run) if e.get("type") == "status"]
    assert statuses[-1] == "interrupted" and statuses.count("interrupted") == 1
    folder = RunFolder(run)
    checkpoint = next(p for p in (folder.head_checkpoint_path, folder.checkpoint_path) if p.is_file())
    with h5py.File(checkpoint, "r") as h5:  # a whole, readable weights file
        assert len(h5.keys()) > 0
    assert folder.config().epochs == 200  # the settings file is whole too
    with open(workspace / "train.lock", "a+") as lock:  # the lock died with the process: a new run can start
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
