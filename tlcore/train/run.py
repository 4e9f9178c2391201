"""``train()``: one run, stage by stage, and its failures in words a user can act on.

The stages, in order: :func:`~tlcore.train.stages.prepare_data`,
:func:`~tlcore.train.stages.build_model`, :func:`~tlcore.train.stages.train_head` (with the
features it needs), :func:`~tlcore.train.fine_tuning.fine_tune` (which decides the weights
to keep) and :func:`~tlcore.train.finish.save_and_evaluate`. Every file of the run folder is
written through :class:`tlcore.runs.RunFolder`; every event follows :mod:`tlcore.events`.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import events as ev
from ..config import TrainConfig
from ..errors import TLCoreError
from ..runs import RunFolder
from .finish import save_and_evaluate
from .fine_tuning import fine_tune
from .stages import build_model, load_data, match_backbone, prepare_data, train_head
from .state import EventStream, TrainingRun


@dataclass
class TrainResult:
    """What a finished (or cancelled) run produced."""

    status: str  # "finished" | "cancelled"
    classes: list[str]
    evaluation: dict
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    run_dir: Path | None = None
    model: Any = None
    feature_cache_hits: int = 0
    feature_cache_misses: int = 0
    feature_cache_reused: int = 0  # pictures whose cached features came from an earlier split (added pictures)


def train(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    on_event: ev.Emit | None = None,
    should_stop: Callable[[], bool] | None = None,
    workspace=None,
    callbacks: Iterable = (),
    dataset=None,
) -> TrainResult:
    """Train the classifier ``config`` describes and evaluate it.

    Args:
        config: the run's settings; saved as the run folder's config.
        run_dir: the run folder (events, checkpoints, model, evaluation: see :mod:`tlcore.runs`);
            None keeps everything in memory.
        on_event: receives every progress event (dicts, schema in :mod:`tlcore.events`).
        should_stop: polled after every batch; when it returns True the run stops, keeps its
            best weights, is evaluated and ends as "cancelled".
        workspace: where datasets are extracted and features cached (default: ``default_workspace()``).
        callbacks: extra Keras callbacks for every ``fit``.
        dataset: an already loaded :class:`tlcore.data.Dataset` (skips loading ``config.data``).

    With ``config.features`` set (see :func:`tlcore.train.from_features.train_from_features`)
    the head trains on that features table's vectors: nothing is featurized again.
    """
    try:
        return _train(config, run_dir, on_event, should_stop, workspace, list(callbacks), dataset)
    except TLCoreError:
        raise
    except Exception as err:
        friendly = _memory_error(err, config.batch_size) or _disk_error(err, run_dir)
        if friendly is not None:
            raise friendly from None
        raise


def _train(config, run_dir, on_event, should_stop, workspace, extra_callbacks, dataset) -> TrainResult:
    import keras

    from ..device import choose_precision_policy
    from ..workspace import default_workspace

    started = time.perf_counter()
    config.validate()
    workspace = workspace or default_workspace()
    folder = RunFolder(run_dir) if run_dir else None
    listeners = [on_event]
    if folder is not None:
        folder.write_config(config)
        listeners.insert(0, folder.emit)  # the run folder's event stream first
    emit = EventStream(listeners)

    emit(ev.status_event(ev.RUNNING, "Preparing data"))
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(choose_precision_policy(config.mixed_precision))
    if dataset is None and config.features:
        from .from_features import load_table  # the head's features come from a table, not the images

        dataset, workspace = load_table(config, workspace, emit)
    elif dataset is None:
        dataset = load_data(config, workspace, emit)
    if match_backbone(config, dataset, emit) and folder is not None:
        folder.write_config(config)  # the run is replayed with the encoder it used
    run = TrainingRun(config, dataset, folder, emit, should_stop or (lambda: False), workspace, extra_callbacks)
    prepare_data(run)
    build_model(run)
    try:
        train_head(run)
        if config.mode == "fine-tune" and config.fine_tune_epochs > 0 and not run.stop():
            if dataset.is_text:
                from ..text.fine_tune import fine_tune_text

                fine_tune_text(run)
            else:
                fine_tune(run)
    except KeyboardInterrupt:
        run.cancelled = True  # cancelled while computing features
    evaluation = save_and_evaluate(run)
    seconds = time.perf_counter() - started
    status = ev.CANCELLED if run.cancelled else ev.FINISHED
    evaluation["seconds"] = seconds
    if folder is not None:
        folder.write_evaluation(evaluation)
    emit(ev.status_event(status, accuracy=evaluation.get("accuracy"),
                         test_accuracy=evaluation.get("test", {}).get("accuracy"), seconds=seconds))
    return TrainResult(status, run.classes, evaluation, emit.history, seconds, folder.path if folder else None,
                       run.parts.model, sum(c.hits for c in run.caches), sum(c.misses for c in run.caches),
                       sum(c.reused for c in run.caches))


def _memory_error(err: Exception, batch_size: int) -> TLCoreError | None:
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, MemoryError) or "ResourceExhausted" in text or "OOM" in text or "out of memory" in text.lower():
        smaller = max(1, batch_size // 2)
        return TLCoreError(
            f"Training ran out of memory with batch size {batch_size}.",
            f"use a smaller batch size (try {smaller}) or a smaller image size.",
        )
    return None


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def _disk_error(err: Exception, run_dir) -> TLCoreError | None:
    """A failed write (disk full, read-only, no permission) as a plain message."""
    cause = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if not isinstance(cause, OSError) or cause.errno not in _DISK_ERRNOS:
        return None
    where = f" in {run_dir}" if run_dir else ""
    return TLCoreError(
        f"Training stopped because a file could not be written{where}: {cause.strerror or cause}.",
        "free some disk space (or fix the folder's permissions) and start the run again; "
        "files already saved were written whole and are unchanged.",
    )
