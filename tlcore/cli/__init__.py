"""The ``tlcore`` command line: the same functions the pages call, as subcommands.

    tlcore inspect DATA                 check a dataset and print its report
    tlcore layers BACKBONE              list the layers you can cut a backbone at
    tlcore train DATA [options]         train a classifier, with a progress bar
    tlcore evaluate RUN_DIR             accuracy, confusion matrix, per-class scores
    tlcore predict MODEL IMAGE...       top-k classes of new images
    tlcore export RUN_DIR               Keras, SavedModel, TFLite, labels and a model card
    tlcore featurize DATA --out F       bottleneck features to Parquet
    tlcore weights import FILE          make a downloaded weights file available offline

The package: :mod:`.entry` (``main``: errors to exit statuses), :mod:`.parser` (flags built
from the settings table), :mod:`.commands` (one module per kind of work), :mod:`.progress`
(the progress bar), :mod:`.quiet` (TensorFlow's start-up noise). Heavy modules (TensorFlow,
Keras) are imported inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

from ..errors import EXIT_OK, EXIT_UNEXPECTED, EXIT_USER_ERROR
from .entry import main
from .parser import build_parser

__all__ = ["EXIT_OK", "EXIT_UNEXPECTED", "EXIT_USER_ERROR", "build_parser", "main"]
