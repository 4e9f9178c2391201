"""Deciding the classes and each image's split: the labelled :class:`Sample`.

:func:`check_classes` refuses class sets a classifier cannot learn from (no images, one
class, an empty or one-image class, val/test classes that train lacks), each with its fix.
:func:`assign_splits` keeps the user's ``val/`` folder, or holds out a stratified share of
every class (seeded), and notes as findings what the user should know about validation.
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
) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """Decide each image's split; returns ``{split: [(class, path)]}`` and a description."""
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
    from sklearn.model_selection import train_test_split

    # One stratified split per class: every class gets its share of validation images,
    # while even a 2-image class keeps at least one for training (a single stratified
    # call over all classes cannot guarantee that for tiny classes).
    rng = np.random.RandomState(seed)
    train, val = [], []
    for name in classes:
        paths = sorted(usable["train"][name])
        n_val = min(len(paths) - 1, max(1, int(len(paths) * val_fraction + 0.5)))
        keep, hold = train_test_split(paths, test_size=n_val, random_state=rng)
        train += [(name, p) for p in keep]
        val += [(name, p) for p in hold]
    lists["train"], lists["val"] = train, val
    return lists, f"{val_fraction:.0%} of each class held out from train (seed {seed})"
