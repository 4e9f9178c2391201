"""Deciding the classes and each image's split: the labelled :class:`Sample`.

:func:`check_classes` refuses class sets a classifier cannot learn from (no images, one
class, an empty or one-image class, val/test classes that train lacks), each with its fix.
:func:`assign_splits` keeps the user's ``val/`` folder, or holds out a stratified share of
every class (seeded; by subject when subjects are known, :func:`group_split`), and notes as
findings what the user should know about validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TLCoreError
from ..findings import Finding, SkippedFile
from .discover import NOT_IN_CLASS_FOLDER

MIN_TRAIN_IMAGES = 2  # fewer per class cannot be trained and validated at all

Usable = dict[str, dict[str, list[str]]]  # {split: {class name: [absolute paths]}}


@dataclass(frozen=True)
class Sample:
    """One image: its absolute path, class index and split ("train", "val" or "test")."""

    path: str
    label: int
    split: str


def quoted(names: Sequence[str]) -> str:
    """``'a', 'b'``: names as a message lists them."""
    return ", ".join(f"'{n}'" for n in names)


def check_classes(root: Path, usable: Usable, skipped: list[SkippedFile]) -> list[str]:
    """Raise for unusable class sets; return the class names (sorted, as Keras does)."""
    train = usable["train"]
    total = sum(len(paths) for split in usable.values() for paths in split.values())
    if total == 0:
        loose = sum(1 for s in skipped if s.reason == NOT_IN_CLASS_FOLDER)
        found = f" ({loose} files lie outside class folders)" if loose else ""
        raise TLCoreError(
            f"No usable images were found in {str(root)!r}{found}.",
            f"put the images in one sub-folder per class, e.g. {root.name}/cats/001.jpg and "
            f"{root.name}/dogs/001.jpg (supported formats: JPEG, PNG, GIF, BMP, TIFF, WebP).",
        )
    if len(train) < 2:
        only = f" (only '{next(iter(train))}')" if train else ""
        raise TLCoreError(
            f"The dataset has {len(train)} class folder{'' if len(train) == 1 else 's'}{only}, but a classifier "
            "needs at least two classes.",
            "add a second folder of images, one sub-folder per class.",
        )
    empty = sorted(name for name, paths in train.items() if not paths)
    if empty:
        raise TLCoreError(
            f"The class folder{'s' if len(empty) > 1 else ''} {quoted(empty)} "
            f"{'have' if len(empty) > 1 else 'has'} no usable images.",
            "add images or remove the folder (see the skipped files for why files were left out).",
        )
    too_few = sorted(name for name, paths in train.items() if len(paths) < MIN_TRAIN_IMAGES)
    if too_few:
        raise TLCoreError(
            f"The class{'es' if len(too_few) > 1 else ''} {quoted(too_few)} "
            f"{'have' if len(too_few) > 1 else 'has'} only 1 image.",
            f"add at least {MIN_TRAIN_IMAGES} images per class (10 or more for a useful model), or remove the folder.",
        )
    classes = sorted(train)
    for split in ("val", "test"):
        extra = sorted(name for name, paths in usable.get(split, {}).items() if paths and name not in train)
        if extra:
            hints = [f"'{e}' looks like '{c}'" for e in extra for c in classes if e.casefold() == c.casefold()]
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise TLCoreError(
                f"The {split} folder has classes that train does not: {quoted(extra)}{hint} "
                "(the class sets of the splits do not match).",
                f"use the same class folder names in train/ and {split}/, or add those classes to train/.",
            )
    return classes


def assign_splits(
    usable: Usable,
    classes: list[str],
    val_fraction: float,
    seed: int,
    warnings: list[Finding],
    subjects: dict[str, str] | None = None,
) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """Decide each image's split; returns ``{split: [(class, path)]}`` and a description.

    With ``subjects`` (``{path: subject}``), a validation split held out of train keeps each
    subject's images on one side.
    """
    lists: dict[str, list[tuple[str, str]]] = {
        split: [(name, p) for name, paths in per_class.items() for p in paths]
        for split, per_class in usable.items()
    }
    if lists.get("val"):
        for name in classes:
            if not usable["val"].get(name):
                warnings.append(Finding(
                    f"Class '{name}' has no validation images",
                    f"add some to val/{name} so its accuracy can be measured.",
                ))
        return lists, "from the val folder"
    if "val" in usable:
        warnings.append(Finding(
            f"The val folder has no usable images, so {val_fraction:.0%} of each training class is held out instead",
            "add images to val/<class name>/ to choose them yourself.",
        ))
    if val_fraction <= 0:
        warnings.append(Finding(
            "No validation images (val_fraction is 0), so accuracy cannot be measured during training",
            "set val_fraction to 0.2 or add a val folder.",
        ))
        return lists, "none"
    if subjects:
        lists["train"], lists["val"] = group_split(usable["train"], classes, val_fraction, seed, subjects, warnings)
        return lists, (f"{val_fraction:.0%} of each class held out from train, split by subject: each subject's "
                       f"images are on one side (seed {seed})")
    lists["train"], lists["val"] = random_split(usable["train"], classes, val_fraction, seed)
    return lists, f"{val_fraction:.0%} of each class held out from train (seed {seed})"


Pairs = list[tuple[str, str]]  # [(class, path)]


def random_split(train: dict[str, list[str]], classes: list[str], val_fraction: float, seed: int) -> tuple[Pairs, Pairs]:
    """A seeded random split of every class: ``(train, val)`` as ``[(class, path)]``."""
    from sklearn.model_selection import train_test_split

    # One stratified split per class: every class gets its share of validation images,
    # while even a 2-image class keeps at least one for training (a single stratified
    # call over all classes cannot guarantee that for tiny classes).
    rng = np.random.RandomState(seed)
    keep_all, hold_all = [], []
    for name in classes:
        paths = sorted(train[name])
        n_val = min(len(paths) - 1, max(1, int(len(paths) * val_fraction + 0.5)))
        keep, hold = train_test_split(paths, test_size=n_val, random_state=rng)
        keep_all += [(name, p) for p in keep]
        hold_all += [(name, p) for p in hold]
    return keep_all, hold_all


def group_split(
    train: dict[str, list[str]], classes: list[str], val_fraction: float, seed: int, subjects: dict[str, str],
    warnings: list[Finding],
) -> tuple[Pairs, Pairs]:
    """Hold out about ``val_fraction`` of every class, keeping each subject's images on one side.

    scikit-learn's ``StratifiedGroupKFold`` cuts the subjects into folds that keep the class
    balance; the fold closest to ``val_fraction`` that leaves every class images on both sides
    becomes validation. A class with a single subject cannot be split that way: its images are
    split at random (noted in ``warnings``).
    """
    few = [name for name in classes if len({subjects[p] for p in train[name]}) < 2]
    if few:
        warnings.append(Finding(
            f"{'Classes' if len(few) > 1 else 'Class'} {quoted(few)} {'have' if len(few) > 1 else 'has'} images of "
            "only one subject, so their images were split at random (the same subject is in training and validation)",
            "add images of more subjects to these classes.",
        ))
    pairs = [(name, p) for name in classes if name not in few for p in sorted(train[name])]
    keep, hold = random_split(train, few, val_fraction, seed) if few else ([], [])
    if not pairs:
        return keep, hold
    in_val = _choose_fold(pairs, classes, val_fraction, seed, subjects)
    _repair(pairs, in_val, subjects)
    keep += [pair for pair, v in zip(pairs, in_val) if not v]
    hold += [pair for pair, v in zip(pairs, in_val) if v]
    return keep, hold


def _choose_fold(pairs: Pairs, classes: list[str], val_fraction: float, seed: int, subjects: dict[str, str]) -> list[bool]:
    import warnings as python_warnings

    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array([classes.index(name) for name, _ in pairs])
    groups = np.array([subjects[p] for _, p in pairs])
    # Above one half, validation is all folds but one (the one training keeps).
    invert = val_fraction > 0.5
    folds = min(max(2, round(1 / (1 - val_fraction if invert else val_fraction))), len(set(groups)))
    best, best_score = None, None
    with python_warnings.catch_warnings():  # "the least populated class has fewer members than n_splits"
        python_warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for _, fold in splitter.split(np.zeros(len(pairs)), labels, groups):
            in_val = np.zeros(len(pairs), dtype=bool)
            in_val[fold] = True
            if invert:
                in_val = ~in_val
            per_class = [(int(in_val[labels == c].sum()), int((~in_val)[labels == c].sum()))
                         for c in set(labels.tolist())]
            score = (sum(t == 0 for _, t in per_class), sum(v == 0 for v, _ in per_class),
                     abs(in_val.mean() - val_fraction))
            if best_score is None or score < best_score:
                best, best_score = in_val, score
    return best.tolist()


def _repair(pairs: Pairs, in_val: list[bool], subjects: dict[str, str]) -> None:
    """Move one small subject across for a class left without training or validation images."""
    for name in sorted({name for name, _ in pairs}):
        for side in (False, True):  # no training images first: a class must be trainable
            rows = [i for i, (n, _) in enumerate(pairs) if n == name]
            if any(in_val[i] == side for i in rows):
                continue
            sizes: dict[str, int] = {}
            for i in rows:
                sizes[subjects[pairs[i][1]]] = sizes.get(subjects[pairs[i][1]], 0) + 1
            smallest = min(sizes, key=lambda s: (sizes[s], s))
            for i, (_, p) in enumerate(pairs):
                if subjects[p] == smallest:
                    in_val[i] = side
