"""Progress maths: where a run stands, folded from its event stream, in words and numbers.

The one reader of a run's event stream (schema: :mod:`tlcore.events`) that turns it into a
progress bar: the feature pass (images done, images per second, time left), the training
stages (epochs done across head and fine-tuning, time left) and the end of a run. The Train
page renders a :class:`Progress`; the command line can print one. Also the few wordings a
progress text needs (durations, short numbers, what fine-tuning changes, statuses).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import events as ev

if TYPE_CHECKING:  # only for the annotations: progress reads a config, it never builds one
    from .config import TrainConfig

STATUS_WORDS = {
    ev.QUEUED: "Waiting for its turn",
    ev.RUNNING: "Training",
    ev.FINISHED: "Finished",
    ev.FAILED: "Failed",
    ev.CANCELLED: "Cancelled",
    ev.INTERRUPTED: "Failed: interrupted (its process stopped; the last checkpoint is kept)",
}
SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}  # a split in words


# --------------------------------------------------------------------------- words and numbers
def format_seconds(seconds: float | None, *, precise: bool = False) -> str:
    """A duration for a metric box or a table: ``"< 1 s"``, ``"12 s"``, ``"3 min 05 s"``.

    ``precise`` keeps one decimal under 10 s (``"1.3 s"``), for times per epoch.
    """
    if seconds is None:
        return "—"
    if precise and seconds < 10:
        return f"{seconds:.1f} s" if seconds >= 0.05 else "< 0.1 s"
    if seconds < 1:
        return "< 1 s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def time_left_words(seconds: float) -> str:
    """Time left in a sentence: ``"less than a second left"``, ``"about 12 s left"``."""
    if seconds < 1:
        return "less than a second left"
    return f"about {format_seconds(seconds)} left"


def compact_number(value: float) -> str:
    """A short number for a metric box: ``7.9k`` for 7,876, ``31`` for 31.2, ``1.2M``."""
    if value < 10:
        return f"{value:.1f}"
    if value < 1000:
        return f"{value:.0f}"
    if value < 100_000:
        return f"{value / 1e3:.1f}k"
    if value < 1e6:
        return f"{value / 1e3:.0f}k"
    return f"{value / 1e6:.1f}M"


def fine_tune_words(layers: int) -> str:
    """What fine-tuning changes, worded the same everywhere (the number is ``fine_tune_layers``).

    tlcore counts only layers with weights and always keeps BatchNormalization frozen.
    """
    return f"the top {int(layers)} layers with weights (BatchNorm kept frozen)"


def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- epochs
def epoch_rows(events: list[dict]) -> list[dict]:
    """One row per finished epoch, numbered across both stages (head, then fine-tune)."""
    rows = []
    for event in events:
        if event.get("type") != ev.EPOCH:
            continue
        rows.append({
            "epoch": len(rows) + 1,
            "stage": event.get("stage", ev.STAGE_HEAD),
            "loss": _num(event.get("loss")),
            "val_loss": _num(event.get("val_loss")),
            "accuracy": _num(event.get("accuracy")),
            "val_accuracy": _num(event.get("val_accuracy")),
            "seconds": _num(event.get("seconds")),
        })
    return rows


# --------------------------------------------------------------------------- progress
@dataclass
class Progress:
    """Where a run stands, in the words and numbers the Train page shows."""

    fraction: float
    text: str
    phase: str  # what the run is doing now, in plain words
    images_per_s: float | None
    seconds_left: float | None
    stage: str = ""  # what the bar measures: "features", "head", "fine-tune" (or "" before any)
    on_cached_features: bool = False  # that training stage learns from features computed once
    seconds_per_epoch: float | None = None  # mean epoch time of that training stage


@dataclass
class _FeaturePass:
    """The feature batches seen since the last stage began (counts summed over splits)."""

    key: tuple
    start: tuple[float | None, float]  # (time, images done) when the stage began
    first: tuple[float | None, float]  # at the first batch: later ones give a steady rate
    base: float = 0.0  # work of the splits already finished (counts restart for each split)
    done: float = 0.0
    total: float = 0.0
    counts_images: bool = True  # False: an old event stream with batch numbers only
    split: str = ""
    view: int = 0
    t: float | None = None

    def units_per_s(self) -> float | None:
        cumulative = self.base + self.done
        for t0, done0 in (self.first, self.start):
            if t0 is not None and self.t is not None and self.t > t0 and cumulative > done0:
                return (cumulative - done0) / (self.t - t0)
        return None


def _feature_pass(event: dict, current: _FeaturePass | None, stage_t: float | None) -> _FeaturePass:
    """Fold one feature ``batch`` event into the pass it belongs to."""
    counts_images = event.get("images_done") is not None and bool(_num(event.get("images_total")))
    done = _num(event.get("images_done") if counts_images else event.get("batch")) or 0.0
    total = _num(event.get("images_total") if counts_images else event.get("batches")) or 0.0
    key = (str(event.get("split", "")), int(_num(event.get("view")) or 0))
    t = _num(event.get("t"))
    if current is None:
        current = _FeaturePass(key=key, start=(stage_t, 0.0), first=(t, done))
    elif key != current.key:
        if done < current.done:  # a new split starts counting from 0
            current.base += current.done
        current.key = key
    current.done, current.total, current.counts_images, current.t = done, total, counts_images, t
    current.split, current.view = key
    return current


@dataclass
class _Tally:
    """What a run's event stream says so far, folded one event at a time (see progress_of)."""

    totals: dict[str, int]
    layers: int | None  # layers with weights fine-tuning unfreezes
    done: dict[str, int] = field(default_factory=lambda: {ev.STAGE_HEAD: 0, ev.STAGE_FINE_TUNE: 0})
    state: str = ev.QUEUED
    stage: str = ""  # the last stage event
    showing: str = ""  # what the bar measures now: a stage, or "features" inside any stage
    phase: str = "Waiting to start"
    stage_t: float | None = None  # when the stage began
    train_t: float | None = None  # when its training began (after any feature pass in it)
    batch_frac: float = 0.0
    features: _FeaturePass | None = None
    pending_features: bool = False  # a feature pass ran since the last training stage began
    last_train: str = ""
    rates: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)  # stage -> trains on cached features
    epoch_seconds: dict[str, list[float]] = field(default_factory=dict)

    def feed(self, event: dict) -> None:
        kind, stage = event.get("type"), event.get("stage")
        if kind == ev.STATUS:
            self.state = str(event.get("status", self.state))
            self.phase = str(event.get("message") or self.phase)
        elif kind == ev.STAGE:
            self._stage(event)
        elif kind == ev.BATCH and stage == ev.STAGE_FEATURES:
            self.features = _feature_pass(event, self.features if self.showing == ev.STAGE_FEATURES else None,
                                          self.stage_t)
            self.showing, self.pending_features = ev.STAGE_FEATURES, True
            self.train_t = self.features.t  # training (if any follows in this stage) starts after it
        elif kind == ev.BATCH and stage in ev.TRAINING_STAGES:
            self._training(str(stage), event)
            batches = _num(event.get("batches")) or 0
            self.batch_frac = min(1.0, (_num(event.get("batch")) or 0) / batches) if batches else 0.0
        elif kind == ev.EPOCH:
            stage = str(event.get("stage", ev.STAGE_HEAD))
            self._training(stage, event)
            self.done[stage] = self.done.get(stage, 0) + 1
            self.batch_frac = 0.0
            seconds = _num(event.get("seconds"))
            if seconds is not None:
                self.epoch_seconds.setdefault(stage, []).append(seconds)

    def _stage(self, event: dict) -> None:
        new_stage = str(event.get("stage", ""))
        if new_stage != self.stage:
            self.stage_t = self.train_t = _num(event.get("t"))
            self.batch_frac, self.features = 0.0, None
        self.stage = self.showing = new_stage
        self.pending_features = self.pending_features or new_stage == ev.STAGE_FEATURES
        self.phase = str(event.get("message") or self.phase)
        if new_stage == ev.STAGE_FINE_TUNE:
            self.layers = int(_num(event.get("layers")) or self.layers or 0) or None
            if self.layers:  # the Model page's words, whatever the event's message says
                self.phase = "Fine-tuning " + fine_tune_words(self.layers) + (
                    " on augmented copies of your pictures" if "augment" in str(event.get("message", "")) else "")

    def _training(self, stage: str, event: dict) -> None:
        if stage not in self.cached:  # the stage's first batch: it trains on what a feature pass made
            self.cached[stage], self.pending_features = self.pending_features, False
        self.showing = self.last_train = stage
        self.totals[stage] = int(event.get("epochs") or self.totals.get(stage, 0))
        rate = _num(event.get("images_per_s"))
        if rate:
            self.rates[stage] = rate

    def progress(self, fraction: float, text: str, ips: float | None, seconds_left: float | None,
                 what: str) -> Progress:
        spe = self.epoch_seconds.get(what)
        return Progress(min(1.0, max(0.0, fraction)), text, self.phase, ips, seconds_left, what,
                        bool(self.cached.get(what)), sum(spe) / len(spe) if spe else None)


