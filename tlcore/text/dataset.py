"""Text data's entry point: :func:`load_text_dataset`, from a file or folder to a checked :class:`Dataset`.

It reads the texts and labels (:mod:`.table`), leaves out empty texts, decides the classes
and splits (the split column or split files are kept; otherwise a seeded, stratified share
of every class is held out, keeping copies of a text on one side), and writes the same
:class:`~tlcore.data.report.DatasetReport` as for images, with the text findings of
:mod:`.checks`. Each sample's ``path`` is a row id (``file#line``, or the ``.txt`` file), its
text in ``Dataset.texts`` and the sha256 of the text in ``Dataset.hashes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..data.dataset import Dataset
from ..data.discover import SPLITS
from ..data.edits import Edit, apply_edits
from ..data.files import Progress
from ..data.report import build_report
from ..data.split import MIN_TRAIN_IMAGES, Sample, quoted, random_split
from ..errors import TLCoreError
from ..findings import Finding
from ..workspace import Workspace
from .checks import (
    DEFAULT_SEQUENCE_LENGTH,
    copy_groups,
    drop_unusable,
    normalised,
    skipped_finding,
    text_findings,
)
from .table import TextTable, read_text_table

Usable = dict[str, dict[str, list[str]]]  # {split: {class: [row ids]}}


def load_text_dataset(
    source: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 42,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
    sequence_length: int | None = None,
    edits: Iterable[Edit | dict[str, Any]] = (),
) -> Dataset:
    """Read, check and split labelled texts.

    Args:
        source: A .csv/.tsv/.txt file or a folder (see :func:`~tlcore.text.table.is_text_source`).
        text_column, label_column: The columns of the texts and labels (default: found from the data).
        val_fraction: Share of each class held out for validation when the data has no
            validation split; 0 means no validation set.
        seed: Seed of the validation split.
        workspace: Unused: files and folders are read where they are (nothing is written).
        progress: Called as ``progress(done, total, message)`` while the texts are read.
        sequence_length: Tokens a text is cut to, for the "too long" finding (default: 64).
        edits: The user's changes (:class:`~tlcore.data.edits.Edit` or their dicts), applied on
            top of the file by row id relative to its folder (``reviews.tsv#12``, as the data
            check lists texts): relabel (to a label the training texts have), exclude or keep.

    Returns:
        A :class:`Dataset` with ``modality == "text"``.

    Raises:
        TLCoreError: The data cannot be used (see :func:`~tlcore.text.table.read_text_table`;
            also one class, a class with one text, classes in val/test that train lacks, a
            relabel to an unknown class); the message says how to fix it.
    """
    del workspace  # kept for the same signature as load_dataset
    if not 0 <= float(val_fraction) <= 0.9:
        raise TLCoreError(
            f"val_fraction is {val_fraction!r}, which is not allowed.",
            "use a number from 0 to 0.9, e.g. 0.2 to hold out 20% of each class.",
        )
    if progress:
        progress(0, 1, "Reading the texts")
    table = read_text_table(source, text_column=text_column, label_column=label_column)
    rows, dropped = drop_unusable(table.rows, table.root)
    warnings = list(table.findings) + dropped
    rows, applied = _apply_edits(rows, list(edits), table.root, warnings)
    usable: Usable = {}
    for row in rows:
        usable.setdefault(row.split or "train", {}).setdefault(row.label, []).append(row.row_id)
    classes = _check_classes(usable, table)
    texts = {row.row_id: row.text for row in rows}
    lists, validation = _split(usable, classes, val_fraction, seed, texts, table, warnings)

    labels = {name: i for i, name in enumerate(classes)}
    order = {row.row_id: i for i, row in enumerate(rows)}  # samples in the file's order
    samples = [Sample(path=row_id, label=labels[name], split=split)
               for split in SPLITS for name, row_id in sorted(lists.get(split, []), key=lambda p: order[p[1]])]
    hashes = {s.path: hashlib.sha256(texts[s.path].encode("utf-8")).hexdigest() for s in samples}
    report = build_report(Path(source), table.root, table.root, table.format, classes, validation, samples, hashes,
                          table.skipped, [])
    report.edits = applied
    # Text copies are found after normalising (case, punctuation, spacing): a superset of identical bytes.
    groups = sorted((sorted(g, key=lambda s: order[s.path]) for g in copy_groups(samples, texts)),
                    key=lambda g: order[g[0].path])
    rel = [[_relative(s.path, table.root) for s in g] for g in groups]
    report.duplicates = rel
    report.leakage = [{"paths": paths, "splits": [s.split for s in g]}
                      for paths, g in zip(rel, groups) if len({s.split for s in g}) > 1]
    report.warnings = (text_findings(samples, texts, classes, table.root, sequence_length or DEFAULT_SEQUENCE_LENGTH,
                                     table.columns.get("label", "") if table.format != "txt-folders" else "")
                       + skipped_finding(table.skipped) + warnings)
    if progress:
        progress(1, 1, f"Read {len(samples)} texts")
    return Dataset(
        root=table.root,
        classes=classes,
        samples=samples,
        report=report,
        layout=table.format,
        has_test=any(s.split == "test" for s in samples),
        hashes=hashes,
        modality="text",
        texts={s.path: texts[s.path] for s in samples},
        columns=dict(table.columns),
    )


def _apply_edits(rows: list, edits: list, root: Path, warnings: list[Finding]) -> tuple[list, list[dict[str, Any]]]:
    """The rows with the user's edits applied (excluded rows left out, relabelled ones with their new
    label), and what was applied; the same rules and findings as for images (:func:`apply_edits`)."""
    if not edits:
        return rows, []
    known = _sort_classes(list({row.label for row in rows if (row.split or "train") == "train"}))
    candidates = [(row.split or "train", row.label, row.row_id) for row in rows]
    kept, applied = apply_edits(candidates, edits, root, known, warnings, item="text")
    label_of = {row_id: label for _, label, row_id in kept}
    return [row._replace(label=label_of[row.row_id]) for row in rows if row.row_id in label_of], applied


def _relative(row_id: str, root: Path) -> str:
    try:
        return Path(row_id).relative_to(root).as_posix()
    except ValueError:
        return row_id


def _sort_classes(names: list[str]) -> list[str]:
    """Class names sorted, numerically when they are all whole numbers ("2" before "10")."""
    if all(name.lstrip("-").isdigit() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def _check_classes(usable: Usable, table: TextTable) -> list[str]:
    """Raise for class sets a classifier cannot learn from; return the class names."""
    train = usable.get("train", {})
    where = _where(table)
    if not any(usable.values()):
        raise TLCoreError(f"No texts were found in {where}.",
                          "write one text and its label per row (or one text per .txt file in class folders).")
    if not train:
        raise TLCoreError(f"{where} has no training texts (only {', '.join(sorted(usable))}).",
                          "mark some rows as train, or remove the split column.")
    if len(train) < 2:
        raise TLCoreError(f"Every training text of {where} has the same label ('{next(iter(train))}'), but a "
                          "classifier needs at least two classes.", "add texts of another class.")
    too_few = _sort_classes([name for name, ids in train.items() if len(ids) < MIN_TRAIN_IMAGES])
    if too_few:
        many = len(too_few) > 1
        raise TLCoreError(
            f"The class{'es' if many else ''} {quoted(too_few[:10])} {'have' if many else 'has'} only 1 training "
            "text.", f"add at least {MIN_TRAIN_IMAGES} texts per class (a few dozen for a useful model), or remove "
            f"{'them' if many else 'it'}.")
    for split in ("val", "test"):
        extra = _sort_classes([name for name in usable.get(split, {}) if name not in train])
        if extra:
            raise TLCoreError(
                f"The {split} texts have labels that no training text has: {quoted(extra[:10])}.",
                f"use the same labels in train and {split}, or add training texts of those classes.")
    return _sort_classes(list(train))


def _where(table: TextTable) -> str:
    return f"'{table.source.name}'"


def _split_source(table: TextTable) -> str:
    if table.format == "split-files":
        return "from the validation file"
    if table.format == "txt-folders":
        return "from the val folder"
    return f"from the split column '{table.columns.get('split')}'"


def _split(usable: Usable, classes: list[str], val_fraction: float, seed: int, texts: dict[str, str],
           table: TextTable, warnings: list[Finding]) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """Each row's split: ``{split: [(class, row id)]}`` and a description of validation."""
    lists = {split: [(name, p) for name, ids in per_class.items() for p in ids] for split, per_class in usable.items()}
    if lists.get("val"):
        for name in classes:
            if not usable["val"].get(name):
                warnings.append(Finding(f"Class '{name}' has no validation texts",
                                        "add some so its accuracy can be measured."))
        return lists, _split_source(table)
    if val_fraction <= 0:
        warnings.append(Finding(
            "No validation texts (val_fraction is 0), so accuracy cannot be measured during training",
            "set val_fraction to 0.2, or add a validation split."))
        return lists, "none"
    lists["train"], lists["val"], copies = _random_split_by_text(usable["train"], classes, val_fraction, seed, texts)
    together = "; copies of a text are kept on one side" if copies else ""
    return lists, f"{val_fraction:.0%} of each class held out from train at random (seed {seed}){together}"


def _random_split_by_text(train: dict[str, list[str]], classes: list[str], val_fraction: float, seed: int,
                          texts: dict[str, str]) -> tuple[list, list, bool]:
    """A seeded stratified split of the distinct texts of every class (after :func:`normalised`):
    copies of a text all go to one side, so a random split never creates leaks. Returns
    ``(train, val, whether any text had copies)``."""
    ids_of: dict[str, dict[str, list[str]]] = {name: {} for name in classes}
    for name in classes:
        for row_id in train[name]:
            ids_of[name].setdefault(normalised(texts[row_id]), []).append(row_id)
    splittable = [name for name in classes if len(ids_of[name]) > 1]
    keep, hold = random_split({name: list(ids_of[name]) for name in splittable}, splittable, val_fraction, seed)
    keep += [(name, key) for name in classes if name not in splittable for key in ids_of[name]]
    def expand(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, row_id) for name, key in pairs for row_id in ids_of[name][key]]

    copies = any(len(ids) > 1 for per_class in ids_of.values() for ids in per_class.values())
    return expand(keep), expand(hold), copies


__all__ = ["load_text_dataset"]
