"""The data stage: from a user's folder or zip to a checked, split, streamable dataset.

:func:`load_dataset` finds the layout (one folder per class, or ``train/``, ``val/`` and
``test/`` folders each holding class folders, optionally wrapped in one top folder),
recognises images by their content, splits off a stratified validation set when there is
none, and writes a :class:`DatasetReport`: counts, skipped files with why and how to fix
them, duplicates, leakage between splits and warnings as findings. Problems that make a
dataset unusable raise :class:`~tlcore.errors.TLCoreError`. :class:`ImageBatches` streams
``(uint8 images, int32 labels)`` batches to Keras without holding the dataset in memory.

One module per step: ``source`` (folder or zip, the extraction cache, the dataset's name),
``discover`` (layout, class folders, candidate files), ``files`` (decode check and hash of
each file), ``split`` (classes and splits), ``report`` (the report and its findings),
``dataset`` (:func:`load_dataset` running them in order) and ``batches`` (decoding for Keras).
"""

from __future__ import annotations

from typing import Any

from ..findings import Finding, SkippedFile
from .batches import decode_all, make_image_batches
from .dataset import Dataset, load_dataset
from .discover import LAYOUTS, SPLITS
from .report import FEW_IMAGES, IMBALANCE_WARNING, DatasetReport
from .source import dataset_name
from .split import MIN_TRAIN_IMAGES, Sample


def __getattr__(name: str) -> Any:
    # ImageBatches subclasses keras.utils.PyDataset: built on first use, so importing
    # tlcore.data never imports keras.
    if name == "ImageBatches":
        cls = make_image_batches()
        globals()["ImageBatches"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FEW_IMAGES",
    "IMBALANCE_WARNING",
    "LAYOUTS",
    "MIN_TRAIN_IMAGES",
    "SPLITS",
    "Dataset",
    "DatasetReport",
    "Finding",
    "ImageBatches",
    "Sample",
    "SkippedFile",
    "dataset_name",
    "decode_all",
    "load_dataset",
]
