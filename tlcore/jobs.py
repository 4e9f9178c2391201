"""Training runs as jobs: each in its own process, queued, cancellable, outliving the page.

A run is a folder (see docs/ARCHITECTURE.md). :func:`start_run` writes ``config.json``, logs
"queued" and starts ``python -m tlcore.jobs RUN_DIR`` in a new process session, so closing
the browser tab or reloading the page does not stop it. The job waits for the machine-wide
training lock (one run at a time uses the CPU/GPU; the others queue), then trains. Its
status is read back from the append-only ``events.jsonl``; a process that vanished without
a final status (killed, server restart) is reported as "interrupted".

Importing TensorFlow/Keras takes seconds, so the app keeps one *standby* job process warm
(:func:`ensure_standby`): it imports Keras and the training code up front, then waits in
``<lock folder>/standby/`` for a run. ``start_run(..., warm=True)`` hands the run to it
instead of starting a cold process; the standby then runs exactly what a cold job runs
(:func:`run_job`). A standby is used only by callers whose interpreter, folder and
environment match its own (see :func:`_fingerprint`), and exits by itself when idle, or
as soon as the process that started it (the app's server) is gone. A run it has taken
outlives the server, as a cold job does.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .config import TrainConfig, load_config, save_config
from .errors import TLCoreError
from .limits import bad_setting
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
    config.validate()
    workspace = workspace or Workspace(default_workspace_root())
    run_dir = new_run_dir(runs_dir, config, name)
    save_config(config, run_dir / "config.json")
    append_jsonl(run_dir / "events.jsonl", {"t": time.time(), "type": "status", "status": "queued",
                                            "message": "Waiting to start"})
    lock = Path(lock_path) if lock_path else default_lock_path()
    _take_ticket(lock, run_dir)
    warm = warm and warm_worker_enabled()
    pid = _hand_to_standby(lock, run_dir, workspace.root) if warm else None
    if pid is None:
        with open(run_dir / "log.txt", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tlcore.jobs", str(run_dir), "--workspace", str(workspace.root),
                 "--lock", str(lock)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the page, the tab and the server's Ctrl-C
                env=_job_env(),
            )
        write_json_atomic(run_dir / "job.json", {"pid": proc.pid, "started": time.time()})
    if warm:
        try:
            ensure_standby(lock)  # the next run starts warm too
        except OSError as err:  # the run itself has started; only the next one would be slower
            print(f"tlcore.jobs: could not start a standby job process: {err}", file=sys.stderr)
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


TICKET_FILE = "queue_ticket"


def _queue_dir(lock: Path) -> Path:
    return lock.parent / "queue"


def _take_ticket(lock: Path, run_dir: Path) -> None:
    """Queue the run in click order: a ticket named by the time, holding the run folder.

    The training lock alone does not say who goes next (whichever waiting process tries
    first wins), so runs also wait until no earlier live ticket is left.
    """
    folder = _queue_dir(lock)
    folder.mkdir(parents=True, exist_ok=True)
    ticket = folder / f"{time.time_ns():020d}-{os.getpid()}-{run_dir.name}"
    write_json_atomic(ticket, {"run_dir": str(run_dir)})
    write_json_atomic(run_dir / TICKET_FILE, {"ticket": str(ticket)})


def _my_ticket(run_dir: Path) -> Path | None:
    try:
        return Path(json.loads((run_dir / TICKET_FILE).read_text(encoding="utf-8"))["ticket"])
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


def _acquire(lock_path: Path, cancelled, ticket: Path | None = None) -> int | None:
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
        ticket = _my_ticket(run_dir)
        try:
            fd = _acquire(Path(lock_path), cancelled, ticket)
        finally:
            if ticket is not None:
                ticket.unlink(missing_ok=True)  # holding the lock (or leaving the queue) ends the wait
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


# ---------------------------------------------------------------- the warm standby

WARM_WORKER_ENV = "TLCORE_WARM_WORKER"
STANDBY_IDLE_ENV = "TLCORE_STANDBY_IDLE_S"
DEFAULT_STANDBY_IDLE_S = 600.0
_STANDBY_POLL_S = 0.02
_CLAIM_GRACE_S = 5.0  # how long a claimed standby waits for its job file before giving up
_FINGERPRINT_PREFIXES = ("TLCORE_", "KERAS", "TF_", "CUDA", "XLA", "JAX")
_STANDBY_STATES = (".starting", ".ready", ".claimed", ".job")
_STANDBY_LOG_MAX_BYTES = 1 << 20


def warm_worker_enabled(environ: dict | None = None) -> bool:
    """Whether runs may start in a warm standby process (``TLCORE_WARM_WORKER``, default "1")."""
    raw = (os.environ if environ is None else environ).get(WARM_WORKER_ENV, "").strip()
    if raw in ("", "1"):
        return True
    if raw == "0":
        return False
    raise bad_setting(WARM_WORKER_ENV, raw, "1 (keep a warm training process ready) or 0 (start each run cold)",
                      "1")


def standby_idle_seconds(environ: dict | None = None) -> float:
    """How long an unused standby waits before it exits (``TLCORE_STANDBY_IDLE_S``, default 600)."""
    raw = (os.environ if environ is None else environ).get(STANDBY_IDLE_ENV, "").strip()
    if not raw:
        return DEFAULT_STANDBY_IDLE_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise bad_setting(STANDBY_IDLE_ENV, raw, "a number of seconds above 0", f"{DEFAULT_STANDBY_IDLE_S:.0f}")
    return value


def _job_env() -> dict[str, str]:
    """The environment of every job process, cold or standby."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def _code_stamp() -> str:
    """Where tlcore lives and when its code last changed: a standby must not run stale code."""
    package = Path(__file__).resolve().parent
    newest = 0
    for entry in os.scandir(package):
        if entry.name.endswith(".py"):
            try:
                newest = max(newest, entry.stat().st_mtime_ns)
            except FileNotFoundError:  # removed while we looked
                continue
    return f"{package}:{newest}"


