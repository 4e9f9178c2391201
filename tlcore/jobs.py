"""Training runs as jobs: each in its own process, queued, cancellable, outliving the page.

A run is a folder (see docs/ARCHITECTURE.md). :func:`start_run` writes ``config.json``, logs
"queued" and starts ``python -m tlcore.jobs RUN_DIR`` in a new process session, so closing
the browser tab or reloading the page does not stop it. The job waits for the machine-wide
training lock (one run at a time uses the CPU/GPU; the others queue), then trains. Its
status is read back from the append-only ``events.jsonl``; a process that vanished without
a final status (killed, server restart) is reported as "interrupted".
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .config import TrainConfig, load_config, save_config
from .errors import TLCoreError
from .runfiles import append_jsonl, read_jsonl, write_json_atomic
from .workspace import Workspace, default_workspace_root

ACTIVE = ("queued", "running")
FINAL = ("finished", "failed", "cancelled", "interrupted")
CANCEL_FILE = "CANCEL"
_POLL_S = 0.5


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "run"


def new_run_dir(runs_dir: str | Path, config: TrainConfig, name: str | None = None) -> Path:
    """A fresh, unique run folder name: ``YYYYmmdd-HHMMSS-<backbone>-<mode>[-name]``."""
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
            return candidate
        except FileExistsError:
            continue
    raise TLCoreError("Could not create a new run folder.", f"clean up {runs_dir}.")


def default_lock_path() -> Path:
    return default_workspace_root() / "train.lock"


def start_run(config: TrainConfig, runs_dir: str | Path, *, workspace: Workspace | None = None,
              name: str | None = None, lock_path: str | Path | None = None) -> Path:
    """Start training ``config`` in a background process; returns the run folder at once."""
    config.validate()
    workspace = workspace or Workspace(default_workspace_root())
    run_dir = new_run_dir(runs_dir, config, name)
    save_config(config, run_dir / "config.json")
    append_jsonl(run_dir / "events.jsonl", {"t": time.time(), "type": "status", "status": "queued",
                                            "message": "Waiting to start"})
    lock = Path(lock_path) if lock_path else default_lock_path()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    with open(run_dir / "log.txt", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tlcore.jobs", str(run_dir), "--workspace", str(workspace.root),
             "--lock", str(lock)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the page, the tab and the server's Ctrl-C
            env=env,
        )
    write_json_atomic(run_dir / "job.json", {"pid": proc.pid, "started": time.time()})
    return run_dir


def cancel_run(run_dir: str | Path) -> None:
    """Ask a run to stop: a queued run never starts; a running one stops at the next batch
    and keeps its best weights."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise TLCoreError(f"{run_dir} is not a run folder.", "pick a run from the runs list.")
    (run_dir / CANCEL_FILE).touch()


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        # Reap it if it is our own finished child, so it does not linger as a zombie.
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        if state in (b"Z", b"X"):
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"tlcore.jobs" in fh.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:  # no /proc (not Linux): fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


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
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def read_events(run_dir: str | Path) -> list[dict]:
    return read_jsonl(Path(run_dir) / "events.jsonl")


def run_status(run_dir: str | Path, events: list[dict] | None = None) -> RunStatus:
    run_dir = Path(run_dir)
    events = read_events(run_dir) if events is None else events
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        config = {}
    try:
        pid = json.loads((run_dir / "job.json").read_text()).get("pid")
    except (OSError, json.JSONDecodeError):
        pid = None
    st = RunStatus(run_dir.name, run_dir, "unknown", config=config, pid=pid)
    for ev in events:
        kind = ev.get("type")
        if kind == "status":
            st.status = ev.get("status", st.status)
            st.message = ev.get("message", "") or ""
            if st.status == "running" and st.started is None:
                st.started = ev.get("t")
            if st.status in FINAL:
                st.ended = ev.get("t")
                st.accuracy = ev.get("accuracy", st.accuracy)
                st.test_accuracy = ev.get("test_accuracy", st.test_accuracy)
        elif kind == "epoch":
            st.last_epoch = ev
        elif kind == "batch":
            st.last_batch = ev
        elif kind == "stage":
            st.stage, st.stage_message = ev.get("stage"), ev.get("message")
    if st.status in ACTIVE and not _pid_alive(pid):
        # Give a just-started process a moment to write its pid file.
        fresh = pid is None and events and time.time() - events[-1].get("t", 0) < 10
        if not fresh:
            st.status = "interrupted"
            st.message = "The training process stopped unexpectedly (killed, or the server restarted)."
    return st


