"""Training: a run as named stages, from a checked dataset to a saved, evaluated model.

``train(config)`` runs in the calling process and reports through events
(:mod:`tlcore.events`); :mod:`tlcore.jobs` runs it in a process of its own for the app.

- :mod:`.run` — ``train()``, :class:`TrainResult`, failures in plain words
- :mod:`.state` — :class:`TrainingRun`, what the stages share, and the event stream
- :mod:`.stages` — prepare data, build the model, compute (cached) features, train the head
- :mod:`.fine_tuning` — fine-tune the top of the base, keep whichever weights score better
- :mod:`.finish` — save the kept weights and evaluate them
- :mod:`.fitting` — one ``fit``: optimizer, loss, class weights, callbacks
- :mod:`.feeds` — image batches, in-memory arrays, cached views cycled by epoch
"""

from __future__ import annotations

from .fine_tuning import fine_tune_verdict
from .fitting import class_weights
from .run import TrainResult, train

__all__ = ["TrainResult", "class_weights", "fine_tune_verdict", "train"]