def _fingerprint(environ: dict[str, str]) -> str:
    """A short hash of everything a job process inherits that changes what it does.

    A standby computes it from its own environment at start-up; a caller from the environment
    it would give a cold job (:func:`_job_env`). Only equal fingerprints may be paired.
    """
    settings = sorted((k, v) for k, v in environ.items()
                      if k == "PYTHONPATH" or k.startswith(_FINGERPRINT_PREFIXES))
    payload = json.dumps([sys.executable, os.getcwd(), _code_stamp(), settings])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _standby_dir(lock: Path) -> Path:
    return lock.parent / "standby"


def _standby_entries(folder: Path):
    """``(pid, fingerprint, state, path)`` for each standby file in ``folder``."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        stem, dot, state = entry.name.rpartition(".")
        pid, dash, fingerprint = stem.partition("-")
        if dot and dash and pid.isdigit() and "." + state in _STANDBY_STATES:
            yield int(pid), fingerprint, "." + state, Path(entry.path)


def _live_standbys(folder: Path, fingerprint: str, states: tuple[str, ...]) -> list[tuple[int, Path]]:
    """``(pid, file)`` of the live standbys of ``fingerprint`` in one of ``states``, by pid;
    removes the files of dead standbys on the way."""
    found = []
    for pid, fp, state, path in _standby_entries(folder):
        if not _pid_alive(pid):
            path.unlink(missing_ok=True)
        elif fp == fingerprint and state in states:
            found.append((pid, path))
    return sorted(found)


def _find_standby(folder: Path, fingerprint: str, states: tuple[str, ...]) -> int | None:
    """A live standby of ``fingerprint`` in one of ``states``, or None."""
    found = _live_standbys(folder, fingerprint, states)
    return found[0][0] if found else None


def ready_standby(lock_path: str | Path | None = None) -> int | None:
    """The pid of a standby that a warm :func:`start_run` would use now, or None."""
    lock = Path(lock_path) if lock_path else default_lock_path()
    return _find_standby(_standby_dir(lock), _fingerprint(_job_env()), (".ready",))


@contextmanager
def _spawn_guard(folder: Path):
    """One spawner at a time per standby folder (two sessions rendering the page at once)."""
    fd = os.open(folder / "spawn.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_standby(lock_path: str | Path | None = None) -> int | None:
    """Make sure a warm standby job process exists for the next run; cheap when one does.

    Spawns ``python -m tlcore.jobs --standby`` unless a live standby for this caller's
    fingerprint is already starting or ready in ``<lock folder>/standby/``.

    Args:
        lock_path: The training lock runs queue on (default: ``<workspace root>/train.lock``).

    Returns:
        The standby's pid, or None when warm mode is off (``TLCORE_WARM_WORKER=0``).
    """
    if not warm_worker_enabled():
        return None
    standby_idle_seconds()  # a bad setting is reported here, not by each standby that would die of it
    lock = Path(lock_path) if lock_path else default_lock_path()
    folder = _standby_dir(lock)
    env = _job_env()
    fingerprint = _fingerprint(env)
    waiting = (".starting", ".ready")
    pid = _find_standby(folder, fingerprint, waiting)  # the common case: a directory listing
    if pid is not None:
        return pid
    folder.mkdir(parents=True, exist_ok=True)
    with _spawn_guard(folder):
        pid = _find_standby(folder, fingerprint, waiting)
        if pid is not None:
            return pid
        log_path = folder / "standby.log"
        mode = "wb" if log_path.is_file() and log_path.stat().st_size > _STANDBY_LOG_MAX_BYTES else "ab"
        with open(log_path, mode) as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tlcore.jobs", "--standby", "--lock", str(lock), "--parent", str(os.getpid())],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env,
            )
        # Marks it as on its way (importing takes seconds) so that nobody spawns a second one.
        write_json_atomic(folder / f"{proc.pid}-{fingerprint}.starting", {"pid": proc.pid, "started": time.time()})
        return proc.pid


def stop_standbys(lock_path: str | Path | None = None) -> list[int]:
    """Stop the idle standbys of a lock folder (any fingerprint); returns their pids."""
    lock = Path(lock_path) if lock_path else default_lock_path()
    stopped = []
    for pid, _, state, path in _standby_entries(_standby_dir(lock)):
        if state not in (".starting", ".ready"):
            continue  # claimed: it is about to run a job
        try:
            path.unlink()  # a ready file removed first can no longer be claimed
        except FileNotFoundError:
            continue
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
            except ProcessLookupError:
                pass
    return stopped


def _hand_to_standby(lock: Path, run_dir: Path, workspace_root: Path) -> int | None:
    """Give the run to a ready standby of this caller's fingerprint; its pid, or None if there is none."""
    folder = _standby_dir(lock)
    fingerprint = _fingerprint(_job_env())
    for pid, path in _live_standbys(folder, fingerprint, (".ready",)):
        claimed = folder / f"{pid}-{fingerprint}.claimed"
        try:
            os.rename(path, claimed)  # atomic: of two callers (or a caller and the idle timeout) one wins
        except FileNotFoundError:
            continue
        write_json_atomic(run_dir / "job.json", {"pid": pid, "started": time.time(), "warm": True})
        job = folder / f"{pid}-{fingerprint}.job"
        write_json_atomic(job, {"run_dir": str(run_dir), "workspace": str(workspace_root), "lock": str(lock)})
        if _pid_alive(pid):
            return pid
        claimed.unlink(missing_ok=True)  # it died in between: try the next one, or start cold
        job.unlink(missing_ok=True)
    return None


