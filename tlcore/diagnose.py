"""Verdicts on a run's learning curves: rules read from its epoch rows, returned as Findings.

The rules a page once applied by itself (is the model memorising its training pictures?)
live here, so the Train page, the command line and later model checks give the same verdict.
Epoch rows are those of :func:`tlcore.progress.epoch_rows`.
"""

from __future__ import annotations

from .findings import Finding

OVERFIT_GAP = 0.15  # training accuracy this far above validation accuracy: memorising
_MIN_EPOCHS = 3  # too early to judge before this many epochs


def overfitting(rows: list[dict]) -> Finding | None:
    """A Finding when the last epoch's training accuracy is far above its validation accuracy.

    Args:
        rows: The run's epoch rows, oldest first.

    Returns:
        The finding, or None when there are fewer than three epochs or no sign of memorising.
    """
    if len(rows) < _MIN_EPOCHS:
        return None
    last = rows[-1]
    train, val = last.get("accuracy"), last.get("val_accuracy")
    if train and val and train - val > OVERFIT_GAP:
        return Finding("Training accuracy is much higher than validation accuracy: the model is memorising",
                       "More pictures, augmentation or more dropout can help")
    return None


__all__ = ["OVERFIT_GAP", "overfitting"]
