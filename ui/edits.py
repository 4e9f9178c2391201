"""The user's changes to the chosen dataset (relabel, exclude, keep), kept by tlcore in the workspace.

The changes are the dataset's: the current settings carry them (``config.edits``), so the
next run uses them and records them in its ``config.json``. Every page reads them through
:func:`current_edits`, which also picks up changes made from the command line.
"""

from __future__ import annotations

from tlcore import Edit, add_edits, clear_edits, load_edits, undo_edit

from .datasets import dataset_source
from .state import current_config, update_config, workspace


def _sync(edits) -> list[dict]:
    values = [e.to_dict() for e in edits]
    if current_config().edits != values:
        update_config(edits=values)
    return values


def current_edits() -> list[dict]:
    """The chosen dataset's changes, as ``{"path", "action", "label"}``; the settings carry them."""
    source = dataset_source()
    return _sync(load_edits(source, workspace())) if source else []


def change(items: list[tuple[str, str, str | None]]) -> list[dict]:
    """Record ``(path, action, label)`` decisions as one step (one undo takes them all back)."""
    return _sync(add_edits(dataset_source(), [Edit(path, action, label) for path, action, label in items], workspace()))


def undo() -> list[dict]:
    return _sync(undo_edit(dataset_source(), workspace()))


def clear() -> list[dict]:
    return _sync(clear_edits(dataset_source(), workspace()))