def list_runs(runs_dir: str | Path) -> list[RunStatus]:
    """All runs in ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [run_status(p) for p in runs_dir.iterdir() if (p / "config.json").is_file()]
    return sorted(runs, key=lambda r: r.run_id, reverse=True)


def mark_interrupted(runs_dir: str | Path) -> list[str]:
    """Record "interrupted" for runs whose process is gone (call when the app starts)."""
    marked = []
    for st in list_runs(runs_dir):
        events = read_events(st.run_dir)
        last = next((e for e in reversed(events) if e.get("type") == "status"), {})
        if last.get("status") in ACTIVE and st.status == "interrupted":
            checkpoint = any((st.run_dir / n).exists() for n in ("checkpoint.weights.h5", "checkpoint_head.weights.h5"))
            append_jsonl(st.run_dir / "events.jsonl", {
                "t": time.time(), "type": "status", "status": "interrupted",
                "message": st.message + (" Its last checkpoint is kept in the run folder." if checkpoint else ""),
            })
            marked.append(st.run_id)
    return marked


# ---------------------------------------------------------------- the job process


def _acquire(lock_path: Path, cancelled) -> int | None:
    """Wait for the training lock; None if the run was cancelled while queued."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    while True:
        # Checked before every try, not only while waiting: a run cancelled before its process
        # got here (or while the lock was free) must not start either.
        if cancelled():
            os.close(fd)  # closing the file also releases the lock if we held it
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            time.sleep(_POLL_S)
            continue
        if cancelled():
            os.close(fd)
            return None
        return fd


def run_job(run_dir: str | Path, workspace_root: str | Path, lock_path: str | Path) -> int:
    """Body of the job process: queue, train, record the outcome. Returns an exit code."""
    from .runfiles import append_jsonl as log_event

    run_dir = Path(run_dir)
    events = run_dir / "events.jsonl"
    cancel_file = run_dir / CANCEL_FILE
    cancelled = cancel_file.exists
    signal.signal(signal.SIGTERM, lambda *_: cancel_file.touch())
    try:
        config = load_config(run_dir / "config.json")
        fd = _acquire(Path(lock_path), cancelled)
        if fd is None:
            log_event(events, {"t": time.time(), "type": "status", "status": "cancelled",
                               "message": "Cancelled before it started."})
            return 0
        try:
            import keras  # noqa: F401  (seconds of TensorFlow start-up, while the run still shows "queued")

            from .train import train

            if cancelled():  # the last moment a queued run can be cancelled without starting
                log_event(events, {"t": time.time(), "type": "status", "status": "cancelled",
                                   "message": "Cancelled before it started."})
                return 0
            train(config, run_dir, should_stop=cancelled, workspace=Workspace(workspace_root))
        finally:
            os.close(fd)
        return 0
    except TLCoreError as err:
        log_event(events, {"t": time.time(), "type": "status", "status": "failed", "message": str(err)})
        return 2
    except BaseException as err:  # the run must end with a status whatever happened
        traceback.print_exc()
        log_event(events, {"t": time.time(), "type": "status", "status": "failed",
                           "message": f"{type(err).__name__}: {err}. Details are in {run_dir / 'log.txt'}."})
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlcore.jobs", description="Run one training job folder.")
    parser.add_argument("run_dir")
    parser.add_argument("--workspace", default=str(default_workspace_root()))
    parser.add_argument("--lock", default=str(default_lock_path()))
    args = parser.parse_args(argv)
    return run_job(args.run_dir, args.workspace, args.lock)


if __name__ == "__main__":
    sys.exit(main())
