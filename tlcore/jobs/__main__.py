"""``python -m tlcore.jobs``: the command every job process is started with.

``python -m tlcore.jobs RUN_DIR --workspace W --lock L`` trains one run folder
(:func:`tlcore.jobs.queue.run_job`); ``--standby --lock L --parent PID`` is a warm standby
(:func:`tlcore.jobs.standby.run_standby`); ``--export RUN_DIR [--formats a,b] [--features]``
exports one run (:func:`tlcore.jobs.export_job.run_export`);
``--check CHECK_DIR`` checks a dataset (:func:`tlcore.jobs.check_job.run_check`). The module name in the command
line is how :func:`tlcore.runs.process_alive` tells a job from a process that reused its pid.
"""

from __future__ import annotations

import argparse
import sys

from ..workspace import default_workspace_root
from .check_job import run_check
from .export_job import run_export
from .queue import default_lock_path, run_job
from .standby import run_standby


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlcore.jobs",
                                     description="Run one training job folder, a warm standby, or an export.")
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--workspace", default=str(default_workspace_root()))
    parser.add_argument("--lock", default=str(default_lock_path()))
    parser.add_argument("--standby", action="store_true",
                        help="warm up, then wait in <lock folder>/standby/ for a run handed over by start_run")
    parser.add_argument("--parent", type=int, metavar="PID",
                        help="with --standby: exit, unless already running a job, once process PID is gone")
    parser.add_argument("--export", action="store_true",
                        help="export RUN_DIR (as tlcore.jobs.start_export does) instead of training it")
    parser.add_argument("--formats", default="", metavar="A,B",
                        help="with --export: comma-separated export formats (none: only the features table)")
    parser.add_argument("--features", action="store_true", help="with --export: also write the features table")
    parser.add_argument("--check", action="store_true",
                        help="check the dataset whose check folder is RUN_DIR (as tlcore.jobs.start_check does)")
    parser.add_argument("--folds", type=int, metavar="N", help="with --check: folds of the out-of-fold predictions")
    parser.add_argument("--lock-fd", type=int, metavar="FD",
                        help="with --export or --check: the lock inherited from start_export/start_check, let go once done")
    args = parser.parse_args(argv)
    if args.standby:
        return run_standby(args.lock, args.parent)
    if not args.run_dir:
        parser.error("give a run folder, or --standby")
    if args.check:
        return run_check(args.run_dir, workspace_root=args.workspace, folds=args.folds, lock_fd=args.lock_fd)
    if args.export:
        formats = [f for f in args.formats.split(",") if f]
        return run_export(args.run_dir, formats, features=args.features, workspace_root=args.workspace,
                          lock_fd=args.lock_fd)
    return run_job(args.run_dir, args.workspace, args.lock)


if __name__ == "__main__":
    sys.exit(main())
