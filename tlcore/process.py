"""Is a job process alive? The one check of a pid, used by run statuses and the standby process."""

from __future__ import annotations

import os

JOB_MODULE = "tlcore.jobs"  # job processes run ``python -m JOB_MODULE``; process_alive looks for it


def process_alive(pid: int | None) -> bool:
    """The job process ``pid`` is still running (and is a tlcore job, not a reused pid)."""
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
            return JOB_MODULE.encode() in fh.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:  # no /proc (not Linux): fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


__all__ = ["JOB_MODULE", "process_alive"]
