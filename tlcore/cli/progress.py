"""The command line's progress display: one consumer of a run's event stream.

:class:`ProgressPrinter` is an ``on_event`` callback (events as in :mod:`tlcore.events`):
on a terminal the current batch is redrawn in place, and every stage change, finished
epoch and final word is printed as a line of its own.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import events as ev

_BAR_WIDTH = 24
_CLOSING = (ev.FINISHED, ev.CANCELLED, ev.FAILED)  # statuses after which nothing more is drawn


def bar(done: float, total: float) -> str:
    """A text progress bar such as ``[######..................]``."""
    frac = 0.0 if not total else max(0.0, min(1.0, done / total))
    filled = int(round(frac * _BAR_WIDTH))
    return "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]"


def _metric(name: str, value: Any) -> str:
    return f"{name} {value:.4f}" if isinstance(value, (int, float)) else ""


class ProgressPrinter:
    """Turns training events into a one-line progress bar plus one line per epoch.

    On a terminal the current batch is redrawn in place (carriage return); when output is
    piped to a file only stage changes and finished epochs are printed.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._line_open = False
        self._last_message = None
        self._epochs_done: dict[str, int] = {}
        self._pass_start: dict[tuple, tuple[float, float]] = {}  # (split, view) -> (t, images) at its first batch

    def _write_line(self, text: str) -> None:
        if self._line_open:
            self.stream.write("\r\033[K")
            self._line_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def _redraw(self, text: str) -> None:
        if not self.live:
            return
        self.stream.write("\r\033[K" + text[:200])
        self.stream.flush()
        self._line_open = True

    def close(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == ev.BATCH:
            self._batch(event)
        elif kind == ev.EPOCH:
            self._epoch(event)
        elif kind == ev.STAGE:
            self._stage(event)
        elif kind == ev.STATUS:
            self._status(event)
        elif kind == ev.FINE_TUNE_RESULT and event.get("message"):
            self._write_line(str(event["message"]))  # which weights were kept, and why

    def _batch(self, event: dict) -> None:
        stage = str(event.get("stage", ""))
        batch, batches = event.get("batch", 0), event.get("batches", 0)
        if stage in ev.TRAINING_STAGES:
            epoch = self._epochs_done.get(stage, 0) + 1
            parts = [f"{stage:<9}", f"epoch {epoch}/{event.get('epochs', '?')}", bar(batch, batches),
                     f"{batch}/{batches}", _metric("loss", event.get("loss")), _metric("acc", event.get("accuracy"))]
        elif event.get("images_total"):  # a feature pass: pictures, their rate and the time left
            parts = [str(event.get("message") or stage), *self._feature_parts(event)]
        else:
            label = event.get("message") or stage
            parts = [str(label), bar(batch, batches), f"{batch}/{batches}"]
        if event.get("images_per_s"):
            parts.append(f"{event['images_per_s']:.0f} img/s")
        self._redraw("  ".join(p for p in parts if p))

    def _feature_parts(self, event: dict) -> list[str]:
        from ..progress import time_left_words

        done, total, t = float(event.get("images_done") or 0), float(event["images_total"]), event.get("t")
        key = (event.get("split"), event.get("view"))
        t0, done0 = self._pass_start.setdefault(key, (t, done))
        parts = [bar(done, total), f"{done:,.0f}/{total:,.0f} pictures"]
        if t and t0 and t > t0 and done > done0:
            rate = (done - done0) / (t - t0)
            parts += [f"{rate:.0f} img/s", time_left_words((total - done) / rate)]
        return parts

    def _epoch(self, event: dict) -> None:
        stage = str(event.get("stage", ""))
        self._epochs_done[stage] = int(event.get("epoch", self._epochs_done.get(stage, 0) + 1))
        parts = [f"{stage:<9}", f"epoch {event.get('epoch')}/{event.get('epochs')}",
                 _metric("loss", event.get("loss")), _metric("accuracy", event.get("accuracy")),
                 _metric("val_loss", event.get("val_loss")), _metric("val_accuracy", event.get("val_accuracy"))]
        if event.get("seconds") is not None:
            parts.append(f"{event['seconds']:.1f}s")
        if event.get("images_per_s"):
            parts.append(f"{event['images_per_s']:.0f} img/s")
        self._write_line("  ".join(p for p in parts if p))

    def _stage(self, event: dict) -> None:
        if event.get("total"):  # e.g. checking images: a progress count
            label = event.get("message") or event.get("stage", "")
            done, total = event.get("done", 0), event["total"]
            self._redraw(f"{label}  {bar(done, total)}  {done}/{total}")
            if done >= total and self.live:
                self.close()
            return
        message = event.get("message") or f"Stage: {event.get('stage')}"
        if event.get("trainable_params") is not None:
            message += (f" ({event['trainable_params']:,} trainable, {event.get('frozen_params', 0):,} frozen "
                        "parameters")
            if event.get("image_size"):
                message += f", image size {event['image_size']} px"
            if event.get("layer"):
                message += f", bottleneck layer {event['layer']}"
            message += ")"
        if message != self._last_message:
            self._last_message = message
            self._write_line(message)

    def _status(self, event: dict) -> None:
        if event.get("status") in _CLOSING:
            self.close()
            return
        message = event.get("message")
        if message and message != self._last_message:
            self._last_message = message
            self._write_line(message)
