"""Either kind of dataset from one call: pictures (a folder or zip) or texts (a CSV/TSV/TXT file, a folder of .txt).

The pages, ``tlcore inspect`` and ``train`` load data through :func:`load_any`, so a text file
given anywhere a picture folder goes is recognised the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def is_text_data(source: str | Path, *, text_column: str | None = None, label_column: str | None = None) -> bool:
    """``source`` holds texts: a text file or folder, or text columns were named."""
    from ..text.table import is_text_source

    return bool(text_column or label_column) or is_text_source(Path(source).expanduser())


def load_any(source: str | Path, *, text_column: str | None = None, label_column: str | None = None,
             sequence_length: int | None = None, val_fraction: float = 0.2, seed: int = 42, workspace=None,
             progress=None, edits=(), **image_options: Any):
    """:func:`tlcore.data.load_dataset` for pictures, :func:`tlcore.text.dataset.load_text_dataset` for texts.

    ``sequence_length`` (for the "will be cut" finding) applies to texts only; ``image_options``
    (``group_by``, ``limits``) to pictures only. ``edits`` (the user's relabel/exclude/keep
    decisions, by path or row id relative to the dataset's folder) apply to both.
    """
    if is_text_data(source, text_column=text_column, label_column=label_column):
        from ..text.dataset import load_text_dataset

        return load_text_dataset(source, text_column=text_column, label_column=label_column,
                                 val_fraction=val_fraction, seed=seed, workspace=workspace, progress=progress,
                                 sequence_length=sequence_length, edits=edits)
    from .dataset import load_dataset

    return load_dataset(source, val_fraction=val_fraction, seed=seed, workspace=workspace, progress=progress,
                        edits=edits, **image_options)
