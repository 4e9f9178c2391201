"""What the training stages share: one run's settings, data, model and event stream.

A run is a sequence of named stage functions (see :mod:`tlcore.train.run`); each reads and
updates one :class:`TrainingRun` rather than closures inside one long function. The
:class:`EventStream` hands every event to the run folder's log and the caller's listener.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import events as ev
from ..config import TrainConfig
from ..runs import RunFolder

# How a split is scored with the kept weights: (split name, samples) -> probabilities.
Predictor = Callable[[str, list], np.ndarray]


class EventStream:
    """Hands every event to each listener and keeps the epoch events (the run's history)."""

    def __init__(self, listeners: Iterable[ev.Emit | None]):
        self.listeners = [listener for listener in listeners if listener is not None]
        self.history: list[dict] = []

    def __call__(self, event: ev.Event) -> None:
        event.setdefault("t", time.time())
        if event.get("type") == ev.EPOCH:
            self.history.append(event)
        for listener in self.listeners:
            listener(event)


@dataclass(eq=False)
class TrainingRun:
    """One run's state, filled in stage by stage."""

    config: TrainConfig
    dataset: Any  # tlcore.data.Dataset
    folder: RunFolder | None  # None: everything stays in memory
    emit: EventStream
    should_stop: Callable[[], bool]
    workspace: Any  # tlcore.workspace.Workspace
    extra_callbacks: list = field(default_factory=list)
    cancelled: bool = False
    # prepare_data
    classes: list[str] = field(default_factory=list)
    train_samples: list = field(default_factory=list)
    val_samples: list = field(default_factory=list)
    test_samples: list = field(default_factory=list)
    y_train: np.ndarray | None = None
    y_val: np.ndarray | None = None
    class_weight: dict[int, float] | None = None
    # build_model
    parts: Any = None  # tlcore.model.ClassifierParts
    cache: Any = None  # the head's FeatureCache (bottleneck features)
    caches: list = field(default_factory=list)  # every FeatureCache used, for the hit/miss counts
    hashes: dict[str, list[str]] = field(default_factory=dict)  # content hashes per split
    # the training stages
    predict_split: Predictor | None = None  # how the kept weights score a split, cheapest way available
    fine_tune_report: dict | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def size(self) -> int:
        return self.parts.image_size

    @property
    def batch(self) -> int:
        return self.config.batch_size

    @property
    def scratch(self) -> bool:
        """A random start: the whole network trains, nothing is frozen or cached."""
        return self.config.from_scratch

    def stop(self) -> bool:
        """True once the caller asked to stop (remembered: the run ends as cancelled)."""
        if not self.cancelled and self.should_stop():
            self.cancelled = True
        return self.cancelled

    def checkpoint(self, *, head: bool = False) -> Path | None:
        """Where best weights are written while training (None without a run folder)."""
        if self.folder is None:
            return None
        return self.folder.head_checkpoint_path if head else self.folder.checkpoint_path
