"""The data stage: from a user's folder or zip to a checked, split, streamable dataset.

:func:`load_dataset` finds the layout (one folder per class, or ``train/``, ``val/`` and
``test/`` folders each holding class folders, optionally wrapped in one top folder),
recognises images by their content, applies the user's edits (relabel, exclude, keep; the
files stay untouched), splits off a stratified validation set when there is none (keeping each
subject's images on one side when subjects are known), and writes a :class:`DatasetReport`:
counts, skipped files with why and how to fix them, duplicates, leakage between splits and
warnings as findings. Problems that make a dataset unusable raise
:class:`~tlcore.errors.TLCoreError`. :class:`ImageBatches` streams ``(uint8 images, int32
labels)`` batches to Keras without holding the dataset in memory.

One module per step: ``source`` (folder or zip, the extraction cache, the dataset's name),
``discover`` (layout, class folders, candidate files), ``files`` (decode check and hash of
each file), ``edits`` (the user's changes, kept in the workspace), ``subjects`` (each image's
subject, from its file name or a CSV file), ``split`` (classes and splits), ``report`` (the
report and its findings), ``dataset`` (:func:`load_dataset` running them in order) and
``batches`` (decoding for Keras); ``capture`` makes a class-folders dataset from camera shots
and files in the browser.
"""

from __future__ import annotations

from typing import Any

from ..findings import Finding, SkippedFile
from .batches import decode_all, make_image_batches
from .dataset import Dataset, load_dataset
from .discover import LAYOUTS, SPLITS
from .edits import (
    EDIT_ACTIONS,
    Edit,
    add_edits,
    changes_in_words,
    clear_edits,
    edits_file,
    load_edits,
    undo_edit,
)
from .report import FEW_IMAGES, IMBALANCE_WARNING, DatasetReport
from .source import dataset_name
from .split import MIN_TRAIN_IMAGES, Sample
from .subjects import AUTO_PATTERNS, Subjects, find_subjects


def __getattr__(name: str) -> Any:
    # ImageBatches subclasses keras.utils.PyDataset: built on first use, so importing
    # tlcore.data never imports keras.
    if name == "ImageBatches":
        cls = make_image_batches()
        globals()["ImageBatches"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AUTO_PATTERNS",
    "EDIT_ACTIONS",
    "FEW_IMAGES",
    "IMBALANCE_WARNING",
    "LAYOUTS",
    "MIN_TRAIN_IMAGES",
    "SPLITS",
    "Dataset",
    "DatasetReport",
    "Edit",
    "Finding",
    "ImageBatches",
    "Sample",
    "SkippedFile",
    "Subjects",
    "add_edits",
    "changes_in_words",
    "clear_edits",
    "dataset_name",
    "decode_all",
    "edits_file",
    "find_subjects",
    "load_dataset",
    "load_edits",
    "undo_edit",
]
