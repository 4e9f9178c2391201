"""The run folder type: names, readers, writers and status, without TensorFlow."""

import os
import time

import pytest

from tlcore import events as ev
from tlcore import runs
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.runs import RunFolder


def _run(tmp_path, **config) -> RunFolder:
    folder = RunFolder.create(tmp_path, TrainConfig(**config))
    folder.write_config(TrainConfig(**config))
    return folder


def test_create_names_the_folder_by_backbone_and_mode(tmp_path):
    fe = RunFolder.create(tmp_path, TrainConfig())
    ft = RunFolder.create(tmp_path, TrainConfig(mode="fine-tune"), name="My run!")
    assert fe.run_id.endswith("-mobilenetv2-fe")
    assert ft.run_id.endswith("-mobilenetv2-ft-my-run")
    again = RunFolder.create(tmp_path, TrainConfig())  # same second: a unique name all the same
    assert again.path != fe.path and again.path.is_dir()


def test_only_a_folder_with_settings_is_a_run(tmp_path):
    empty = RunFolder(tmp_path / "nothing")
    assert not empty.is_run
    with pytest.raises(TLCoreError, match="not a run folder"):
        empty.require()
    assert _run(tmp_path).is_run
    assert [f.run_id for f in runs.run_folders(tmp_path)] == [p.name for p in tmp_path.iterdir()
                                                                if (p / runs.CONFIG).is_file()]


def test_settings_and_results_round_trip(tmp_path):
    folder = _run(tmp_path, epochs=3, seed=7)
    assert folder.config().epochs == 3 and folder.config_dict()["seed"] == 7
    assert folder.labels() is None and folder.evaluation() is None and folder.data_report() is None
    folder.write_labels(["ant", "bee"])
    folder.write_evaluation({"accuracy": 0.9})
    folder.write_data_report({"classes": ["ant", "bee"]})
    assert folder.labels() == ["ant", "bee"]
    assert folder.evaluation() == {"accuracy": 0.9}
    assert folder.data_report()["classes"] == ["ant", "bee"]
    folder.labels_path.write_text("{not json")
    assert folder.labels() is None  # a damaged file reads as missing, never as a crash


def test_require_model_says_why_there_is_none(tmp_path):
    folder = _run(tmp_path)
    with pytest.raises(TLCoreError, match="has no model.keras yet"):
        folder.require_model()
    with pytest.raises(TLCoreError, match="does not exist"):
        RunFolder(tmp_path / "gone").require_model()


def test_status_folds_the_event_stream(tmp_path):
    folder = _run(tmp_path)
    folder.write_job(os.getpid())  # a live process whose command line is not a tlcore job
    folder.log_status(ev.QUEUED, "Waiting to start")
    folder.emit(ev.stage_event(ev.STAGE_HEAD, "Training the classifier head"))
    folder.emit(ev.epoch_event(ev.STAGE_HEAD, 1, 5, loss=0.5))
    folder.log_status(ev.FINISHED, "", accuracy=0.75, test_accuracy=0.5)
    st = folder.status()
    assert st.status == ev.FINISHED and not st.active
    assert st.accuracy == 0.75 and st.test_accuracy == 0.5
    assert st.last_epoch["loss"] == 0.5 and st.stage == ev.STAGE_HEAD
    assert runs.list_runs(tmp_path)[0].run_id == folder.run_id


def test_a_vanished_job_reads_interrupted_and_is_marked_once(tmp_path):
    folder = _run(tmp_path)
    folder.write_job(2 ** 22 + 12345)  # no such process
    folder.emit(ev.status_event(ev.RUNNING, "Training", t=time.time() - 60))
    folder.head_checkpoint_path.write_bytes(b"x")
    assert folder.status().status == ev.INTERRUPTED
    assert runs.mark_interrupted(tmp_path) == [folder.run_id]
    last = ev.last_status(folder.events())
    assert last["status"] == ev.INTERRUPTED and "checkpoint is kept" in last["message"]
    assert runs.mark_interrupted(tmp_path) == []  # already recorded


def test_a_just_queued_run_without_a_pid_is_still_starting(tmp_path):
    folder = _run(tmp_path)
    folder.log_status(ev.QUEUED, "Waiting to start")
    assert folder.status().status == ev.QUEUED


def test_cancel_marks_the_folder(tmp_path):
    folder = _run(tmp_path)
    assert not folder.cancel_requested
    runs.cancel_run(folder.path)
    assert folder.cancel_requested
    with pytest.raises(TLCoreError):
        runs.cancel_run(tmp_path / "not-a-run")


def test_export_events_live_in_the_export_folder(tmp_path):
    folder = _run(tmp_path)
    assert folder.export_events() == []
    folder.log_export_status(ev.RUNNING, "Exporting")
    assert folder.export_events_path.parent == folder.export_dir
    assert folder.export_events()[0]["status"] == ev.RUNNING


def test_no_run_file_name_is_spelled_outside_the_run_module():
    """Every run-folder file name is owned by tlcore/runs.py (STYLE 13)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    names = [f'"{n}"' for n in (runs.CONFIG, runs.EVENTS, runs.LABELS, runs.EVALUATION, runs.DATA_REPORT,
                                runs.JOB, runs.CANCEL, runs.QUEUE_TICKET, runs.MODEL_TMP)]
    # A .keras file is a zip whose own settings entry is also called config.json (Keras's format).
    allowed = {("tlcore/safety.py", '"config.json"')}
    offenders = []
    for path in [*root.glob("tlcore/**/*.py"), *root.glob("pages/*.py"), *root.glob("ui/**/*.py"), root / "app.py"]:
        if path.name == "runs.py" and path.parent.name == "tlcore":
            continue
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(root))
        offenders += [f"{rel}: {n}" for n in names if n in text and (rel, n) not in allowed]
    assert offenders == []
