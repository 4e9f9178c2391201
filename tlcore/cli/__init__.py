"""The ``tlcore`` command line: the same functions the pages call, as subcommands.

    tlcore inspect DATA                 check a dataset and print its report
    tlcore layers BACKBONE              list the layers you can cut a backbone at
    tlcore train DATA [options]         train a classifier, with a progress bar
    tlcore check DATA                   wrong labels, near-duplicates, leaks, outliers, shift
    tlcore evaluate RUN_DIR             figures with intervals, calibration, threshold, "I don't know"
    tlcore threshold RUN_DIR [options]  show or change the two-class threshold and the strictness
    tlcore predict MODEL IMAGE...       the answer (or "unknown" and why), top-k classes
    tlcore explain RUN_DIR IMAGE...     where the model looks (Grad-CAM overlays)
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