def progress_of(events: list[dict], config: "TrainConfig | None", *, now: float | None = None) -> Progress:
    """Where a run stands, from its event stream (see docs/ARCHITECTURE.md).

    The bar shows what runs now: the feature pass (images done of the current split, with
    images per second and time left from the batch timestamps), or a training stage
    (finished epochs plus the share of the current one, time left extrapolated from the time
    the stage has trained so far).

    Args:
        events: The run's events, oldest first.
        config: The run's settings (the planned epochs), or None when unreadable.
        now: The time to measure "time left" at (default: now).
    """
    tally = _Tally(
        totals={ev.STAGE_HEAD: int(config.epochs) if config else 0,
                ev.STAGE_FINE_TUNE: int(config.fine_tune_epochs) if (config and config.mode == "fine-tune") else 0},
        layers=int(config.fine_tune_layers) if config else None,
    )
    for event in events:
        tally.feed(event)
    if tally.state in ev.FINAL:
        stage = tally.last_train
        fraction = 1.0 if tally.state == ev.FINISHED else _stage_fraction(stage, tally.done, tally.totals,
                                                                          tally.batch_frac)
        return tally.progress(fraction, STATUS_WORDS.get(tally.state, tally.state), tally.rates.get(stage), None,
                              stage)
    now = time.time() if now is None else now
    if tally.showing == ev.STAGE_FEATURES and tally.features is not None:
        return _feature_progress(tally, tally.features, config, now)
    if tally.showing in ev.TRAINING_STAGES:
        return _training_progress(tally, now)
    return tally.progress(0.0, tally.phase, None, None, tally.showing)


