"""The warm standby: a job process that has imported TensorFlow before the next run arrives.

Importing TensorFlow/Keras takes seconds, so the app keeps one standby warm
(:func:`ensure_standby`): ``python -m tlcore.jobs --standby`` waits until no run trains,
imports Keras and the training code, then announces itself in ``<lock folder>/standby/`` as
``<pid>-<fingerprint>.ready``. A warm start claims it by renaming that file (atomic: of two
claimants one wins) and writing a ``.job`` file; the standby then runs exactly what a cold job
runs (:func:`tlcore.jobs.queue.run_job`). A standby serves only callers whose interpreter,
folder, code and environment match its own (:func:`_fingerprint`), exits by itself when idle
(``TLCORE_STANDBY_IDLE_S``), and as soon as the process that started it (the app's server) is
gone. A run it has taken outlives the server, as a cold job does.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..limits import bad_setting
from ..runfiles import write_json_atomic
from ..runs import JOB_MODULE, RunFolder, process_alive
from .queue import job_env, lock_is_free, lock_or_default, run_job

WARM_WORKER_ENV = "TLCORE_WARM_WORKER"
STANDBY_IDLE_ENV = "TLCORE_STANDBY_IDLE_S"
DEFAULT_STANDBY_IDLE_S = 600.0
_POLL_S = 0.5  # while waiting for the training lock
_STANDBY_POLL_S = 0.02  # while waiting for a job: a claimed standby starts at once
_CLAIM_GRACE_S = 5.0  # how long a claimed standby waits for its job file before giving up
_FINGERPRINT_PREFIXES = ("TLCORE_", "KERAS", "TF_", "CUDA", "XLA", "JAX")
_STANDBY_STATES = (".starting", ".ready", ".claimed", ".job")
_WAITING = (".starting", ".ready")
_STANDBY_LOG_MAX_BYTES = 1 << 20
_PACKAGE = Path(__file__).resolve().parent.parent  # tlcore


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


# ---------------------------------------------------------------- who may use which standby
def _code_stamp() -> str:
    """Where tlcore lives and when its code last changed: a standby must not run stale code."""
    newest = 0
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                except FileNotFoundError:  # removed while we looked
                    continue
    return f"{_PACKAGE}:{newest}"


def _fingerprint(environ: dict[str, str]) -> str:
    """A short hash of everything a job process inherits that changes what it does.

    A standby computes it from its own environment at start-up; a caller from the environment
    it would give a cold job (:func:`~tlcore.jobs.queue.job_env`). Only equal fingerprints may be paired.
    """
    settings = sorted((k, v) for k, v in environ.items()
                      if k == "PYTHONPATH" or k.startswith(_FINGERPRINT_PREFIXES))
    payload = json.dumps([sys.executable, os.getcwd(), _code_stamp(), settings])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _standby_dir(lock: Path) -> Path:
    return lock.parent / "standby"


def _standby_entries(folder: Path) -> Iterator[tuple[int, str, str, Path]]:
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
        if not process_alive(pid):
            path.unlink(missing_ok=True)
        elif fp == fingerprint and state in states:
            found.append((pid, path))
    return sorted(found)


def _find_standby(folder: Path, fingerprint: str, states: tuple[str, ...]) -> int | None:
    """A live standby of ``fingerprint`` in one of ``states``, or None."""
    found = _live_standbys(folder, fingerprint, states)
    return found[0][0] if found else None


# ---------------------------------------------------------------- the caller's side
def ready_standby(lock_path: str | Path | None = None) -> int | None:
    """The pid of a standby that a warm :func:`~tlcore.jobs.start_run` would use now, or None."""
    return _find_standby(_standby_dir(lock_or_default(lock_path)), _fingerprint(job_env()), (".ready",))


@contextmanager
def _spawn_guard(folder: Path) -> Iterator[None]:
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
    lock = lock_or_default(lock_path)
    folder = _standby_dir(lock)
    env = job_env()
    fingerprint = _fingerprint(env)
    pid = _find_standby(folder, fingerprint, _WAITING)  # the common case: a directory listing
    if pid is not None:
        return pid
    folder.mkdir(parents=True, exist_ok=True)
    with _spawn_guard(folder):
        pid = _find_standby(folder, fingerprint, _WAITING)
        if pid is not None:
            return pid
        log_path = folder / "standby.log"
        mode = "wb" if log_path.is_file() and log_path.stat().st_size > _STANDBY_LOG_MAX_BYTES else "ab"
        with open(log_path, mode) as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", JOB_MODULE, "--standby", "--lock", str(lock), "--parent", str(os.getpid())],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env,
            )
        # Marks it as on its way (importing takes seconds) so that nobody spawns a second one.
        write_json_atomic(folder / f"{proc.pid}-{fingerprint}.starting", {"pid": proc.pid, "started": time.time()})
        return proc.pid


def stop_standbys(lock_path: str | Path | None = None) -> list[int]:
    """Stop the idle standbys of a lock folder (any fingerprint); returns their pids."""
    stopped = []
    for pid, _, state, path in _standby_entries(_standby_dir(lock_or_default(lock_path))):
        if state not in _WAITING:
            continue  # claimed: it is about to run a job
        try:
            path.unlink()  # a ready file removed first can no longer be claimed
        except FileNotFoundError:
            continue
        if process_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
            except ProcessLookupError:
                pass
    return stopped


def hand_to_standby(lock: Path, folder: RunFolder, workspace_root: Path) -> int | None:
    """Give the run to a ready standby of this caller's fingerprint; its pid, or None if there is none."""
    standbys = _standby_dir(lock)
    fingerprint = _fingerprint(job_env())
    for pid, path in _live_standbys(standbys, fingerprint, (".ready",)):
        claimed = standbys / f"{pid}-{fingerprint}.claimed"
        try:
            os.rename(path, claimed)  # atomic: of two callers (or a caller and the idle timeout) one wins
        except FileNotFoundError:
            continue
        folder.write_job(pid, warm=True)
        job = standbys / f"{pid}-{fingerprint}.job"
        write_json_atomic(job, {"run_dir": str(folder.path), "workspace": str(workspace_root), "lock": str(lock)})
        if process_alive(pid):
            return pid
        claimed.unlink(missing_ok=True)  # it died in between: try the next one, or start cold
        job.unlink(missing_ok=True)
    return None


