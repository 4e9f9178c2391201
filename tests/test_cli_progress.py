"""The command line's progress printer: one consumer of the event stream."""

from __future__ import annotations

import io

from tlcore import events as ev
from tlcore.cli.progress import ProgressPrinter, bar


def test_progress_printer_shows_epochs_and_speed():
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    printer({"type": "stage", "stage": "model", "message": "Model ready", "trainable_params": 3843,
             "frozen_params": 100, "image_size": 64, "layer": "out_relu"})
    printer({"type": "batch", "stage": "head", "epoch": 0, "epochs": 2, "batch": 1, "batches": 2, "loss": 1.0})
    printer({"type": "epoch", "stage": "head", "epoch": 1, "epochs": 2, "loss": 0.9, "accuracy": 0.5,
             "val_loss": 0.8, "val_accuracy": 0.625, "seconds": 1.5, "images_per_s": 240.0})
    printer({"type": "status", "status": "finished", "accuracy": 0.625})
    text = stream.getvalue()
    assert "3,843 trainable" in text and "bottleneck layer out_relu" in text
    assert "epoch 1/2" in text and "val_accuracy 0.6250" in text and "240 img/s" in text
    assert len(text.splitlines()) == 2  # batch lines only redraw in place on a terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_batches_redraw_one_line_and_epochs_count_on():
    stream = _Terminal()
    printer = ProgressPrinter(stream)
    printer(ev.batch_event(ev.STAGE_HEAD, 1, 4, epochs=3, loss=0.5))
    printer(ev.epoch_event(ev.STAGE_HEAD, 1, 3, loss=0.4))
    printer(ev.batch_event(ev.STAGE_HEAD, 2, 4, epochs=3))
    printer(ev.fine_tune_result_event(kept="head", message="Kept the head's weights: fine-tuning did not help."))
    printer(ev.status_event(ev.FINISHED))
    text = stream.getvalue()
    assert "\r\033[K" in text and "epoch 1/3" in text and "epoch 2/3" in text and bar(2, 4) in text
    assert "Kept the head's weights" in text and text.endswith("\n")


def test_status_messages_are_printed_once():
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for _ in range(2):
        printer(ev.status_event(ev.RUNNING, "Preparing data"))
    assert stream.getvalue() == "Preparing data\n"


def test_the_bar_is_clamped():
    assert bar(0, 0) == "[" + "." * 24 + "]"
    assert bar(5, 4) == "[" + "#" * 24 + "]"
