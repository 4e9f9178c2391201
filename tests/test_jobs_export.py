"""Export as a job (tlcore.jobs.export_job): downloads made in a process of their own, like
training, watched with export_status; one export of a run at a time."""

import json
import os
import signal

import pytest

from jobs_helpers import FAST, wait_export, wait_run, ws  # noqa: F401  (ws: a fixture)
from tlcore import events as ev
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.jobs import export_status, start_export, start_run
from tlcore.runs import RunFolder
from tlcore.workspace import Workspace


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    """A finished tiny run (trained once for the module) and its workspace."""
    workspace = Workspace(tmp_path_factory.mktemp("export_ws"))
    run = start_run(TrainConfig(data=str(tiny_dataset), epochs=1, **FAST), workspace.runs_dir, workspace=workspace,
                    lock_path=workspace.root / "train.lock")
    st = wait_run(run, lambda s: s.status in ev.FINAL)
    assert st.status == ev.FINISHED, st.message
    return RunFolder(run), workspace


@pytest.mark.slow
def test_an_export_job_makes_the_files_and_the_features_table(trained):
    folder, workspace = trained
    assert export_status(folder.path).status is None  # never exported
    start_export(folder.path, ["keras"], features=True, workspace=workspace)
    started = export_status(folder.path)
    assert started.active and started.formats == ("keras",) and started.features
    st = wait_export(folder.path)
    assert st.status == ev.FINISHED, st.message
    assert {"keras", "labels", "card", "features"} <= set(st.files)
    assert all(path.is_file() and path.stat().st_size > 0 for path in st.files.values())
    assert all(path.parent == folder.export_dir for path in st.files.values())
    assert json.loads(st.files["labels"].read_text(encoding="utf-8")) == folder.labels()
    import pandas as pd

    table = pd.read_parquet(st.files["features"])
    assert st.files["features"] == folder.features_table_path
    assert len(table) == 36 and set(table["label"]) == set(folder.labels())
    assert set(table["split"]) <= {"train", "val"}
    statuses = [e["status"] for e in folder.export_events() if ev.is_status(e)]
    assert statuses[0] == ev.QUEUED and ev.RUNNING in statuses and statuses[-1] == ev.FINISHED


@pytest.mark.slow
def test_a_second_export_of_a_run_is_refused_while_one_runs(trained):
    folder, workspace = trained
    start_export(folder.path, ["keras"], workspace=workspace)
    with pytest.raises(TLCoreError, match="already running") as info:
        start_export(folder.path, [], features=True, workspace=workspace)
    assert "Fix:" in str(info.value)
    st = wait_export(folder.path)
    assert st.status == ev.FINISHED and st.formats == ("keras",) and not st.features, st.message
    assert "features" in st.files  # an earlier export's file is still offered
    start_export(folder.path, [], features=True, workspace=workspace)  # once it has ended, the next may start
    assert wait_export(folder.path).status == ev.FINISHED


def test_an_export_without_a_model_fails_with_the_message(ws):
    folder = RunFolder.create(ws.runs_dir, TrainConfig(data="x"))
    folder.write_config(TrainConfig(data="x"))
    start_export(folder.path, ["keras"], workspace=ws)
    st = wait_export(folder.path)
    assert st.status == ev.FAILED
    assert "no model.keras" in st.message and "Fix:" in st.message and "Traceback" not in st.message
    assert st.files == {}


def test_a_killed_export_reads_interrupted(ws):
    folder = RunFolder.create(ws.runs_dir, TrainConfig(data="x"))
    folder.write_config(TrainConfig(data="x"))
    start_export(folder.path, ["keras"], workspace=ws)
    pid = export_status(folder.path).pid
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # our child: reap it
    st = export_status(folder.path)
    assert st.status == ev.INTERRUPTED and "stopped unexpectedly" in st.message and not st.active
    start_export(folder.path, ["keras"], workspace=ws)  # an interrupted export does not block the next
    assert wait_export(folder.path).status == ev.FAILED


def test_what_to_export_is_checked_at_the_door(ws, tmp_path):
    folder = RunFolder.create(ws.runs_dir, TrainConfig(data="x"))
    folder.write_config(TrainConfig(data="x"))
    with pytest.raises(TLCoreError, match="pdf"):
        start_export(folder.path, ["pdf"], workspace=ws)
    with pytest.raises(TLCoreError, match="Nothing to export"):
        start_export(folder.path, [], workspace=ws)
    with pytest.raises(TLCoreError, match="not a run folder"):
        start_export(tmp_path / "nowhere", ["keras"], workspace=ws)
    assert export_status(folder.path).status is None  # nothing was started
