"""Starting a training run: its folder, its place in the queue, and the process that trains it.

:func:`start_run` writes the run folder (:class:`tlcore.runs.RunFolder`), logs "queued", takes a
queue ticket and starts ``python -m tlcore.jobs RUN_DIR`` in a new process session, so closing
the browser tab, reloading the page or stopping the server does not stop it; with ``warm=True``
it hands the run to a ready standby instead (no TensorFlow start-up) and keeps the next one
ready. Its status is then read back from the run folder (:func:`tlcore.runs.run_status`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .. import events as ev
from ..config import TrainConfig
from ..runs import JOB_MODULE, RunFolder
from ..workspace import Workspace, default_workspace_root
from .queue import job_env, lock_or_default, take_ticket
from .standby import ensure_standby, hand_to_standby, warm_worker_enabled


def new_run_dir(runs_dir: str | Path, config: TrainConfig, name: str | None = None) -> Path:
    """A fresh, unique run folder: ``YYYYmmdd-HHMMSS-<backbone>-<mode>[-name]`` (see :meth:`RunFolder.create`)."""
    return RunFolder.create(runs_dir, config, name).path


def start_run(config: TrainConfig, runs_dir: str | Path, *, workspace: Workspace | None = None,
              name: str | None = None, lock_path: str | Path | None = None, warm: bool = False) -> Path:
    """Start training ``config`` in a background process; returns the run folder at once.

    Args:
        config: The run's settings; validated here.
        runs_dir: Folder that receives the new run folder.
        workspace: Workspace whose cache the run uses (default: ``TLCORE_WORKSPACE``).
        name: Optional name appended to the run folder's name.
        lock_path: The training lock the run queues on (default: ``<workspace root>/train.lock``).
        warm: Hand the run to a ready standby process (no TensorFlow start-up) when warm mode
            is on (``TLCORE_WARM_WORKER``), and keep a new standby ready for the next run.
            Without a usable standby the run starts in a fresh process, as with ``warm=False``.
    """
    from ..train.stages import prefer_text_encoder

    config.validate()
    prefer_text_encoder(config)  # text data: the folder is named after the text encoder the run uses
    workspace = workspace or Workspace(default_workspace_root())
    folder = RunFolder.create(runs_dir, config, name)
    folder.write_config(config)
    folder.log_status(ev.QUEUED, "Waiting to start")
    lock = lock_or_default(lock_path)
    take_ticket(lock, folder)
    warm = warm and warm_worker_enabled()
    pid = hand_to_standby(lock, folder, workspace.root) if warm else None
    if pid is None:
        with open(folder.log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", JOB_MODULE, str(folder.path), "--workspace", str(workspace.root),
                 "--lock", str(lock)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the page, the tab and the server's Ctrl-C
                env=job_env(),
            )
        folder.write_job(proc.pid)
    if warm:
        try:
            ensure_standby(lock)  # the next run starts warm too
        except OSError as err:  # the run itself has started; only the next one would be slower
            print(f"tlcore.jobs: could not start a standby job process: {err}", file=sys.stderr)
    return folder.path