def _lock_is_free(lock: Path) -> bool:
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


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _parent_watch(parent_pid: int | None):
    """A check that says True once the process that started this standby is gone.

    A standby runs in a session of its own (so that a run it takes outlives the server), so no
    signal reaches it when the server stops; it looks instead. When the parent is its direct
    parent, the parent's death shows as a new ``os.getppid()`` (the orphan is adopted by init
    or a subreaper), which cannot be fooled by pid reuse. Otherwise the pid is probed, with its
    start time to tell a reused pid apart. (``PR_SET_PDEATHSIG`` does not fit: it fires when the
    *thread* that spawned the child ends, and Streamlit renders each page in a short-lived thread.)
    """
    if not parent_pid:
        return lambda: False
    if os.getppid() == parent_pid:
        return lambda: os.getppid() != parent_pid
    started = _process_start(parent_pid)

    def gone() -> bool:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # exists, owned by someone else
        return started is not None and _process_start(parent_pid) != started

    return gone


def _wait_while_training(lock: Path, parent_gone=lambda: False) -> bool:
    """Wait until no run holds the training lock; False if the lock folder is deleted or the
    standby's parent exits meanwhile.

    Seconds of TensorFlow start-up next to a run would slow that run down (measured: the first
    progress point came 4-6 s later), and a lower CPU priority does not help: each job process
    has a session of its own, and Linux's autogroup scheduling shares the CPU fairly between
    sessions whatever their nice values. The lock must look free twice in a row, because a run
    handed over a moment ago may not have taken it yet.
    """
    free_in_a_row = 0
    while True:
        if not lock.parent.is_dir() or parent_gone():
            return False
        free_in_a_row = free_in_a_row + 1 if _lock_is_free(lock) else 0
        if free_in_a_row >= 2:
            return True
        time.sleep(_POLL_S)