# ---------------------------------------------------------------- the standby process
def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def _parent_watch(parent_pid: int | None) -> Callable[[], bool]:
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


def _wait_while_training(lock: Path, parent_gone: Callable[[], bool] = lambda: False) -> bool:
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
        free_in_a_row = free_in_a_row + 1 if lock_is_free(lock) else 0
        if free_in_a_row >= 2:
            return True
        time.sleep(_POLL_S)


def _warm_up() -> None:
    """What every run does first, done before any run arrives."""
    import keras  # noqa: F401  (seconds of TensorFlow start-up)

    from .. import callbacks, data, device, features, model, train  # noqa: F401

    device.device_info()  # finds the devices once per process


def run_standby(lock_path: str | Path, parent_pid: int | None = None) -> int:
    """Body of a standby process: wait until no run trains, warm up, announce itself ready, wait
    for a job file, then run that job exactly as :func:`~tlcore.jobs.queue.run_job`.

    While it waits (before it is claimed) it exits as soon as ``parent_pid``, the process that
    started it, is gone: a standby only serves the server that made it.
    """
    fingerprint = _fingerprint(dict(os.environ))  # before anything can change the environment
    parent_gone = _parent_watch(parent_pid)
    lock = Path(lock_path)
    base = _standby_dir(lock) / f"{os.getpid()}-{fingerprint}"
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
    folder = RunFolder(job["run_dir"])
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(folder.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return run_job(folder.path, job["workspace"], job.get("lock") or lock)
