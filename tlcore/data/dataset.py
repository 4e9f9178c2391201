"""The data stage's entry point: :func:`load_dataset`, from a folder or zip to a checked :class:`Dataset`.

It runs the stages in order: open the source (:mod:`.source`), find the layout and the
candidate files (:mod:`.discover`), check and hash every file (:mod:`.files`), decide the
classes and splits (:mod:`.split`) and write the report (:mod:`.report`). A
:class:`Dataset` holds the labelled samples per split, the report, and a content
fingerprint that keys the feature cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..archive import ZipLimits
from ..errors import TLCoreError
from ..findings import Finding, SkippedFile
from ..workspace import Workspace
from .discover import SPLITS, collect_candidates, find_layout, relative_path
from .edits import Edit, apply_edits
from .files import Progress, file_sha256, inspect_files
from .report import DatasetReport, build_report
from .source import opened_source
from .split import Sample, assign_splits, check_classes, random_split
from .subjects import find_subjects, straddling, subjects_summary


@dataclass
class Dataset:
    """A checked dataset: class names, labelled samples per split and the report."""

    root: Path
    classes: list[str]
    samples: list[Sample]
    report: DatasetReport
    layout: str
    has_test: bool = False
    hashes: dict[str, str] = field(default_factory=dict, repr=False)  # sample path -> sha256
    subjects: dict[str, str] = field(default_factory=dict, repr=False)  # sample path -> subject (when found)
    modality: str = "image"  # "image" or "text" (then each sample's path is a row id, its text in ``texts``)
    texts: dict[str, str] = field(default_factory=dict, repr=False)  # text data: sample path (row id) -> text
    columns: dict[str, str] = field(default_factory=dict)  # text data: which column held the texts, labels, splits

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> list[Sample]:
        """The samples of one split ("train", "val" or "test"), in a stable order."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        return [s for s in self.samples if s.split == name]

    def shared_subjects(self, split: str = "val") -> int:
        """How many of ``split``'s images share their subject (a patient, a camera recording) with a
        training image: scores on them look better than they are (0 when no subjects are known)."""
        if not self.subjects:
            return 0
        return straddling(self.paths("train"), self.paths(split), self.subjects)[1]

    def paths(self, split: str) -> list[str]:
        return [s.path for s in self.split(split)]

    def labels(self, split: str) -> np.ndarray:
        return np.array([s.label for s in self.split(split)], dtype=np.int32)

    @property
    def is_text(self) -> bool:
        return self.modality == "text"

    def text_of(self, path: str) -> str:
        """Text data: the text of one sample (its row id)."""
        return self.texts[str(path)]

    def content_hash(self, path: str | Path) -> str:
        """sha256 of a file's bytes (from the inspection pass when the file is a sample; for text
        data, of the text itself)."""
        key = str(path)
        if key not in self.hashes:
            self.hashes[key] = file_sha256(Path(path))
        return self.hashes[key]

    def fingerprint(self) -> str:
        """A sha256 that changes whenever any image, label, split or class name changes.

        Used as a feature-cache key: it depends on content, not on where the dataset lives.
        """
        digest = hashlib.sha256(json.dumps(self.classes, ensure_ascii=False).encode("utf-8"))
        rows = sorted((relative_path(s.path, self.root), s.label, s.split, self.content_hash(s.path)) for s in self.samples)
        for row in rows:
            digest.update(("\x1f".join(map(str, row)) + "\n").encode("utf-8"))
        return digest.hexdigest()


