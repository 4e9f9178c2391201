"""Export as a background job: downloads made in a process of their own, like training.

:func:`start_export` logs "queued" to the run's export events
(:attr:`tlcore.runs.RunFolder.export_events_path`) and starts ``python -m tlcore.jobs --export
RUN_DIR`` in a new process session, so the export outlives the page and the server, and the
command line sees it too. The job (:func:`run_export`) calls :func:`tlcore.export.export_run`
and, when asked, :func:`tlcore.features.featurize`, logging running, then finished (with the
files it wrote) or failed (the error's text, which says how to fix it). :func:`export_status`
folds those events. Exports do not queue on the training lock, but two exports of one run never
run at once: the job holds an ``flock`` on the export events file, inherited from the caller
that started it, until its outcome is recorded, so a second start is refused meanwhile, and a
job gone without a final status reads "interrupted" (the kernel drops the lock with the process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import events as ev
from ..errors import TLCoreError
from ..export.formats import normalize_formats
from ..runs import JOB_MODULE, RunFolder
from ..workspace import Workspace, default_workspace_root
from .outcome import with_final_status
from .queue import job_env, lock_is_free, try_lock

FEATURES = "features"  # the key of the features table in ExportStatus.files
_INTERRUPTED = ("The export stopped unexpectedly (its process was killed, or the server restarted). "
                "Fix: start the export again.")


@dataclass
class ExportStatus:
    """Where a run's export job stands, and what its exports have made so far.

    Attributes:
        status: One of tlcore.events.STATUSES, or None when the run was never exported as a job.
        message: The latest status in words (for "failed": what went wrong and how to fix it).
        formats: The formats the latest export was asked for.
        features: Whether the latest export was asked for the features table.
        files: What finished exports wrote and is still there, by export_run's keys
            (``"keras"``, ``"tflite"``, ``"card"``, …) and ``"features"``.
        pid: The latest export's process.
    """

    status: str | None = None
    message: str = ""
    formats: tuple[str, ...] = ()
    features: bool = False
    files: dict[str, Path] = field(default_factory=dict)
    pid: int | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ev.ACTIVE


def _check_formats(formats: str | Iterable[str] | None) -> tuple[str, ...]:
    """The export formats asked for, checked at the door; an empty list asks for none."""
    if formats is not None and not isinstance(formats, str):
        formats = tuple(formats)
        if not formats:
            return ()
    return normalize_formats(formats)


def start_export(run_dir: str | Path, formats: str | Iterable[str] | None, *, features: bool = False,
                 workspace: Workspace | None = None) -> None:
    """Export a run in a background process; returns at once (watch it with :func:`export_status`).

    Args:
        run_dir: The run folder.
        formats: Export formats (see :func:`tlcore.export.export_run`), ``"all"``, or an empty
            list for none (with ``features=True``: the features table alone).
        features: Also write the features table of every picture (``features.parquet``).
        workspace: Workspace whose datasets and feature cache the features table uses
            (default: ``TLCORE_WORKSPACE``).

    Raises:
        TLCoreError: Not a run folder, an unknown format, nothing asked for, or an export of
            this run already running.
    """
    folder = RunFolder(run_dir).require()
    formats = _check_formats(formats)
    if not formats and not features:
        raise TLCoreError("Nothing to export was chosen.", "choose one or more formats, or the features table.")
    workspace = workspace or Workspace(default_workspace_root())
    folder.export_dir.mkdir(parents=True, exist_ok=True)
    fd = try_lock(folder.export_events_path)
    if fd is None:
        raise TLCoreError(f"An export of run {folder.run_id} is already running.",
                          "wait for it to finish; its files then appear with the others.")
    try:
        command = [sys.executable, "-m", JOB_MODULE, "--export", str(folder.path), "--workspace", str(workspace.root),
                   "--lock-fd", str(fd)]
        if formats:
            command += ["--formats", ",".join(formats)]
        if features:
            command.append("--features")
        with open(folder.export_log_path, "ab") as log:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the page, the tab and the server's Ctrl-C
                pass_fds=(fd,),  # the job holds the export lock from here on, until it exits
                env=job_env(),
            )
        # Logged after the start so that it carries the pid; the job's own first status comes
        # after seconds of TensorFlow start-up.
        folder.log_export_status(ev.QUEUED, "Waiting to start", formats=list(formats), features=features,
                                 pid=proc.pid)
    finally:
        os.close(fd)


def export_status(run_dir: str | Path) -> ExportStatus:
    """Where the run's export job stands, folded from its export events."""
    folder = RunFolder(run_dir)
    st = ExportStatus()
    made: dict[str, Path] = {}
    for event in folder.export_events():
        if not ev.is_status(event):
            continue
        status, message = event.get("status"), event.get("message", "") or ""
        if status == ev.QUEUED:  # a new export: the last one's outcome no longer counts
            st = ExportStatus(status, message, formats=tuple(event.get("formats") or ()),
                              features=bool(event.get("features")), pid=event.get("pid"), started=event.get("t"))
            continue
        st.status, st.message = status, message
        if status in ev.FINAL:
            st.ended = event.get("t")
            made.update({key: folder.export_dir / name for key, name in (event.get("files") or {}).items()})
    st.files = {key: path for key, path in made.items() if path.exists()}
    if st.active and lock_is_free(folder.export_events_path):
        st.status, st.message = ev.INTERRUPTED, _INTERRUPTED
    return st


def _name_in(export_dir: Path, path: str | Path) -> str:
    """``path`` relative to the export folder (so the record survives moving the run), else as is."""
    try:
        return Path(path).resolve().relative_to(export_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def run_export(run_dir: str | Path, formats: Iterable[str], *, features: bool, workspace_root: str | Path,
               lock_fd: int | None = None) -> int:
    """Body of the export job: export, write the features table, record the outcome. Returns an exit code.

    ``lock_fd`` is the export lock inherited from :func:`start_export`; it is let go as soon as
    the outcome is recorded, not seconds later when TensorFlow has shut down, so that the next
    export of the run can start once this one reads finished.
    """
    try:
        return _export(RunFolder(run_dir), tuple(formats), features, workspace_root)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _export(folder: RunFolder, formats: tuple[str, ...], features: bool, workspace_root: str | Path) -> int:
    pid = os.getpid()

    def work() -> int:
        made: dict[str, Path] = {}
        if formats:
            # Heavy (TensorFlow, seconds): imported in the job only, never by the server.
            from ..export import export_run

            folder.log_export_status(ev.RUNNING, f"Making {', '.join(formats)}, the labels and the model card", pid=pid)
            made.update(export_run(folder.path, formats))
        if features:
            from ..features import featurize

            folder.log_export_status(ev.RUNNING, "Computing the features of every picture", pid=pid)
            made[FEATURES] = featurize(folder.config(), folder.features_table_path, workspace=Workspace(workspace_root))
        folder.log_export_status(ev.FINISHED, "Done.", files={key: _name_in(folder.export_dir, path)
                                                             for key, path in made.items()})
        return 0

    return with_final_status(work, folder.log_export_status, folder.export_log_path)
