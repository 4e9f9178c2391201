"""User-facing errors.

Every problem a user can cause is raised as :class:`TLCoreError` (a ``ValueError``)
whose message says what is wrong *and* how to fix it. Pages show ``str(err)`` with
``st.error``; the command line prints it and exits with status 2.
"""

from __future__ import annotations


# Exit statuses of the command line and of job processes.
EXIT_OK, EXIT_UNEXPECTED, EXIT_USER_ERROR = 0, 1, 2


class TLCoreError(ValueError):
    """A problem with the user's input or environment, with the fix in the message."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem} Fix: {fix}")


class CancelledError(Exception):
    """Raised inside a job when the user cancelled it before it started training."""
