"""How a job process ends: always with a final status, in words a user can act on.

A training job and an export job both run their work through :func:`with_final_status`,
so a TLCoreError's text (which says how to fix it) reaches the page, and anything
unexpected is recorded as "failed" with the traceback kept in the job's log file.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Callable

from .. import events as ev
from ..errors import EXIT_UNEXPECTED, EXIT_USER_ERROR, TLCoreError


def with_final_status(work: Callable[[], int], log_status: Callable[..., None], log_path: Path) -> int:
    """Run ``work``; if it raises, record "failed" through ``log_status``. Returns an exit code."""
    try:
        return work()
    except TLCoreError as err:
        log_status(ev.FAILED, str(err))
        return EXIT_USER_ERROR
    except BaseException as err:  # the job must end with a status whatever happened
        traceback.print_exc()
        log_status(ev.FAILED, f"{type(err).__name__}: {err}. Details are in {log_path}.")
        return EXIT_UNEXPECTED
