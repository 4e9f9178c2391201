"""The user's changes to a dataset (relabel, exclude, keep), kept beside it, never in its files.

An :class:`Edit` names one image by its path relative to the dataset folder (as the report
writes paths), or one text by its row id relative to that folder (``reviews.tsv#12``), and what
to do with it: ``relabel`` moves it to another class, ``exclude``
leaves it out, ``keep`` records that the user looked at it and it is fine. A dataset's edits
live in the workspace, ``<workspace>/edits/<dataset_key(data)>.json``:
``{"data", "edits": [...], "history": [[...], ...]}``, where each history entry is the edit
list before one change, so :func:`undo_edit` can restore it. :func:`apply_edits` is what
:func:`~tlcore.data.load_dataset` runs on the candidate files (and
:func:`~tlcore.text.dataset.load_text_dataset` on the rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TLCoreError
from ..findings import Finding
from ..runfiles import read_json, write_json_atomic
from ..workspace import Workspace, default_workspace
from .discover import normal_path, relative_path
from .source import dataset_key

EDIT_ACTIONS = ("relabel", "exclude", "keep")
MAX_HISTORY = 100  # undo steps kept per dataset
_FIX_SHAPE = ('write each edit as {"path": "cats/001.jpg", "action": "relabel", "label": "dogs"} '
              '(action relabel, exclude or keep; a label only for relabel).')


@dataclass(frozen=True)
class Edit:
    """One change to one image: ``relabel`` (to ``label``), ``exclude`` or ``keep``."""

    path: str
    action: str
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "action": self.action, "label": self.label}

    @classmethod
    def of(cls, value: "Edit | dict[str, Any]") -> "Edit":
        """An edit from an :class:`Edit` or a ``{"path", "action", "label"}`` dict, checked.

        Raises:
            TLCoreError: The value is not an edit, names an unknown action, or a relabel has no label.
        """
        if isinstance(value, Edit):
            path, action, label = value.path, value.action, value.label
        elif isinstance(value, dict) and set(value) <= {"path", "action", "label"}:
            path, action, label = value.get("path"), value.get("action"), value.get("label")
        else:
            raise TLCoreError(f"The edit {value!r} is not an edit.", _FIX_SHAPE)
        if not isinstance(path, str) or not path.strip():
            raise TLCoreError(f"The edit {value!r} names no image path.", _FIX_SHAPE)
        if action not in EDIT_ACTIONS:
            raise TLCoreError(f"The edit of {path!r} has the action {action!r}, which is not allowed.",
                              "use 'relabel', 'exclude' or 'keep'.")
        if action == "relabel" and (not isinstance(label, str) or not label):
            raise TLCoreError(f"The edit of {path!r} relabels it but names no class.",
                              "give the class it belongs to as its label.")
        return cls(normal_path(path), action, label if action == "relabel" else None)


def check_edits(values: list | tuple) -> list[Edit]:
    """Every value as an :class:`Edit` (raises TLCoreError for one that is not)."""
    if not isinstance(values, (list, tuple)):
        raise TLCoreError(f"The edits {values!r} are not a list.", _FIX_SHAPE)
    return [Edit.of(v) for v in values]


def changes_in_words(edits: Iterable[Edit | dict[str, Any]]) -> str:
    """What the edits change, e.g. ``"2 relabelled, 1 excluded"`` ("" when they only keep pictures)."""
    actions = [e["action"] if isinstance(e, dict) else e.action for e in edits]
    counts = ((actions.count("relabel"), "relabelled"), (actions.count("exclude"), "excluded"))
    return ", ".join(f"{n} {word}" for n, word in counts if n)


def _merged(edits: list[Edit], new: Iterable[Edit]) -> list[Edit]:
    """A later decision about a path replaces the earlier one; order is the order of first decision."""
    by_path = {e.path: e for e in edits}
    for edit in new:
        by_path[edit.path] = edit
    return list(by_path.values())


# --------------------------------------------------------------------------- the edits file
def edits_file(data: str | Path, workspace: Workspace | None = None) -> Path:
    """Where the edits of dataset ``data`` are kept in the workspace."""
    return (workspace or default_workspace()).root / "edits" / f"{dataset_key(data)}.json"


def _read(data: str | Path, workspace: Workspace | None) -> tuple[list[Edit], list[list[Edit]]]:
    stored = read_json(edits_file(data, workspace))
    if not isinstance(stored, dict):
        return [], []
    try:
        return check_edits(stored.get("edits", [])), [check_edits(h) for h in stored.get("history", [])]
    except TLCoreError:
        # Written only by this module; a damaged file is not the user's to repair.
        return [], []


def _write(data: str | Path, workspace: Workspace | None, edits: list[Edit], history: list[list[Edit]]) -> None:
    path = edits_file(data, workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {
        "data": str(Path(data).expanduser().resolve()),
        "edits": [e.to_dict() for e in edits],
        "history": [[e.to_dict() for e in step] for step in history[-MAX_HISTORY:]],
    })


def load_edits(data: str | Path, workspace: Workspace | None = None) -> list[Edit]:
    """The edits kept for dataset ``data`` (none yet: an empty list)."""
    return _read(data, workspace)[0]


def add_edits(data: str | Path, edits: Iterable[Edit | dict[str, Any]], workspace: Workspace | None = None) -> list[Edit]:
    """Add edits as one undo step (a later edit of a path replaces the earlier); returns all edits."""
    new = check_edits(list(edits))
    current, history = _read(data, workspace)
    merged = _merged(current, new)
    if merged != current:
        _write(data, workspace, merged, history + [current])
    return merged


def undo_edit(data: str | Path, workspace: Workspace | None = None) -> list[Edit]:
    """Undo the last change (an :func:`add_edits` or :func:`clear_edits` call); returns the edits now."""
    current, history = _read(data, workspace)
    if not history:
        return current
    previous = history.pop()
    _write(data, workspace, previous, history)
    return previous


def clear_edits(data: str | Path, workspace: Workspace | None = None) -> list[Edit]:
    """Drop every edit (one undo step brings them back); returns the empty list."""
    current, history = _read(data, workspace)
    if current:
        _write(data, workspace, [], history + [current])
    return []


# --------------------------------------------------------------------------- applying them
Candidate = tuple[str, str, str]  # (split, class name, absolute path)


def apply_edits(
    candidates: list[Candidate], edits: Iterable[Edit | dict[str, Any]], base: Path, known_classes: list[str],
    warnings: list[Finding], *, item: str = "image",
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """The candidates with the edits applied, and what was applied (``{"path", "action", "label", "from"}``).

    ``item`` names what a candidate is in the messages: "image" (a file), or "text" (a row id
    such as ``reviews.tsv#12``, whose class is its label, not a folder).

    Raises:
        TLCoreError: A relabel names a class the dataset does not have.
    """
    edits = _merged([], check_edits(list(edits)))
    if not edits:
        return candidates, []
    by_path = {e.path: e for e in edits}
    unknown = sorted({e.label for e in edits if e.action == "relabel" and e.label not in known_classes})
    if unknown:
        raise TLCoreError(
            f"Your changes relabel {item}s to {', '.join(repr(u) for u in unknown)}, which "
            f"{'are not classes' if len(unknown) > 1 else 'is not a class'} of this dataset "
            f"(its classes: {', '.join(repr(c) for c in known_classes)}).",
            "relabel to one of those classes, or " + ("add a class folder of that name." if item == "image" else
                                                      "add training texts with that label to the file."),
        )
    out, found = [], {}
    for split, class_name, path in candidates:
        edit = by_path.get(relative_path(path, base))
        if edit is None:
            out.append((split, class_name, path))
            continue
        found[edit.path] = {**edit.to_dict(), "from": class_name}
        if edit.action == "relabel":
            out.append((split, edit.label, path))
        elif edit.action == "keep":
            out.append((split, class_name, path))
    applied = [found[e.path] for e in edits if e.path in found]  # in the order the user decided
    gone = [e.path for e in edits if e.path not in found]
    if gone:
        warnings.append(Finding(
            f"{len(gone)} of your changes name{'s' if len(gone) == 1 else ''} {item}s no longer in the dataset, "
            "so they were ignored",
            "nothing to do, or clear your changes to forget them.",
            tuple(gone),
        ))
    changed = [a for a in applied if a["action"] != "keep"]
    if changed:
        warnings.append(Finding(
            f"{len(changed)} of your changes {'are' if len(changed) > 1 else 'is'} applied: "
            f"{changes_in_words(changed)} (your files are unchanged)",
            "undo or clear your changes to use the " + ("folders" if item == "image" else "data") + " as they are.",
            tuple(a["path"] for a in changed),
        ))
    return out, applied
