"""The event stream: the one schema every training run reports in.

A run's progress is a stream of plain JSON objects (one per line in the run folder's
events file, see :mod:`tlcore.runs`). Every event has ``t`` (Unix time) and ``type``:

- ``status``: the run's state changed; ``status`` is one of :data:`STATUSES`, with a
  ``message`` in words; the final one also carries ``accuracy``, ``test_accuracy``, ``seconds``.
- ``stage``: a stage began (``stage`` is one of :data:`STAGES`) with a ``message``; the data
  check adds ``done``/``total``; the model stage adds parameter counts; fine-tuning adds ``layers``.
- ``batch``: a batch finished in a stage (``batch``/``batches``, metrics, ``images_per_s``);
  feature batches carry ``split``, ``view``, ``images_done`` and ``images_total``.
- ``epoch``: an epoch finished (``epoch``/``epochs``, metrics, ``seconds``, ``images_per_s``).
- ``fine_tune_result``: which weights fine-tuning kept, and why (``kept``, ``message``, scores).

Writers build events with the constructors here; readers (:mod:`tlcore.runs`,
:mod:`tlcore.progress`, the CLI's progress printer) compare against the names here.
"""

from __future__ import annotations

import time
from typing import Any, Callable

Event = dict[str, Any]
Emit = Callable[[Event], None]

# Event types.
STATUS = "status"
STAGE = "stage"
BATCH = "batch"
EPOCH = "epoch"
FINE_TUNE_RESULT = "fine_tune_result"

# Run statuses: a run is queued, then running, then ends in one of FINAL.
QUEUED = "queued"
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
ACTIVE = (QUEUED, RUNNING)
FINAL = (FINISHED, FAILED, CANCELLED, INTERRUPTED)
STATUSES = (*ACTIVE, *FINAL)

# Stages of a run, in order (fine-tune only in fine-tuning runs).
STAGE_DATA = "data"
STAGE_MODEL = "model"
STAGE_FEATURES = "features"
STAGE_HEAD = "head"
STAGE_FINE_TUNE = "fine-tune"
STAGE_EVALUATE = "evaluate"
STAGES = (STAGE_DATA, STAGE_MODEL, STAGE_FEATURES, STAGE_HEAD, STAGE_FINE_TUNE, STAGE_EVALUATE)
TRAINING_STAGES = (STAGE_HEAD, STAGE_FINE_TUNE)  # stages that train for epochs


def event(kind: str, **fields: Any) -> Event:
    """An event of type ``kind``, stamped now (a ``t`` given in ``fields`` is kept)."""
    return {"t": fields.pop("t", None) or time.time(), "type": kind, **fields}


def status_event(status: str, message: str = "", **fields: Any) -> Event:
    """The run's state changed to ``status`` (one of :data:`STATUSES`)."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return event(STATUS, status=status, message=message, **fields)


def stage_event(stage: str, message: str = "", **fields: Any) -> Event:
    """A stage began (or, with ``done``/``total``, a counted stage moved on)."""
    return event(STAGE, stage=stage, message=message, **fields)


def batch_event(stage: str, batch: int, batches: int, **fields: Any) -> Event:
    return event(BATCH, stage=stage, batch=batch, batches=batches, **fields)


def epoch_event(stage: str, epoch: int, epochs: int, **fields: Any) -> Event:
    return event(EPOCH, stage=stage, epoch=epoch, epochs=epochs, **fields)


def fine_tune_result_event(**fields: Any) -> Event:
    return event(FINE_TUNE_RESULT, stage=STAGE_FINE_TUNE, **fields)


def is_status(ev: Event, *statuses: str) -> bool:
    """``ev`` is a status event (with one of ``statuses``, when given)."""
    return ev.get("type") == STATUS and (not statuses or ev.get("status") in statuses)


def last_status(events: list[Event]) -> Event | None:
    """The latest status event of a stream, or None."""
    return next((ev for ev in reversed(events) if ev.get("type") == STATUS), None)


def data_progress(emit: Emit, min_interval_s: float = 0.5) -> Callable[..., None]:
    """A ``progress(done, total, message)`` callback for the data check that emits ``data``
    stage events, a few a second (plenty for a progress bar), and always the last one."""
    last = [0.0]

    def progress(done, total, message=""):
        now = time.perf_counter()
        if now - last[0] < min_interval_s and done < total:
            return
        last[0] = now
        emit(stage_event(STAGE_DATA, message or "Checking images", done=done, total=total))

    return progress