def _feature_progress(tally: _Tally, features: _FeaturePass, config: "TrainConfig | None", now: float) -> Progress:
    """The feature pass: pictures done of this split, images per second, time left for them."""
    fraction = min(1.0, features.done / features.total) if features.total else 0.0
    rate = features.units_per_s()
    ips = rate if features.counts_images else (rate * config.batch_size if rate and config else None)
    seconds_left = None
    if rate:
        waited = max(0.0, now - features.t) if features.t is not None else 0.0
        seconds_left = max(0.0, (features.total - features.done) / rate - waited)
    what = SPLIT_WORDS.get(features.split, features.split or "your")
    copy = f", augmented copy {features.view}" if features.view else ""
    unit = "pictures" if features.counts_images else "batches"
    text = f"Computing features of the {what} pictures{copy}: {features.done:,.0f} of {features.total:,.0f} {unit}"
    if ips:
        text += f" · {compact_number(ips)} images/s"
    if seconds_left is not None:
        text += f" · {time_left_words(seconds_left)} for these pictures"
    return tally.progress(fraction, text, ips, seconds_left, ev.STAGE_FEATURES)


def _training_progress(tally: _Tally, now: float) -> Progress:
    """A training stage: epochs done plus the current one's share, and its speed in words that fit."""
    stage = tally.showing
    fraction = _stage_fraction(stage, tally.done, tally.totals, tally.batch_frac)
    epoch_no = min(tally.done.get(stage, 0) + 1, max(tally.totals.get(stage, 0), 1))
    on_cache = bool(tally.cached.get(stage, tally.pending_features))
    if stage == ev.STAGE_FINE_TUNE:
        word = "fine-tuning " + fine_tune_words(tally.layers) if tally.layers else "fine-tuning"
    else:
        word = "training the classifier" + (" on the saved features" if on_cache else "")
    text = f"Epoch {epoch_no} of {tally.totals.get(stage) or '?'} ({word})"
    seconds_left = None
    if tally.train_t is not None and fraction > 0.01:
        elapsed = max(0.0, now - tally.train_t)
        seconds_left = max(0.0, elapsed / fraction - elapsed)
    progress = tally.progress(fraction, text, tally.rates.get(stage), seconds_left, stage)
    progress.on_cached_features = on_cache
    if on_cache and progress.seconds_per_epoch is not None:
        progress.text += f" · {format_seconds(progress.seconds_per_epoch, precise=True)} per epoch"
    elif not on_cache and progress.images_per_s:
        progress.text += f" · {compact_number(progress.images_per_s)} images/s"
    if seconds_left is not None:
        more = stage == ev.STAGE_HEAD and tally.totals.get(ev.STAGE_FINE_TUNE)
        progress.text += f" · {time_left_words(seconds_left)}" + (" in this stage" if more else "")
    return progress


def _stage_fraction(stage: str, done: dict, totals: dict, batch_frac: float) -> float:
    total = totals.get(stage) or 0
    if stage not in ev.TRAINING_STAGES or not total:
        return 0.0
    return min(1.0, (done.get(stage, 0) + batch_frac) / total)


__all__ = ["Progress", "STATUS_WORDS", "compact_number", "epoch_rows", "fine_tune_words", "format_seconds",
           "progress_of", "time_left_words"]
