"""The dataset report: what was found, shown to the user before training, and its findings.

:class:`DatasetReport` holds the counts, skipped files, duplicates, leakage between splits and
the warnings, each a :class:`~tlcore.findings.Finding` (problem, fix, paths). It is saved as
JSON in a run folder (:meth:`~DatasetReport.to_dict`), read back, also from older files
(:meth:`~DatasetReport.from_dict`), and printed for people (:meth:`~DatasetReport.to_text`).
:func:`build_report` counts and compares the checked samples and writes the findings, most
important first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..findings import Finding, SkippedFile
from .discover import SPLITS, relative_path
from .split import Sample, quoted

FEW_IMAGES = 10  # below this per class, warn
# The layouts of text data (tlcore.text.table's formats), in words.
TEXT_LAYOUTS = {"csv": "a CSV file", "tsv": "a TSV file", "tab-lines": "lines of a text, a tab and its label",
                "txt-folders": "one folder of .txt files per class", "split-files": "train/val/test files",
                "files": "several files of labelled texts, read together"}
IMBALANCE_WARNING = 2.5  # largest/smallest class ratio that gets a warning


@dataclass
class DatasetReport:
    """What was found in a dataset, shown to the user before training.

    Paths are relative to the folder the user gave (or, for a zip, to the zip's content).

    Attributes:
        source: The folder or zip the user gave.
        root: The folder the dataset was read from.
        layout: "class-folders" or "splits".
        classes: Class names, in label order.
        validation: Where the validation images come from, in words.
        counts: ``{split: {class: number of usable images}}``.
        skipped: Files left out, why and how to fix it (not images, unreadable, outside
            class folders, operating-system clutter, …).
        duplicates: Groups of byte-identical files.
        leakage: Identical files found in more than one split: ``{"paths", "splits"}``.
        smallest_class: ``(name, number of training images)``.
        imbalance_ratio: Largest / smallest number of training images per class.
        warnings: What the user should know, each with its fix and the paths concerned.
        split_folders: The split folders found ("splits" layout), e.g. ``["train", "test"]``.
        subjects: How images were grouped by subject (patient, specimen, session):
            ``{"group_by", "method", "note"?, "patterns"?, "file"?, "num_subjects"?,
            "unmatched_images"?, "largest_subject"?: {"name", "images"}, "split_by_subject"?,
            "split_subjects"?, "random_split"?: {"straddling_subjects", "val_images"},
            "folders"?: {split: {"straddling_subjects", "images"}}}`` (see :mod:`.subjects`).
        edits: The user's changes applied: ``[{"path", "action", "label", "from"}]``.
    """

    source: str
    root: str
    layout: str
    classes: list[str]
    validation: str
    counts: dict[str, dict[str, int]]
    skipped: list[SkippedFile] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    leakage: list[dict[str, Any]] = field(default_factory=list)
    smallest_class: tuple[str, int] = ("", 0)
    imbalance_ratio: float = 1.0
    warnings: list[Finding] = field(default_factory=list)
    split_folders: list[str] = field(default_factory=list)
    subjects: dict[str, Any] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (saved as ``data_report.json`` in a run folder).

        Warnings are written as ``{"problem", "fix", "paths"}``.
        """
        values = asdict(self)
        values["warnings"] = [w.to_dict() for w in self.warnings]
        values["smallest_class"] = list(self.smallest_class)
        values["num_images"] = self.num_images
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DatasetReport":
        """Read back a report saved with :meth:`to_dict` (e.g. a run's ``data_report.json``)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        kwargs["skipped"] = [SkippedFile(**item) for item in values.get("skipped", [])]
        kwargs["smallest_class"] = tuple(values.get("smallest_class", ("", 0)))
        kwargs["warnings"] = [_read_warning(w) for w in values.get("warnings", [])]
        return cls(**kwargs)

    @property
    def noun(self) -> str:
        """What the samples are: "texts" for text layouts, else "images"."""
        return "texts" if self.layout in TEXT_LAYOUTS else "images"

    def to_text(self) -> str:
        """The human-readable report printed by ``tlcore inspect`` and shown in the app."""
        splits = [s for s in SPLITS if self.counts.get(s)]
        noun = self.noun
        if self.layout == "class-folders":
            layout = "one folder per class"
        elif self.layout in TEXT_LAYOUTS:
            layout = TEXT_LAYOUTS[self.layout]
        else:
            folders = ", ".join(f"{name}/" for name in self.split_folders)
            layout = f"split folders ({folders}), each with one folder per class"
        lines = [
            f"Dataset: {self.root}",
            f"Layout: {layout}",
            f"Classes ({len(self.classes)}): {', '.join(self.classes)}",
            f"Validation: {self.validation}",
        ]
        if self.subjects.get("num_subjects"):
            largest = self.subjects.get("largest_subject", {})
            lines.append(f"Subjects: {self.subjects['num_subjects']} ({self.subjects['method']}; the largest has "
                         f"{largest.get('images', 0)} images)")
        elif self.subjects.get("note"):
            lines.append(f"Subjects: none ({self.subjects['note']})")
        if self.edits:
            lines.append(f"Your changes applied: {len(self.edits)} (your files are unchanged)")
        lines += [
            "",
        ]
        width = max([len("class"), len("total")] + [len(c) for c in self.classes])
        lines.append("  ".join([f"{'class':<{width}}"] + [f"{s:>6}" for s in splits]))
        for name in self.classes:
            lines.append("  ".join([f"{name:<{width}}"] + [f"{self.counts[s].get(name, 0):>6}" for s in splits]))
        lines.append("  ".join([f"{'total':<{width}}"] + [f"{sum(self.counts[s].values()):>6}" for s in splits]))
        lines += [
            "",
            f"Smallest class: '{self.smallest_class[0]}' with {self.smallest_class[1]} training {noun}",
            f"Imbalance (largest / smallest class): {self.imbalance_ratio:.1f}",
        ]
        if self.skipped:
            lines += ["", f"Skipped files ({len(self.skipped)}):"]
            lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        if self.duplicates:
            same = "Identical files" if noun == "images" else "Identical or nearly identical texts"
            lines += ["", f"{same} ({len(self.duplicates)} groups):"]
            lines += ["  " + " = ".join(group) for group in self.duplicates]
        if self.leakage:
            lines += ["", f"Same {noun[:-1]} in more than one split ({len(self.leakage)}):"]
            lines += [
                "  " + " = ".join(f"{p} ({s})" for p, s in zip(item["paths"], item["splits"]))
                for item in self.leakage
            ]
        lines += ["", "Warnings:" if self.warnings else "Warnings: none"]
        lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _read_warning(value: dict[str, Any] | str) -> Finding:
    if isinstance(value, str):
        # The old file format (data_report.json of runs before findings were objects): one
        # "problem; fix" sentence per warning.
        problem, _, fix = value.partition("; ")
        return Finding(problem, fix)
    return Finding.from_dict(value)


def build_report(
    source: Path,
    base: Path,
    root: Path,
    layout: str,
    classes: list[str],
    validation: str,
    samples: list[Sample],
    hashes: dict[str, str],
    skipped: list[SkippedFile],
    warnings: list[Finding],
) -> DatasetReport:
    """Count the samples, find identical files and write the report with its findings."""
    counts = {split: {name: 0 for name in classes} for split in SPLITS if any(s.split == split for s in samples)}
    for s in samples:
        counts[s.split][classes[s.label]] += 1
    train_counts = counts["train"]
    smallest = min(classes, key=lambda name: (train_counts[name], name))
    largest = max(train_counts.values())
    imbalance = largest / max(train_counts[smallest], 1)

    by_hash: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_hash[hashes[s.path]].append(s)
    groups = sorted((sorted(group, key=lambda s: s.path) for group in by_hash.values() if len(group) > 1),
                    key=lambda g: g[0].path)
    duplicates = [[relative_path(s.path, base) for s in group] for group in groups]
    leakage = [
        {"paths": [relative_path(s.path, base) for s in group], "splits": [s.split for s in group]}
        for group in groups
        if len({s.split for s in group}) > 1
    ]
    conflicts = [group for group in groups if len({s.label for s in group}) > 1]
    findings = (
        _small_classes(classes, train_counts)
        + _imbalance(classes, train_counts, smallest, largest, imbalance)
        + _copies(leakage, conflicts, duplicates, classes, base)
        + _skipped(skipped)
    )
    return DatasetReport(
        source=str(source),
        root=str(root),
        layout=layout,
        classes=list(classes),
        validation=validation,
        counts=counts,
        skipped=sorted(skipped, key=lambda s: s.path),
        duplicates=duplicates,
        leakage=leakage,
        smallest_class=(smallest, train_counts[smallest]),
        imbalance_ratio=round(float(imbalance), 3),
        warnings=findings + warnings,
    )


def _small_classes(classes: list[str], train_counts: dict[str, int]) -> list[Finding]:
    fix = f"add at least {FEW_IMAGES} per class for a useful model."
    small = [name for name in classes if train_counts[name] < FEW_IMAGES]
    if len(small) > 5:  # one line, not hundreds, for datasets with many small classes
        examples = ", ".join(f"'{name}' ({train_counts[name]})" for name in small[:5])
        return [Finding(f"{len(small)} classes have fewer than {FEW_IMAGES} training images (e.g. {examples})", fix)]
    return [Finding(f"Class '{name}' has only {train_counts[name]} training images", fix) for name in small]


def _imbalance(
    classes: list[str], train_counts: dict[str, int], smallest: str, largest: int, imbalance: float
) -> list[Finding]:
    if imbalance < IMBALANCE_WARNING:
        return []
    big = max(classes, key=lambda name: train_counts[name])
    return [Finding(
        f"The classes are imbalanced: '{big}' has {largest} training images but '{smallest}' only "
        f"{train_counts[smallest]} ({imbalance:.1f}x)",
        "add images to the small classes (meanwhile class_weight='auto' balances them during training).",
    )]


def _copies(
    leakage: list[dict[str, Any]], conflicts: list[list[Sample]], duplicates: list[list[str]],
    classes: list[str], base: Path,
) -> list[Finding]:
    """Identical files: across splits, across classes, and copies in general."""
    out = []
    if leakage:
        out.append(Finding(
            f"{len(leakage)} image{'s are' if len(leakage) > 1 else ' is'} in more than one split (train/val/test), "
            "so validation accuracy will look better than it is",
            "delete the copies from one of the splits.",
            tuple(p for item in leakage for p in item["paths"]),
        ))
    for group in conflicts:
        labels = sorted({classes[s.label] for s in group})
        out.append(Finding(
            f"The same image is in the classes {quoted(labels)} ({relative_path(group[0].path, base)})",
            "keep it in the one class it belongs to.",
            tuple(relative_path(s.path, base) for s in group),
        ))
    if duplicates:
        extra = sum(len(g) - 1 for g in duplicates)
        out.append(Finding(
            f"{len(duplicates)} group{'s' if len(duplicates) > 1 else ''} of identical files ({extra} extra "
            f"cop{'ies' if extra > 1 else 'y'})",
            "delete the copies so they do not count twice.",
            tuple(p for group in duplicates for p in group),
        ))
    return out


def _skipped(skipped: list[SkippedFile]) -> list[Finding]:
    unusable = sorted((s for s in skipped if not s.ignored), key=lambda s: s.path)
    if not unusable:
        return []
    fixes = {s.fix for s in unusable if s.fix}
    # Each skipped file carries its own fix; one sentence for all of them fits only when they agree.
    if len(fixes) == 1:
        fix = next(iter(fixes)).replace(" it", " them", 1) if len(unusable) > 1 else next(iter(fixes))
        fix = fix.rstrip(".") + "."
    else:
        fix = "fix each as the list of skipped files says beside it."
    return [Finding(
        f"{len(unusable)} file{'s were' if len(unusable) > 1 else ' was'} skipped (listed under skipped files)",
        fix,
        tuple(s.path for s in unusable),
    )]
