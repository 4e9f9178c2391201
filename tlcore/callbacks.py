"""Training progress as Keras callbacks.

The trainer turns Keras's hooks into plain event dicts (schema: :mod:`tlcore.events`) and
hands them to listeners: the run's event log (:meth:`tlcore.runs.RunFolder.emit`), a CLI
progress bar, a page. Stopping is
``model.stop_training = True``, checked after every batch; :class:`BestWeights` keeps (and
checkpoints) the best weights of a stage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from . import events as ev
from .events import Emit

_BATCH_EVENT_INTERVAL_S = 0.5  # throttle: enough for a live curve, small event logs


def _clean(logs: dict | None) -> dict:
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


class ProgressEvents(keras.callbacks.Callback):
    """Emits ``batch`` and ``epoch`` events with metrics, seconds and images/s."""

    def __init__(self, emit: Emit, stage: str, epochs: int, batches: int, batch_size: int, num_images: int,
                 epoch_offset: int = 0):
        super().__init__()
        self.emit, self.stage, self.epochs, self.batches = emit, stage, epochs, batches
        self.batch_size, self.num_images, self.epoch_offset = batch_size, num_images, epoch_offset
        self._epoch_start = self._last_batch_event = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._last_batch_event = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if now - self._last_batch_event < _BATCH_EVENT_INTERVAL_S and batch + 1 < self.batches:
            return
        self._last_batch_event = now
        seen = min((batch + 1) * self.batch_size, self.num_images)
        elapsed = max(now - self._epoch_start, 1e-9)
        self.emit(ev.batch_event(self.stage, batch + 1, self.batches, epoch=self.epoch_offset + self._epoch_index,
                                 epochs=self.epochs, images_per_s=seen / elapsed, **_clean(logs)))

    @property
    def _epoch_index(self) -> int:
        return getattr(self, "_current_epoch", 0)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._epoch_start
        self._current_epoch = epoch + 1
        self.emit(ev.epoch_event(self.stage, self.epoch_offset + epoch + 1, self.epochs, seconds=seconds,
                                 images_per_s=self.num_images / max(seconds, 1e-9), **_clean(logs)))


class StopWhen(keras.callbacks.Callback):
    """Stops training at the next batch once ``should_stop()`` is true (cancel)."""

    def __init__(self, should_stop: Callable[[], bool]):
        super().__init__()
        self.should_stop = should_stop
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if not self.stopped and self.should_stop():
            self.stopped = True
            self.model.stop_training = True

    on_epoch_end = lambda self, epoch, logs=None: self.on_train_batch_end(0)  # noqa: E731


class BestWeights(keras.callbacks.Callback):
    """Keeps the best weights of ``target`` (by ``monitor``), restores them at the end, and
    writes them to ``checkpoint`` (atomically) whenever they improve."""

    def __init__(self, target, monitor: str = "val_loss", checkpoint: str | Path | None = None,
                 baseline: float | None = None):
        """``baseline``: the score of ``target``'s weights at the start (e.g. after an earlier
        stage); an epoch must beat it to be kept, otherwise the starting weights come back."""
        super().__init__()
        self.target, self.monitor = target, monitor
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.baseline = baseline
        self.best = np.inf if "loss" in monitor else -np.inf
        self.best_weights = None
        self.best_epoch = -1

    def on_train_begin(self, logs=None):
        if self.baseline is not None and np.isfinite(self.baseline):
            self.best = float(self.baseline)
            self.best_weights = [np.array(w) for w in self.target.get_weights()]
            self._save_checkpoint()

    def _save_checkpoint(self):
        if self.checkpoint is not None:
            tmp = self.checkpoint.with_name(".tmp-" + self.checkpoint.name)
            self.target.save_weights(tmp)
            tmp.replace(self.checkpoint)

    def _better(self, value: float) -> bool:
        return value < self.best if "loss" in self.monitor else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value) or not self._better(float(value)):
            return
        self.best, self.best_epoch = float(value), epoch
        self.best_weights = [np.array(w) for w in self.target.get_weights()]
        self._save_checkpoint()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.target.set_weights(self.best_weights)
