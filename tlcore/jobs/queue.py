"""The training queue: one run at a time trains, the others wait their turn in click order.

A job process (``python -m tlcore.jobs RUN_DIR``, cold or in a warm standby) runs
:func:`run_job`: it waits for its queue ticket to come first and for the machine-wide training
lock (an ``flock`` on ``<workspace root>/train.lock``, released by the kernel if the process
dies), then trains and records the outcome in the run's events. Tickets live beside the lock in
``queue/``, named by the time they were taken; the lock alone would let whichever waiting
process tries first win. This module also owns what every job process inherits: its command
(:data:`tlcore.runs.JOB_MODULE`) and environment (:func:`job_env`).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from pathlib import Path
from typing import Callable

from .. import events as ev
from ..runfiles import write_json_atomic
from ..runs import RunFolder, run_status
from ..workspace import Workspace, default_workspace_root
from .outcome import with_final_status

_POLL_S = 0.5


def default_lock_path() -> Path:
    return default_workspace_root() / "train.lock"


def lock_or_default(lock_path: str | Path | None) -> Path:
    """The training lock given, or the default one."""
    return Path(lock_path) if lock_path else default_lock_path()


def job_env() -> dict[str, str]:
    """The environment of every job process, cold or standby."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def lock_is_free(lock: Path) -> bool:
    """Whether no job holds the training lock right now (a probe that holds nothing)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True  # closing the file releases it at once
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def try_lock(path: Path) -> int | None:
    """An fd holding an exclusive ``flock`` on ``path`` (created if missing), or None while another
    job holds it. A job that inherits the fd holds the lock until it exits; the kernel lets go
    of it if the job dies, so a job gone without a final status is seen as interrupted."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    for _ in range(10):  # a status probe holds it for microseconds
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(0.02)
    os.close(fd)
    return None


# ---------------------------------------------------------------- tickets
def _queue_dir(lock: Path) -> Path:
    return lock.parent / "queue"


def take_ticket(lock: Path, folder: RunFolder) -> None:
    """Queue the run in click order: a ticket named by the time, holding the run folder.

    The training lock alone does not say who goes next (whichever waiting process tries
    first wins), so runs also wait until no earlier live ticket is left.
    """
    queue = _queue_dir(lock)
    queue.mkdir(parents=True, exist_ok=True)
    ticket = queue / f"{time.time_ns():020d}-{os.getpid()}-{folder.run_id}"
    write_json_atomic(ticket, {"run_dir": str(folder.path)})
    write_json_atomic(folder.ticket_path, {"ticket": str(ticket)})


def _my_ticket(folder: RunFolder) -> Path | None:
    try:
        return Path(json.loads(folder.ticket_path.read_text(encoding="utf-8"))["ticket"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a run folder made before tickets existed: the lock alone decides


def _first_in_line(ticket: Path) -> bool:
    """True when no earlier ticket belongs to a run still queued or running (stale ones are removed)."""
    try:
        earlier = sorted(p for p in ticket.parent.iterdir() if p.name < ticket.name and not p.name.startswith("."))
    except OSError:
        return True
    for other in earlier:
        try:
            run_dir = Path(json.loads(other.read_text(encoding="utf-8"))["run_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            run_dir = None
        if run_dir is not None and run_dir.is_dir() and run_status(run_dir).active:
            return False
        other.unlink(missing_ok=True)  # finished, cancelled, interrupted or gone
    return True


def _acquire(lock_path: Path, cancelled: Callable[[], bool], ticket: Path | None = None) -> int | None:
    """Wait for our turn and the training lock; None if the run was cancelled while queued."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        # Checked before every try, not only while waiting: a run cancelled before its process
        # got here (or while the lock was free) must not start either.
        if cancelled():
            os.close(fd)  # closing the file also releases the lock if we held it
            return None
        if ticket is not None and not _first_in_line(ticket):
            time.sleep(_POLL_S)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            time.sleep(_POLL_S)
            continue
        if cancelled():
            os.close(fd)
            return None
        return fd


# ---------------------------------------------------------------- the job process
def run_job(run_dir: str | Path, workspace_root: str | Path, lock_path: str | Path) -> int:
    """Body of the job process: queue, train, record the outcome. Returns an exit code."""
    folder = RunFolder(run_dir)

    def cancelled() -> bool:
        return folder.cancel_requested

    signal.signal(signal.SIGTERM, lambda *_: folder.cancel_path.touch())

    def work() -> int:
        config = folder.config()
        ticket = _my_ticket(folder)
        try:
            fd = _acquire(Path(lock_path), cancelled, ticket)
        finally:
            if ticket is not None:
                ticket.unlink(missing_ok=True)  # holding the lock (or leaving the queue) ends the wait
        if fd is None:
            folder.log_status(ev.CANCELLED, "Cancelled before it started.")
            return 0
        try:
            import keras  # noqa: F401  (seconds of TensorFlow start-up, while the run still shows "queued")

            from ..train import train

            if cancelled():  # the last moment a queued run can be cancelled without starting
                folder.log_status(ev.CANCELLED, "Cancelled before it started.")
                return 0
            train(config, folder.path, should_stop=cancelled, workspace=Workspace(workspace_root))
        finally:
            os.close(fd)
        return 0

    return with_final_status(work, folder.log_status, folder.log_path)