def _warm_up() -> None:
    """What every run does first, done before any run arrives."""
    import keras  # noqa: F401  (seconds of TensorFlow start-up)

    from . import callbacks, data, device, features, model, train  # noqa: F401

    device.device_info()  # finds the devices once per process


def run_standby(lock_path: str | Path, parent_pid: int | None = None) -> int:
    """Body of a standby process: wait until no run trains, warm up, announce itself ready, wait
    for a job file, then run that job exactly as :func:`run_job`.

    While it waits (before it is claimed) it exits as soon as ``parent_pid``, the process that
    started it, is gone: a standby only serves the server that made it.
    """
    fingerprint = _fingerprint(dict(os.environ))  # before anything can change the environment
    parent_gone = _parent_watch(parent_pid)
    lock = Path(lock_path)
    folder = _standby_dir(lock)
    base = folder / f"{os.getpid()}-{fingerprint}"
    ready, claimed, job_file, starting = (base.with_suffix(s) for s in (".ready", ".claimed", ".job", ".starting"))
    try:
        idle_s = standby_idle_seconds()
        if not _wait_while_training(lock, parent_gone):
            return 0
        _warm_up()
        if parent_gone():  # the server stopped while TensorFlow was loading
            return 0
        write_json_atomic(ready, {"pid": os.getpid(), "ready": time.time()})
        starting.unlink(missing_ok=True)
        idle_until = time.monotonic() + idle_s
        ready_gone = None
        while not job_file.exists():
            now = time.monotonic()
            if not lock.parent.is_dir():
                return 0  # the workspace was deleted
            if not ready.exists():  # claimed (its job file follows at once), or removed
                ready_gone = ready_gone or now
                if now - ready_gone > _CLAIM_GRACE_S:
                    return 0
            elif now > idle_until or parent_gone():
                try:
                    ready.unlink()  # retired: from now on nobody can claim this process
                    return 0
                except FileNotFoundError:
                    pass  # claimed at this very moment: the job is on its way
            time.sleep(_STANDBY_POLL_S)
        job = json.loads(job_file.read_text(encoding="utf-8"))
    finally:
        for path in (ready, claimed, job_file, starting):
            path.unlink(missing_ok=True)
    run_dir = Path(job["run_dir"])
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(run_dir / "log.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return run_job(run_dir, job["workspace"], job.get("lock") or lock)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlcore.jobs", description="Run one training job folder.")
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--workspace", default=str(default_workspace_root()))
    parser.add_argument("--lock", default=str(default_lock_path()))
    parser.add_argument("--standby", action="store_true",
                        help="warm up, then wait in <lock folder>/standby/ for a run handed over by start_run")
    parser.add_argument("--parent", type=int, metavar="PID",
                        help="with --standby: exit, unless already running a job, once process PID is gone")
    args = parser.parse_args(argv)
    if args.standby:
        return run_standby(args.lock, args.parent)
    if not args.run_dir:
        parser.error("give a run folder, or --standby")
    return run_job(args.run_dir, args.workspace, args.lock)


if __name__ == "__main__":
    sys.exit(main())
