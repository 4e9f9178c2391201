"""The check folder: the one owner of where a dataset's latest data check lives.

Every dataset (keyed by :func:`tlcore.data.source.dataset_key`) has one folder in the workspace::

    <workspace>/checks/<key>/
      config.json     the TrainConfig the check read the dataset and features with
      events.jsonl    the check job's event stream (schema: tlcore.events), append-only
      check.json      the result (tlcore.checks.run.DataCheck.to_dict), once finished
      log.txt         the job process's output (tracebacks of unexpected errors)
      CANCEL          present = stop asked for

A new check of the same dataset replaces the folder's result when it finishes; no other
module spells these names.
"""

from __future__ import annotations

from pathlib import Path

from .. import runs
from ..config import TrainConfig, load_config, save_config
from ..data.source import dataset_key
from ..runfiles import read_json, write_json_atomic
from ..workspace import Workspace, default_workspace

CHECKS_DIR = "checks"
RESULT = "check.json"
# The settings, the event stream and the job's log have the run folder's names (and formats).
CONFIG, EVENTS, LOG, CANCEL = runs.CONFIG, runs.EVENTS, runs.LOG, runs.CANCEL


class CheckFolder(runs.EventFolder):
    """The folder of one dataset's latest check."""

    def __init__(self, data: str | Path, workspace: Workspace | None = None):
        workspace = workspace or default_workspace()
        self.path = workspace.root / CHECKS_DIR / dataset_key(data)

    @classmethod
    def at(cls, path: str | Path) -> "CheckFolder":
        """The check folder at ``path`` (as a check job is told where it works)."""
        folder = cls.__new__(cls)
        folder.path = Path(path)
        return folder

    config_path = property(lambda self: self.path / CONFIG)
    events_path = property(lambda self: self.path / EVENTS)
    result_path = property(lambda self: self.path / RESULT)
    log_path = property(lambda self: self.path / LOG)
    cancel_path = property(lambda self: self.path / CANCEL)

    def request_cancel(self) -> None:
        """Ask the running check to stop at its next batch of pictures."""
        self.cancel_path.touch()

    def cancel_requested(self) -> bool:
        return self.cancel_path.exists()

    def begin(self, config: TrainConfig) -> None:
        """Start a new check: its settings, and a fresh event stream (the last result stays until replaced)."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_config(config, self.config_path)
        self.cancel_path.unlink(missing_ok=True)
        # Emptied, not removed: the check job's lock is an flock on this very file.
        with open(self.events_path, "w", encoding="utf-8"):
            pass

    def config(self) -> TrainConfig:
        return load_config(self.config_path)

    def result(self) -> dict | None:
        """The latest finished check (a dict as DataCheck.to_dict writes it), or None."""
        value = read_json(self.result_path) if self.result_path.is_file() else None
        return value if isinstance(value, dict) else None

    def write_result(self, result: dict) -> None:
        write_json_atomic(self.result_path, result)
