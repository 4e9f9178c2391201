"""Long work as jobs: each in a process of its own, queued, cancellable, outliving the page.

A training run is a folder (:class:`tlcore.runs.RunFolder`); :func:`start_run` starts the
process that trains it, queued behind the machine-wide training lock
(:mod:`tlcore.jobs.queue`), cold or in a warm standby that has TensorFlow loaded already
(:mod:`tlcore.jobs.standby`). Exports and data checks run the same way (:mod:`tlcore.jobs.export_job`, :mod:`tlcore.jobs.check_job`). Reading
a run back (status, events, the runs list, cancelling) belongs to :mod:`tlcore.runs`; its names
are re-exported here for callers of this module. Nothing here imports TensorFlow: only the job
processes do.
"""

from __future__ import annotations

from ..runs import RunStatus, cancel_run, list_runs, mark_interrupted, read_events, run_status
from .check_job import CheckStatus, cancel_check, check_status, latest_check, start_check
from .export_job import ExportStatus, export_status, start_export
from .launch import new_run_dir, start_run
from .queue import default_lock_path, run_job
from .standby import (ensure_standby, ready_standby, run_standby, standby_idle_seconds, stop_standbys,
                      warm_worker_enabled)

__all__ = ["CheckStatus", "cancel_check", "check_status", "latest_check", "start_check", "ExportStatus", "RunStatus", "cancel_run", "default_lock_path", "ensure_standby", "export_status",
           "list_runs", "mark_interrupted", "new_run_dir", "read_events", "ready_standby", "run_job", "run_standby",
           "run_status", "standby_idle_seconds", "start_export", "start_run", "stop_standbys", "warm_worker_enabled"]