def load_dataset(
    source: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 42,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
    limits: ZipLimits | None = None,
    group_by: str = "auto",
    edits: Iterable[Edit | dict[str, Any]] = (),
) -> Dataset:
    """Read, check and split a labelled image folder or zip.

    Args:
        source: A folder, or a ``.zip`` (extracted once into ``workspace.datasets_dir``).
        val_fraction: Share of each class held out for validation when there is no
            ``val/`` folder; 0 means no validation set.
        seed: Seed of the validation split.
        workspace: Where zips are extracted (default: :func:`default_workspace`).
        progress: Called as ``progress(done, total, message)`` while files are checked.
        limits: Zip-bomb limits for zip sources; default: the ``TLCORE_MAX_ZIP_*``
            settings (see :mod:`tlcore.limits`).
        group_by: How to find each image's subject (patient, specimen, session), whose images
            a held-out validation split keeps together: "auto" (from the file names when a
            pattern obviously fits), "none", a regular expression searched in the file name,
            or a ``.csv`` file with columns ``path,group`` (see :mod:`.subjects`).
        edits: The user's changes (:class:`~tlcore.data.edits.Edit` or their dicts), applied
            on top of the files: relabel, exclude or keep an image (see :mod:`.edits`).

    Returns:
        The :class:`Dataset`, whose ``report`` lists everything that was found.

    Raises:
        TLCoreError: The dataset cannot be used (no images, one class, an empty class,
            mismatched classes between splits, a subject pattern or file that does not
            fit, a relabel to an unknown class, …); the message says how to fix it. A zip
            refused this way leaves nothing in the workspace.
    """
    if not 0 <= float(val_fraction) <= 0.9:
        raise TLCoreError(
            f"val_fraction is {val_fraction!r}, which is not allowed.",
            "use a number from 0 to 0.9, e.g. 0.2 to hold out 20% of each class.",
        )
    source_path = Path(source).expanduser()
    with opened_source(source_path, workspace, limits) as (base, ignored):
        return _load(source_path, base, list(ignored), val_fraction, seed, progress, group_by, list(edits))


def _load(
    source: Path, base: Path, skipped: list[SkippedFile], val_fraction: float, seed: int, progress: Progress | None,
    group_by: str, edits: list,
) -> Dataset:
    root, layout, split_dirs = find_layout(base, skipped)
    warnings: list[Finding] = []
    candidates, class_dirs = collect_candidates(base, split_dirs, skipped, warnings)
    # Edits first, so an excluded file is not even decoded.
    candidates, applied = apply_edits(candidates, edits, base, sorted(class_dirs.get("train", {})), warnings)
    hashes, problems = inspect_files([path for _, _, path in candidates], progress)
    usable: dict[str, dict[str, list[str]]] = {split: {name: [] for name in dirs} for split, dirs in class_dirs.items()}
    for split, class_name, path in candidates:
        if path in problems:
            skipped.append(SkippedFile(relative_path(path, base), *problems[path]))
        else:
            usable[split].setdefault(class_name, []).append(path)  # a relabel may name a class this split lacks

    classes = check_classes(root, usable, skipped)
    split_lists, validation, summary, subject_of = _split(usable, classes, val_fraction, seed, group_by, base,
                                                          warnings)
    labels = {name: i for i, name in enumerate(classes)}
    samples = [
        Sample(path=path, label=labels[class_name], split=split)
        for split in SPLITS
        for class_name, path in sorted(split_lists.get(split, []), key=lambda item: item[1])
    ]
    sample_hashes = {s.path: hashes[s.path] for s in samples}
    report = build_report(source, base, root, layout, classes, validation, samples, sample_hashes, skipped, warnings)
    report.subjects, report.edits = summary, applied
    if layout == "splits":  # the folder names as the user wrote them, e.g. "Validation"
        report.split_folders = [split_dirs[split].name for split in SPLITS if split in split_dirs]
    return Dataset(
        root=root,
        classes=classes,
        samples=samples,
        report=report,
        layout=layout,
        has_test=any(s.split == "test" for s in samples),
        hashes=sample_hashes,
        subjects={s.path: subject_of[s.path] for s in samples if s.path in subject_of},
    )


def _split(
    usable: dict[str, dict[str, list[str]]], classes: list[str], val_fraction: float, seed: int, group_by: str,
    base: Path, warnings: list[Finding],
) -> tuple[dict[str, list[tuple[str, str]]], str, dict[str, Any], dict[str, str]]:
    """The splits (by subject when subjects are found), their description, the report's ``subjects``
    and each file's subject."""
    files = [(split, name, p) for split, per_class in usable.items() for name, paths in per_class.items() for p in paths]
    subjects = find_subjects(group_by, files, base)
    split_lists, validation = assign_splits(usable, classes, val_fraction, seed, warnings, subjects.of or None)
    held_out = val_fraction > 0 and not any(usable.get("val", {}).values())  # no val folder images: split off
    by_subject = subjects.found and held_out
    # What a plain random split with the same seed would have done, to say what the subject split avoided.
    plain = random_split(usable["train"], classes, val_fraction, seed) if by_subject else None
    summary, findings = subjects_summary(
        subjects, split_lists, {"train": plain[0], "val": plain[1]} if plain else None, by_subject)
    warnings += findings
    return split_lists, validation, summary, dict(subjects.of or {})
