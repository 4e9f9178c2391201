"""The data check as a background job: a process of its own that the Data page watches.

:func:`start_check` writes the check's settings into the dataset's check folder
(:class:`tlcore.checks.store.CheckFolder`), logs "queued" and starts ``python -m tlcore.jobs
--check FOLDER``, which runs :func:`tlcore.checks.check_dataset` with its events written to the
folder, so a check of thousands of images never blocks the page and outlives it. One check of
a dataset runs at a time: the job holds an ``flock`` on the folder's events file until its
outcome is recorded (as the export job does). :func:`check_status` folds the events.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import events as ev
from ..checks.store import CheckFolder
from ..config import TrainConfig
from ..errors import TLCoreError
from ..progress import Progress, progress_of
from ..runs import JOB_MODULE
from ..workspace import Workspace, default_workspace
from .outcome import with_final_status
from .queue import job_env, lock_is_free, try_lock

_INTERRUPTED = ("The check stopped unexpectedly (its process was killed, or the server restarted). "
                "Fix: start the check again.")


@dataclass
class CheckStatus:
    """Where a dataset's latest check stands.

    Attributes:
        status: One of tlcore.events.STATUSES, or None when the dataset was never checked.
        message: The latest status in words (for "failed": what went wrong and how to fix it).
        progress: The bar: feature pass with images/s and time left, then each check step.
        result: The latest finished check (``DataCheck.to_dict()``), or None (read on access).
    """

    status: str | None = None
    message: str = ""
    progress: Progress | None = None
    started: float | None = None
    ended: float | None = None
    folder: CheckFolder | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ev.ACTIVE

    @property
    def result(self) -> dict | None:
        # Read when asked, not on every status probe: the page polls the status each second
        # while a check runs, and a finished check of thousands of pictures is megabytes.
        return self.folder.result() if self.folder is not None else None


def start_check(config: TrainConfig, *, workspace: Workspace | None = None, folds: int | None = None) -> None:
    """Check ``config.data`` in a background process; returns at once (watch it with :func:`check_status`).

    Raises:
        TLCoreError: A setting is wrong, or a check of this dataset is already running.
    """
    config.validate()
    if not config.data:
        raise TLCoreError("No dataset was given.", "choose your images on the Data page first.")
    workspace = workspace or default_workspace()
    folder = CheckFolder(config.data, workspace)
    folder.path.mkdir(parents=True, exist_ok=True)
    fd = try_lock(folder.events_path)
    if fd is None:
        raise TLCoreError("A check of this dataset is already running.", "wait for it to finish; its results then appear here.")
    try:
        folder.begin(config)
        command = [sys.executable, "-m", JOB_MODULE, "--check", str(folder.path), "--workspace", str(workspace.root),
                   "--lock-fd", str(fd)]
        if folds:
            command += ["--folds", str(int(folds))]
        with open(folder.log_path, "ab") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, pass_fds=(fd,), env=job_env())
        folder.log_status(ev.QUEUED, "Waiting to start", pid=proc.pid)
    finally:
        os.close(fd)


def check_status(data: str | Path, *, workspace: Workspace | None = None) -> CheckStatus:
    """Where the latest check of dataset ``data`` stands, and its latest result."""
    folder = CheckFolder(data, workspace)
    events = folder.events()
    status = CheckStatus(folder=folder)
    for event in events:
        if ev.is_status(event):
            status.status, status.message = event.get("status"), event.get("message", "") or ""
            if status.status == ev.QUEUED:
                status.started = event.get("t")
            if status.status in ev.FINAL:
                status.ended = event.get("t")
    if status.active and lock_is_free(folder.events_path):
        status.status, status.message = ev.INTERRUPTED, _INTERRUPTED
    if events:
        status.progress = progress_of(events, None)
    return status


def cancel_check(data: str | Path, *, workspace: Workspace | None = None) -> None:
    """Ask the running check of dataset ``data`` to stop (at its next batch of pictures)."""
    CheckFolder(data, workspace).request_cancel()


def latest_check(data: str | Path, *, workspace: Workspace | None = None) -> dict | None:
    """The latest finished check of dataset ``data`` (``DataCheck.to_dict()``), or None."""
    return CheckFolder(data, workspace).result()


def run_check(folder_path: str | Path, *, workspace_root: str | Path, folds: int | None = None,
              lock_fd: int | None = None) -> int:
    """Body of the check job: check, save the result, record the outcome. Returns an exit code."""
    try:
        folder = CheckFolder.at(folder_path)
        workspace = Workspace(workspace_root)

        def work() -> int:
            from ..checks.run import check_dataset

            config = folder.config()
            folder.log_status(ev.RUNNING, "Checking your pictures", pid=os.getpid())
            try:
                result = check_dataset(config, workspace=workspace, folds=folds, on_event=folder.emit,
                                       should_stop=folder.cancel_requested)
            except KeyboardInterrupt:  # asked to stop: the features computed so far stay cached
                folder.log_status(ev.CANCELLED, "Stopped. The pictures read so far are remembered: checking again "
                                  "goes on from there.")
                return 0
            folder.write_result(result.to_dict())
            folder.log_status(ev.FINISHED, "Done.", seconds=result.values.get("seconds"))
            return 0

        return with_final_status(work, folder.log_status, folder.log_path)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
