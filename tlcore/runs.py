"""The run folder: the one owner of its file names, readers, writers and status.

Every training run lives in one folder::

    config.json        the TrainConfig (replay the run from it alone)
    events.jsonl       the event stream (schema: tlcore.events), append-only
    log.txt            the job process's output (tracebacks of unexpected errors)
    job.json           the job process's pid
    queue_ticket       where the run waits in the training queue
    CANCEL             present once a cancel was asked for
    labels.json        class names, in the order of the model's outputs
    data_report.json   the dataset check the run trained on
    model.keras        the trained model (images in, probabilities out)
    evaluation.json    figures on validation (and test) images, with 95 % intervals
    trust.json         temperature, threshold and "I don't know" limits (tlcore.trust.settings)
    prototypes.npy     the training pictures' unit feature vectors "I don't know" measures against
    predictions.json   calibrated probabilities and similarities of each val/test image
    checkpoint*.weights.h5   best weights so far, while training
    export/            downloads made from the run (tlcore.export), with its own events

No other module spells these names: they ask a :class:`RunFolder`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import events as ev
from .config import TrainConfig, load_config, save_config
from .errors import TLCoreError
from .process import JOB_MODULE, process_alive  # noqa: F401  (re-exported: the jobs import them from here)
from .runfiles import append_jsonl, read_array, read_json, read_jsonl, write_array_atomic, write_json_atomic

CONFIG = "config.json"
EVENTS = "events.jsonl"
LOG = "log.txt"
JOB = "job.json"
QUEUE_TICKET = "queue_ticket"
CANCEL = "CANCEL"
LABELS = "labels.json"
DATA_REPORT = "data_report.json"
MODEL = "model.keras"
MODEL_TMP = ".model.tmp.keras"  # Keras insists on the suffix; renamed over MODEL when complete
EVALUATION = "evaluation.json"
TRUST = "trust.json"
PROTOTYPES = "prototypes.npy"
PREDICTIONS = "predictions.json"
TOKENIZER = "tokenizer"  # text runs: the folder the tokenizer is saved in (model.keras takes tokens)
CHECKPOINT = "checkpoint.weights.h5"
HEAD_CHECKPOINT = "checkpoint_head.weights.h5"
EXPORT_DIR = "export"
FEATURES_TABLE = "features.parquet"  # written into EXPORT_DIR on request
EXPORT_EVENTS = "events.jsonl"  # in EXPORT_DIR: the export job's own status events
EXPORT_LOG = "log.txt"  # in EXPORT_DIR: the export job's output

ACTIVE, FINAL = ev.ACTIVE, ev.FINAL  # statuses: the event schema owns them

_FRESH_S = 10.0  # a run whose job has not written its pid yet counts as starting for this long


def _dict_or_none(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "run"


class EventFolder:
    """A folder with an append-only event stream at ``events_path`` (a run's, a data check's)."""

    events_path: Path

    def events(self) -> list[dict]:
        return read_jsonl(self.events_path)

    def emit(self, event: dict) -> None:
        """Append one event to the stream."""
        append_jsonl(self.events_path, event)

    def log_status(self, status: str, message: str = "", **fields: Any) -> None:
        """Record that the job is now ``status`` (one of tlcore.events.STATUSES)."""
        self.emit(ev.status_event(status, message, **fields))


class RunFolder(EventFolder):
    """One run's folder: where each file is, and how it is read and written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @classmethod
    def create(cls, runs_dir: str | Path, config: TrainConfig, name: str | None = None) -> "RunFolder":
        """A fresh, uniquely named run folder: ``YYYYmmdd-HHMMSS-<backbone>-<fe|ft>[-name]``."""
        runs_dir = Path(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        backbone = Path(config.backbone_file).stem if config.backbone_file else config.backbone
        base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(backbone)}-{'ft' if config.mode == 'fine-tune' else 'fe'}"
        if name:
            base += "-" + _slug(name)
        for i in range(1000):
            candidate = runs_dir / (base if i == 0 else f"{base}-{i}")
            try:
                candidate.mkdir()
                return cls(candidate)
            except FileExistsError:
                continue
        raise TLCoreError("Could not create a new run folder.", f"clean up {runs_dir}.")

    # ------------------------------------------------------------------ where things are
    @property
    def run_id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / CONFIG)
    events_path = property(lambda self: self.path / EVENTS)
    log_path = property(lambda self: self.path / LOG)
    job_path = property(lambda self: self.path / JOB)
    ticket_path = property(lambda self: self.path / QUEUE_TICKET)
    cancel_path = property(lambda self: self.path / CANCEL)
    labels_path = property(lambda self: self.path / LABELS)
    data_report_path = property(lambda self: self.path / DATA_REPORT)
    model_path = property(lambda self: self.path / MODEL)
    model_tmp_path = property(lambda self: self.path / MODEL_TMP)
    evaluation_path = property(lambda self: self.path / EVALUATION)
    trust_path = property(lambda self: self.path / TRUST)
    prototypes_path = property(lambda self: self.path / PROTOTYPES)
    predictions_path = property(lambda self: self.path / PREDICTIONS)
    tokenizer_path = property(lambda self: self.path / TOKENIZER)
    checkpoint_path = property(lambda self: self.path / CHECKPOINT)
    head_checkpoint_path = property(lambda self: self.path / HEAD_CHECKPOINT)
    export_dir = property(lambda self: self.path / EXPORT_DIR)
    features_table_path = property(lambda self: self.path / EXPORT_DIR / FEATURES_TABLE)
    export_events_path = property(lambda self: self.path / EXPORT_DIR / EXPORT_EVENTS)
    export_log_path = property(lambda self: self.path / EXPORT_DIR / EXPORT_LOG)

    @property
    def is_run(self) -> bool:
        """The folder holds a run (its settings were written)."""
        return self.config_path.is_file()

    @property
    def has_model(self) -> bool:
        return self.model_path.is_file()

    @property
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.exists() or self.head_checkpoint_path.exists()

    def require(self) -> "RunFolder":
        """This folder, or a TLCoreError saying it is not a run folder."""
        if not self.is_run:
            raise TLCoreError(f"{self.path} is not a run folder.", "pick a run from the runs list.")
        return self

    def require_model(self) -> Path:
        """The run's model file, or a TLCoreError saying why there is none yet."""
        if not self.path.is_dir():
            raise TLCoreError(f"Run folder {self.path} does not exist.",
                              "give the folder printed at the end of training.")
        if not self.has_model:
            raise TLCoreError(
                f"Run {self.run_id} has no {MODEL} yet.",
                "wait for the run to finish (a cancelled run also saves its model), or pick another run.",
            )
        return self.model_path

    # ------------------------------------------------------------------ settings and results
    def write_config(self, config: TrainConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        save_config(config, self.config_path)

    def config(self) -> TrainConfig:
        """The run's settings (TLCoreError when the file is missing or not valid)."""
        return load_config(self.config_path)

    def config_dict(self) -> dict:
        """The saved settings as a plain dict ({} when missing or unreadable): for display."""
        value = read_json(self.config_path)
        return value if isinstance(value, dict) else {}

    def labels(self) -> list[str] | None:
        value = read_json(self.labels_path)
        return [str(c) for c in value] if isinstance(value, list) else None

    def write_labels(self, classes: Iterable[str]) -> None:
        write_json_atomic(self.labels_path, list(classes))

    def evaluation(self) -> dict | None:
        return _dict_or_none(read_json(self.evaluation_path))

    def write_evaluation(self, evaluation: dict) -> None:
        write_json_atomic(self.evaluation_path, evaluation)

    def trust(self) -> dict | None:
        return _dict_or_none(read_json(self.trust_path))

    def write_trust(self, trust: dict) -> None:
        write_json_atomic(self.trust_path, trust)

    def predictions(self) -> dict | None:
        return _dict_or_none(read_json(self.predictions_path))

    def write_predictions(self, predictions: dict) -> None:
        write_json_atomic(self.predictions_path, predictions)

    def prototypes(self):
        return read_array(self.prototypes_path)

    def write_prototypes(self, prototypes) -> None:
        write_array_atomic(self.prototypes_path, prototypes)

    def data_report(self) -> dict | None:
        return _dict_or_none(read_json(self.data_report_path))

    def write_data_report(self, report: dict) -> None:
        write_json_atomic(self.data_report_path, report)

    def save_tokenizer(self, tokenizer) -> None:
        """Text runs: the tokenizer beside the model (see :func:`tlcore.text.encoders.save_tokenizer`)."""
        from .text.encoders import save_tokenizer

        save_tokenizer(tokenizer, self.tokenizer_path)

    def save_model(self, model) -> None:
        """Save ``model`` so that a reader never sees half a file."""
        tmp = self.model_tmp_path
        try:
            model.save(tmp)
            tmp.replace(self.model_path)
        finally:
            tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------ events and status

    def export_events(self) -> list[dict]:
        """The export job's events (same schema as a run's; empty when never exported)."""
        return read_jsonl(self.export_events_path)

    def log_export_status(self, status: str, message: str = "", **fields: Any) -> None:
        self.export_dir.mkdir(parents=True, exist_ok=True)
        append_jsonl(self.export_events_path, ev.status_event(status, message, **fields))

    def job_pid(self) -> int | None:
        value = read_json(self.job_path)
        pid = value.get("pid") if isinstance(value, dict) else None
        return pid if isinstance(pid, int) else None

    def write_job(self, pid: int, **fields: Any) -> None:
        write_json_atomic(self.job_path, {"pid": pid, "started": time.time(), **fields})

    def request_cancel(self) -> None:
        """Ask the run to stop: a queued run never starts; a running one stops at the next batch."""
        self.require()
        self.cancel_path.touch()

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_path.exists()

    def status(self, events: list[dict] | None = None) -> "RunStatus":
        """Where the run stands, folded from its events (a vanished job reads "interrupted")."""
        events = self.events() if events is None else events
        pid = self.job_pid()
        st = RunStatus(self.run_id, self.path, "unknown", config=self.config_dict(), pid=pid)
        for event in events:
            st.feed(event)
        if st.status in ACTIVE and not process_alive(pid):
            fresh = pid is None and events and time.time() - events[-1].get("t", 0) < _FRESH_S
            if not fresh:
                st.status = ev.INTERRUPTED
                st.message = "The training process stopped unexpectedly (killed, or the server restarted)."
        return st


@dataclass
class RunStatus:
    """Everything a page shows about one run."""

    run_id: str
    run_dir: Path
    status: str
    message: str = ""
    config: dict = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    accuracy: float | None = None
    test_accuracy: float | None = None
    last_epoch: dict | None = None
    last_batch: dict | None = None
    stage: str | None = None
    stage_message: str | None = None
    pid: int | None = None

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def feed(self, event: dict) -> None:
        """Fold one event into the status."""
        kind = event.get("type")
        if kind == ev.STATUS:
            self.status = event.get("status", self.status)
            self.message = event.get("message", "") or ""
            if self.status == ev.RUNNING and self.started is None:
                self.started = event.get("t")
            if self.status in FINAL:
                self.ended = event.get("t")
                self.accuracy = event.get("accuracy", self.accuracy)
                self.test_accuracy = event.get("test_accuracy", self.test_accuracy)
        elif kind == ev.EPOCH:
            self.last_epoch = event
        elif kind == ev.BATCH:
            self.last_batch = event
        elif kind == ev.STAGE:
            self.stage, self.stage_message = event.get("stage"), event.get("message")


def run_status(run_dir: str | Path, events: list[dict] | None = None) -> RunStatus:
    """Where the run in ``run_dir`` stands (see :meth:`RunFolder.status`)."""
    return RunFolder(run_dir).status(events)


def read_events(run_dir: str | Path) -> list[dict]:
    return RunFolder(run_dir).events()


def run_folders(runs_dir: str | Path) -> list[RunFolder]:
    """Every run folder in ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    folders = [RunFolder(p) for p in runs_dir.iterdir() if RunFolder(p).is_run]
    return sorted(folders, key=lambda f: f.run_id, reverse=True)


def list_runs(runs_dir: str | Path) -> list[RunStatus]:
    """All runs in ``runs_dir``, newest first."""
    return [folder.status() for folder in run_folders(runs_dir)]


def mark_interrupted(runs_dir: str | Path) -> list[str]:
    """Record "interrupted" for runs whose process is gone (call when the app starts)."""
    marked = []
    for folder in run_folders(runs_dir):
        events = folder.events()
        st = folder.status(events)
        last = ev.last_status(events) or {}
        if last.get("status") in ACTIVE and st.status == ev.INTERRUPTED:
            kept = " Its last checkpoint is kept in the run folder." if folder.has_checkpoint else ""
            folder.log_status(ev.INTERRUPTED, st.message + kept)
            marked.append(st.run_id)
    return marked


def cancel_run(run_dir: str | Path) -> None:
    """Ask a run to stop: a queued run never starts; a running one stops at the next batch
    and keeps its best weights."""
    RunFolder(run_dir).request_cancel()


__all__ = ["RunFolder", "RunStatus", "cancel_run", "list_runs", "mark_interrupted", "process_alive",
           "read_events", "run_folders", "run_status", *[n for n in dir() if n.isupper() and not n.startswith("_")]]
