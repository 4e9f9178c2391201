"""From a user's folder or zip to a checked, split, streamable dataset.

:func:`load_dataset` finds the layout (one folder per class, or ``train/``, ``val/`` and
``test/`` folders each holding class folders, optionally wrapped in one top folder),
recognises images by their content, splits off a stratified validation set when there is
none, and writes a :class:`DatasetReport`: counts, skipped files and why, duplicates,
leakage between splits and plain-language warnings with their fix. Problems that make a
dataset unusable raise :class:`~tlcore.errors.TLCoreError`.

:class:`ImageBatches` streams ``(uint8 images, int32 labels)`` batches to Keras without ever
holding the whole dataset in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .archive import ZipLimits, extract_zip
from .errors import TLCoreError
from .images import ImageProblem, SkippedFile, check_image, load_image
from .workspace import Workspace, default_workspace

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
LAYOUTS = ("class-folders", "splits")
# Folder names (compared case-insensitively) that mark a split rather than a class.
_SPLIT_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val",
    "test": "test", "testing": "test",
}
_JUNK_FILES = {"thumbs.db", "desktop.ini"}
MIN_TRAIN_IMAGES = 2  # fewer per class cannot be trained and validated at all
FEW_IMAGES = 10  # below this per class, warn
IMBALANCE_WARNING = 2.5  # largest/smallest class ratio that gets a warning
_HASH_CHUNK = 1 << 20

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Sample:
    """One image: its absolute path, class index and split ("train", "val" or "test")."""

    path: str
    label: int
    split: str


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
        skipped: Files left out and why (not images, unreadable, outside class folders,
            operating-system clutter, …).
        duplicates: Groups of byte-identical files.
        leakage: Identical files found in more than one split: ``{"paths", "splits"}``.
        smallest_class: ``(name, number of training images)``.
        imbalance_ratio: Largest / smallest number of training images per class.
        warnings: Plain-language warnings, each with its fix.
        split_folders: The split folders found ("splits" layout), e.g. ``["train", "test"]``.
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
    warnings: list[str] = field(default_factory=list)
    split_folders: list[str] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return sum(sum(per_class.values()) for per_class in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (saved as ``data_report.json`` in a run folder)."""
        values = asdict(self)
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
        return cls(**kwargs)

    def to_text(self) -> str:
        """The human-readable report printed by ``tlcore inspect`` and shown in the app."""
        splits = [s for s in SPLITS if self.counts.get(s)]
        if self.layout == "class-folders":
            layout = "one folder per class"
        else:
            folders = ", ".join(f"{name}/" for name in self.split_folders)
            layout = f"split folders ({folders}), each with one folder per class"
        lines = [
            f"Dataset: {self.root}",
            f"Layout: {layout}",
            f"Classes ({len(self.classes)}): {', '.join(self.classes)}",
            f"Validation: {self.validation}",
            "",
        ]
        width = max([len("class"), len("total")] + [len(c) for c in self.classes])
        lines.append("  ".join([f"{'class':<{width}}"] + [f"{s:>6}" for s in splits]))
        for name in self.classes:
            lines.append("  ".join([f"{name:<{width}}"] + [f"{self.counts[s].get(name, 0):>6}" for s in splits]))
        lines.append("  ".join([f"{'total':<{width}}"] + [f"{sum(self.counts[s].values()):>6}" for s in splits]))
        lines += [
            "",
            f"Smallest class: '{self.smallest_class[0]}' with {self.smallest_class[1]} training images",
            f"Imbalance (largest / smallest class): {self.imbalance_ratio:.1f}",
        ]
        if self.skipped:
            lines += ["", f"Skipped files ({len(self.skipped)}):"]
            lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        if self.duplicates:
            lines += ["", f"Identical files ({len(self.duplicates)} groups):"]
            lines += ["  " + " = ".join(group) for group in self.duplicates]
        if self.leakage:
            lines += ["", f"Same image in more than one split ({len(self.leakage)}):"]
            lines += [
                "  " + " = ".join(f"{p} ({s})" for p, s in zip(item["paths"], item["splits"]))
                for item in self.leakage
            ]
        lines += ["", "Warnings:" if self.warnings else "Warnings: none"]
        lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


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

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> list[Sample]:
        """The samples of one split ("train", "val" or "test"), in a stable order."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        return [s for s in self.samples if s.split == name]

    def paths(self, split: str) -> list[str]:
        return [s.path for s in self.split(split)]

    def labels(self, split: str) -> np.ndarray:
        return np.array([s.label for s in self.split(split)], dtype=np.int32)

    def content_hash(self, path: str | Path) -> str:
        """sha256 of a file's bytes (from the inspection pass when the file is a sample)."""
        key = str(path)
        if key not in self.hashes:
            self.hashes[key] = _file_sha256(Path(path))
        return self.hashes[key]

    def fingerprint(self) -> str:
        """A sha256 that changes whenever any image, label, split or class name changes.

        Used as a feature-cache key: it depends on content, not on where the dataset lives.
        """
        digest = hashlib.sha256(json.dumps(self.classes, ensure_ascii=False).encode("utf-8"))
        rows = sorted((_relative(s.path, self.root), s.label, s.split, self.content_hash(s.path)) for s in self.samples)
        for row in rows:
            digest.update(("\x1f".join(map(str, row)) + "\n").encode("utf-8"))
        return digest.hexdigest()


# ---------------------------------------------------------------- loading


def load_dataset(
    source: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 42,
    workspace: Workspace | None = None,
    progress: Progress | None = None,
    limits: ZipLimits | None = None,
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

    Returns:
        The :class:`Dataset`, whose ``report`` lists everything that was found.

    Raises:
        TLCoreError: The dataset cannot be used (no images, one class, an empty class,
            mismatched classes between splits, …); the message says how to fix it.
    """
    if not 0 <= float(val_fraction) <= 0.9:
        raise TLCoreError(
            f"val_fraction is {val_fraction!r}, which is not allowed.",
            "use a number from 0 to 0.9, e.g. 0.2 to hold out 20% of each class.",
        )
    source_path = Path(source).expanduser()
    ignored: list[SkippedFile] = []
    if source_path.is_dir():
        base = source_path.resolve()
    elif source_path.is_file():
        if source_path.suffix.lower() != ".zip":
            raise TLCoreError(
                f"{str(source_path)!r} is a file, not a folder or a .zip.",
                "give a folder with one sub-folder per class, or a .zip of such a folder.",
            )
        base, ignored = _extract_cached(source_path, workspace or default_workspace(), limits)
    else:
        raise TLCoreError(f"The dataset {str(source_path)!r} does not exist.", "check the path, or upload the zip again.")

    skipped = list(ignored)
    root, layout, split_dirs = _find_layout(base, skipped)
    warnings: list[str] = []
    candidates, class_dirs = _collect_candidates(base, split_dirs, skipped, warnings)
    hashes, reasons = _inspect_files([path for _, _, path in candidates], progress)
    usable: dict[str, dict[str, list[str]]] = {split: {name: [] for name in dirs} for split, dirs in class_dirs.items()}
    for split, class_name, path in candidates:
        if reasons.get(path) is None:
            usable[split][class_name].append(path)
        else:
            skipped.append(SkippedFile(_relative(path, base), reasons[path]))

    classes = _check_classes(root, usable, skipped)
    split_lists, validation = _assign_splits(usable, classes, val_fraction, seed, warnings)
    labels = {name: i for i, name in enumerate(classes)}
    samples = [
        Sample(path=path, label=labels[class_name], split=split)
        for split in SPLITS
        for class_name, path in sorted(split_lists.get(split, []), key=lambda item: item[1])
    ]
    sample_hashes = {s.path: hashes[s.path] for s in samples}
    report = _build_report(source_path, base, root, layout, classes, validation, samples, sample_hashes, skipped, warnings)
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
    )


def _extract_cached(zip_path: Path, workspace: Workspace, limits: ZipLimits | None) -> tuple[Path, list[SkippedFile]]:
    """Extract a zip once into the workspace, keyed by its content; reuse it afterwards."""
    from .runfiles import write_json_atomic

    digest = _file_sha256(zip_path)[:16]
    dest = workspace.datasets_dir / digest
    # The marker is written last, so a folder without it is a half-finished extraction.
    marker = _zip_marker(dest)
    if marker.is_file() and dest.is_dir():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            return dest.resolve(), [SkippedFile(**item) for item in info["ignored"]]
        except (ValueError, KeyError, TypeError):
            pass  # unreadable marker: extract again
    if dest.exists():
        shutil.rmtree(dest)
    result = extract_zip(zip_path, dest, limits)
    write_json_atomic(marker, {"zip": zip_path.name, "files": result.files, "ignored": [asdict(s) for s in result.ignored]})
    return dest.resolve(), result.ignored


def _zip_marker(folder: Path) -> Path:
    """The marker :func:`_extract_cached` writes beside an extracted zip: ``<digest>.json``."""
    return folder.with_name(f"{folder.name}.json")


def dataset_name(source: str | Path | None, given: str | None = None) -> str:
    """The dataset's name as the user knows it, safe to show in shared files.

    ``given`` (the name the user gave, e.g. ``TrainConfig.data_name``) wins. Otherwise the
    name comes from ``source``: a zip's stem ("my_flowers" for ``my_flowers.zip``), the
    uploaded zip's name for a folder extracted from one, or the folder's own name. It is
    one path component, never a server path and never a workspace's session code (the code
    is all anyone needs to open that workspace).

    Args:
        source: The dataset folder or zip (``TrainConfig.data``).
        given: The name the user gave, if any.

    Returns:
        A short name such as ``"my_flowers"``; ``"dataset"`` when nothing better is known.
    """
    from .workspace import session_code

    for text in (given, source):
        if not text:
            continue
        path = Path(str(text).replace("\\", "/"))
        code = session_code(path)
        name = _name_of(path)
        if name and name != code and name not in ("sessions", "datasets", "uploads", "workspace"):
            return name
    return "dataset"


def _name_of(path: Path) -> str:
    """The last component of ``path`` as a dataset name (see :func:`dataset_name`)."""
    if path.suffix.lower() == ".zip":
        return path.stem
    # A folder inside <workspace>/datasets/<digest>/ was extracted from a zip: use the zip's name.
    for folder in (path, *path.parents):
        if folder.parent.name == "datasets":
            try:
                return Path(json.loads(_zip_marker(folder).read_text(encoding="utf-8"))["zip"]).stem
            except (OSError, ValueError, KeyError, TypeError):
                break
    return path.name


def _is_clutter(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX" or name.lower() in _JUNK_FILES


def _children(folder: Path, base: Path, skipped: list[SkippedFile]) -> tuple[list[Path], list[Path]]:
    """Visible sub-folders and files of ``folder`` (sorted); clutter is reported as ignored."""
    dirs, files = [], []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if _is_clutter(entry.name):
            kind = "folder" if entry.is_dir() else "file"
            what = "macOS metadata folder" if entry.name == "__MACOSX" else f"hidden or system {kind}"
            skipped.append(SkippedFile(_relative(entry, base) + ("/" if entry.is_dir() else ""), f"{what} (ignored)"))
        elif entry.is_dir():
            dirs.append(entry)
        elif entry.is_file():
            files.append(entry)
    return dirs, files


def _find_layout(base: Path, skipped: list[SkippedFile]) -> tuple[Path, str, dict[str, Path]]:
    """Find the dataset root, its layout and the folder of each split.

    Returns ``(root, "class-folders", {"train": root})`` for a folder of class folders,
    else ``(root, "splits", {"train": …, "val": …, "test": …})`` for the splits present.
    """
    root = base
    stray: list[SkippedFile] = []  # files beside a wrapping folder
    for _ in range(4):  # unwrap a few single wrapping folders (e.g. "my_data/dataset/...")
        dirs, files = _children(root, base, skipped)
        splits: dict[str, list[Path]] = defaultdict(list)
        for d in dirs:
            if d.name.lower() in _SPLIT_NAMES:
                splits[_SPLIT_NAMES[d.name.lower()]].append(d)
        if splits:
            skipped += stray
            return root, "splits", _split_layout(dirs, files, splits, base, skipped)
        # A single folder that itself holds folders wraps the dataset; a single folder of
        # images is one class (reported as "needs two classes" later).
        wrapped = len(dirs) == 1 and any(child.is_dir() and not _is_clutter(child.name) for child in dirs[0].iterdir())
        if not wrapped:
            break
        stray += [SkippedFile(_relative(f, base), "not inside a class folder") for f in files]
        root = dirs[0]
    skipped += stray
    return root, "class-folders", {"train": root}


def _split_layout(
    dirs: list[Path], files: list[Path], splits: dict[str, list[Path]], base: Path, skipped: list[SkippedFile]
) -> dict[str, Path]:
    for split, found in splits.items():
        if len(found) > 1:
            names = " and ".join(f"'{d.name}'" for d in found)
            raise TLCoreError(
                f"The dataset has both {names} folders, which are the same split.",
                f"merge them into one '{split}' folder.",
            )
    if "train" not in splits:
        present = ", ".join(f"'{found[0].name}'" for found in splits.values())
        raise TLCoreError(
            f"The dataset has {present} but no 'train' folder.",
            "put the training images in train/<class name>/, or use one folder per class without split folders.",
        )
    skipped += [SkippedFile(_relative(f, base), "not inside a class folder") for f in files]
    skipped += [
        SkippedFile(_relative(d, base) + "/", "folder next to train/ that is not a split (expected train, val or test)")
        for d in dirs
        if d.name.lower() not in _SPLIT_NAMES
    ]
    return {split: found[0] for split, found in splits.items()}


def _class_name(folder_name: str) -> str:
    """A class folder's name as a class name: NFC, so composed and decomposed spellings are one text."""
    return unicodedata.normalize("NFC", folder_name)


def _collect_candidates(
    base: Path, split_dirs: dict[str, Path], skipped: list[SkippedFile], warnings: list[str]
) -> tuple[list[tuple[str, str, str]], dict[str, dict[str, list[Path]]]]:
    """Every file inside a class folder, as (split, class name, absolute path).

    Folders whose names are the same text in two Unicode forms (``café`` typed on macOS is
    stored decomposed, on Windows composed) look identical, so they are one class; the merge
    is noted in ``warnings``. Names that differ only by upper/lower case are refused.
    """
    candidates: list[tuple[str, str, str]] = []
    class_dirs: dict[str, dict[str, list[Path]]] = {}
    for split, split_dir in split_dirs.items():
        dirs, files = _children(split_dir, base, skipped)
        skipped += [SkippedFile(_relative(f, base), "not inside a class folder") for f in files]
        by_name: dict[str, list[Path]] = defaultdict(list)
        for d in dirs:
            by_name[_class_name(d.name)].append(d)
        by_lower: dict[str, list[str]] = defaultdict(list)
        for name in by_name:
            by_lower[name.casefold()].append(name)
        clashes = [names for names in by_lower.values() if len(names) > 1]
        if clashes:
            names = " and ".join(f"'{n}'" for n in clashes[0])
            raise TLCoreError(
                f"The class folders {names} in {_relative(split_dir, base) or split_dir.name} differ only by upper/lower case.",
                "rename or merge them so every class has a clearly different name.",
            )
        where = f" in {split_dir.name}/" if split_dir.name.lower() in _SPLIT_NAMES else ""
        for name, folders in by_name.items():
            if len(folders) > 1:
                warnings.append(
                    f"{len(folders)} class folders{where} are named '{name}', spelled with different Unicode "
                    "characters (composed and decomposed accents, as different systems write them); they were "
                    f"merged into one class '{name}'. To keep them as two classes, give them clearly different names."
                )
        class_dirs[split] = dict(by_name)
        for name, folders in by_name.items():
            for d in folders:
                for path in _walk_files(d, base, skipped):
                    candidates.append((split, name, str(path)))
    return candidates, class_dirs


def _walk_files(folder: Path, base: Path, skipped: list[SkippedFile]) -> Iterable[Path]:
    """Files anywhere inside a class folder (sub-folders count for the class too)."""
    for current, subdirs, names in os.walk(folder):  # does not follow folder symlinks (no loops)
        here = Path(current)
        for name in sorted(subdirs):
            if _is_clutter(name):
                skipped.append(SkippedFile(_relative(here / name, base) + "/", "hidden or system folder (ignored)"))
        subdirs[:] = sorted(d for d in subdirs if not _is_clutter(d))
        for name in sorted(names):
            path = here / name
            if _is_clutter(name):
                skipped.append(SkippedFile(_relative(path, base), "hidden or system file (ignored)"))
            elif not path.is_file():  # a broken link, pipe or device: opening a pipe would block
                skipped.append(SkippedFile(_relative(path, base), "not a regular file"))
            else:
                yield path


def _inspect_files(paths: list[str], progress: Progress | None) -> tuple[dict[str, str], dict[str, str | None]]:
    """Decode-check and hash every file in parallel; returns (hashes of usable, reasons)."""
    hashes: dict[str, str] = {}
    reasons: dict[str, str | None] = {}
    total = len(paths)
    if progress:
        progress(0, total, f"Checking {total} files")
    if not total:
        return hashes, reasons
    step = max(1, total // 100)  # about a hundred progress calls, however big the dataset
    # Pillow and hashlib release the GIL, so threads give real parallelism here.
    with ThreadPoolExecutor(max_workers=min(16, 2 * (os.cpu_count() or 1))) as pool:
        futures = {pool.submit(_inspect_one, p): p for p in paths}
        for done, future in enumerate(as_completed(futures), start=1):
            path = futures[future]
            reasons[path], digest = future.result()
            if digest:
                hashes[path] = digest
            if progress and (done % step == 0 or done == total):
                progress(done, total, f"Checked {done} of {total} files")
    return hashes, reasons


def _inspect_one(path: str) -> tuple[str | None, str | None]:
    reason = check_image(path)
    if reason is not None:
        return reason, None
    try:
        return None, _file_sha256(Path(path))
    except OSError as err:
        return f"cannot read the file ({err.strerror or err})", None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_classes(root: Path, usable: dict[str, dict[str, list[str]]], skipped: list[SkippedFile]) -> list[str]:
    """Raise for unusable class sets; return the class names (sorted, as Keras does)."""
    train = usable["train"]
    total = sum(len(paths) for split in usable.values() for paths in split.values())
    if total == 0:
        loose = sum(1 for s in skipped if s.reason == "not inside a class folder")
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
            f"The class folder{'s' if len(empty) > 1 else ''} {_names(empty)} "
            f"{'have' if len(empty) > 1 else 'has'} no usable images.",
            "add images or remove the folder (see the skipped files for why files were left out).",
        )
    too_few = sorted(name for name, paths in train.items() if len(paths) < MIN_TRAIN_IMAGES)
    if too_few:
        raise TLCoreError(
            f"The class{'es' if len(too_few) > 1 else ''} {_names(too_few)} "
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
                f"The {split} folder has classes that train does not: {_names(extra)}{hint} "
                "(the class sets of the splits do not match).",
                f"use the same class folder names in train/ and {split}/, or add those classes to train/.",
            )
    return classes


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _assign_splits(
    usable: dict[str, dict[str, list[str]]],
    classes: list[str],
    val_fraction: float,
    seed: int,
    warnings: list[str],
) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """Decide each image's split; returns ``{split: [(class, path)]}`` and a description."""
    lists: dict[str, list[tuple[str, str]]] = {
        split: [(name, p) for name, paths in per_class.items() for p in paths]
        for split, per_class in usable.items()
    }
    if lists.get("val"):
        for name in classes:
            if not usable["val"].get(name):
                warnings.append(
                    f"Class '{name}' has no validation images; add some to val/{name} so its accuracy can be measured."
                )
        return lists, "from the val folder"
    if "val" in usable:
        warnings.append(
            f"The val folder has no usable images, so {val_fraction:.0%} of each training class is held out instead; "
            "add images to val/<class name>/ to choose them yourself."
        )
    if val_fraction <= 0:
        warnings.append(
            "No validation images (val_fraction is 0), so accuracy cannot be measured during training; "
            "set val_fraction to 0.2 or add a val folder."
        )
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


def _build_report(
    source: Path,
    base: Path,
    root: Path,
    layout: str,
    classes: list[str],
    validation: str,
    samples: list[Sample],
    hashes: dict[str, str],
    skipped: list[SkippedFile],
    warnings: list[str],
) -> DatasetReport:
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
    duplicates = [[_relative(s.path, base) for s in group] for group in groups]
    leakage = [
        {"paths": [_relative(s.path, base) for s in group], "splits": [s.split for s in group]}
        for group in groups
        if len({s.split for s in group}) > 1
    ]
    conflicts = [group for group in groups if len({s.label for s in group}) > 1]

    # Most important first.
    notes = []
    small = [name for name in classes if train_counts[name] < FEW_IMAGES]
    if len(small) > 5:  # one line, not hundreds, for datasets with many small classes
        examples = ", ".join(f"'{name}' ({train_counts[name]})" for name in small[:5])
        notes.append(
            f"{len(small)} classes have fewer than {FEW_IMAGES} training images (e.g. {examples}); "
            f"add at least {FEW_IMAGES} per class for a useful model."
        )
    else:
        notes += [
            f"Class '{name}' has only {train_counts[name]} training images; "
            f"add at least {FEW_IMAGES} per class for a useful model."
            for name in small
        ]
    if imbalance >= IMBALANCE_WARNING:
        big = max(classes, key=lambda name: train_counts[name])
        notes.append(
            f"The classes are imbalanced: '{big}' has {largest} training images but '{smallest}' only "
            f"{train_counts[smallest]} ({imbalance:.1f}x); add images to the small classes "
            "(meanwhile class_weight='auto' balances them during training)."
        )
    if leakage:
        notes.append(
            f"{len(leakage)} image{'s are' if len(leakage) > 1 else ' is'} in more than one split (train/val/test), "
            "so validation accuracy will look better than it is; delete the copies from one of the splits."
        )
    for group in conflicts:
        labels = sorted({classes[s.label] for s in group})
        notes.append(
            f"The same image is in the classes {_names(labels)} ({_relative(group[0].path, base)}); "
            "keep it in the one class it belongs to."
        )
    if duplicates:
        extra = sum(len(g) - 1 for g in duplicates)
        notes.append(
            f"{len(duplicates)} group{'s' if len(duplicates) > 1 else ''} of identical files ({extra} extra "
            f"cop{'ies' if extra > 1 else 'y'}); delete the copies so they do not count twice."
        )
    unusable = [s for s in skipped if not s.reason.endswith("(ignored)")]
    if unusable:
        notes.append(
            f"{len(unusable)} file{'s were' if len(unusable) > 1 else ' was'} skipped (listed under skipped files); "
            "convert them to JPEG or PNG or remove them."
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
        warnings=notes + warnings,
    )


def _relative(path: str | Path, base: Path) -> str:
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- decoding


def _sample_path(sample: Sample | str | Path) -> str:
    return sample.path if isinstance(sample, Sample) else os.fspath(sample)


def _load_or_black(path: str, image_size: int) -> np.ndarray:
    """Decode one image; an image that broke since inspection becomes black, not a crash."""
    try:
        return load_image(path, image_size)
    except ImageProblem as err:
        log.warning("Using a black image for %s: %s", path, err.reason)
        return np.zeros((image_size, image_size, 3), dtype=np.uint8)


def decode_all(
    samples: Sequence[Sample | str | Path],
    image_size: int,
    progress: Progress | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Decode images in order into one array (parallel); for passes over small datasets.

    Memory is ``len(samples) * image_size**2 * 3`` bytes: stream with
    :class:`ImageBatches` (``shuffle=False``) when that is too much.

    Args:
        samples: Samples or image paths.
        image_size: Output width and height.
        progress: Called as ``progress(done, total, message)``.
        workers: Decoding threads (default: twice the CPU count, at most 16).

    Returns:
        A ``uint8`` array of shape ``(len(samples), image_size, image_size, 3)``.
    """
    paths = [_sample_path(s) for s in samples]
    out = np.zeros((len(paths), image_size, image_size, 3), dtype=np.uint8)
    total = len(paths)
    step = max(1, total // 100)

    def fill(i: int) -> None:
        out[i] = _load_or_black(paths[i], image_size)  # written in place: no second copy

    with ThreadPoolExecutor(max_workers=workers or min(16, 2 * (os.cpu_count() or 1))) as pool:
        for done, _ in enumerate(pool.map(fill, range(total)), start=1):
            if progress and (done % step == 0 or done == total):
                progress(done, total, f"Decoded {done} of {total} images")
    return out


def _make_image_batches() -> type:
    # Built on first use: importing keras costs seconds, which checking a dataset or
    # rendering its report does not need.
    import keras

    class ImageBatches(keras.utils.PyDataset):
        """Streams ``(x uint8 (b, size, size, 3), y int32 (b,))`` batches from image files.

        Only the current batches are in memory. Each batch is decoded by a pool of
        ``workers`` threads; Keras additionally prefetches up to ``max_queue_size``
        batches when ``workers > 1``.

        Args:
            samples: The samples to stream (e.g. ``dataset.split("train")``).
            image_size: Output width and height in pixels.
            batch_size: Images per batch (the last batch may be smaller).
            shuffle: Shuffle the order, again at the end of every epoch.
            seed: Seed of the shuffling.
            workers: Decoding threads (also Keras's prefetch workers).
            use_multiprocessing: Passed to ``keras.utils.PyDataset``.
            max_queue_size: Batches prefetched by Keras.
            num_classes: When given, labels are checked to be below it.
        """

        def __init__(
            self,
            samples: Sequence[Sample],
            image_size: int,
            batch_size: int = 32,
            shuffle: bool = False,
            seed: int = 0,
            workers: int = 2,
            use_multiprocessing: bool = False,
            max_queue_size: int = 8,
            num_classes: int | None = None,
        ):
            super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
            if not samples:
                raise ValueError("samples is empty: give at least one Sample to stream")
            if not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
            self.paths = [_sample_path(s) for s in samples]
            self.labels = np.array([s.label for s in samples], dtype=np.int32)
            if num_classes is not None and (self.labels.min() < 0 or self.labels.max() >= num_classes):
                raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {self.labels.min()}..{self.labels.max()}")
            self.image_size = int(image_size)
            self.batch_size = batch_size
            self.shuffle = shuffle
            self.seed = seed
            self.num_classes = num_classes
            self._decode_threads = max(1, int(workers))
            self._pool: ThreadPoolExecutor | None = None
            self._pool_pid = 0
            self._decoder()  # now, so Keras's prefetch threads never race to create it
            self._epoch = 0
            self.order = np.arange(len(self.paths))
            if shuffle:
                self._reshuffle()

        def __len__(self) -> int:
            return math.ceil(len(self.paths) / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            if not 0 <= index < len(self):
                raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
            picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
            images = list(self._decoder().map(lambda i: _load_or_black(self.paths[i], self.image_size), picked))
            return np.stack(images), self.labels[picked]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self._epoch += 1
                self._reshuffle()

        def _reshuffle(self) -> None:
            # A fresh generator per epoch: the order depends only on (seed, epoch).
            self.order = np.random.default_rng([self.seed, self._epoch]).permutation(len(self.paths))

        def __getstate__(self) -> dict[str, Any]:
            state = self.__dict__.copy()
            state["_pool"] = None  # thread pools cannot cross process boundaries
            return state

        def _decoder(self) -> ThreadPoolExecutor:
            # With use_multiprocessing, Keras forks worker processes holding a copy of this
            # object; the parent's pool threads do not exist there, so each process needs
            # its own pool (reusing the copy would wait forever).
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=self._decode_threads)  # threads start on first use
                self._pool_pid = os.getpid()
            return self._pool

    ImageBatches.__module__ = __name__
    ImageBatches.__qualname__ = "ImageBatches"  # so pickle finds it as tlcore.data.ImageBatches
    return ImageBatches


def __getattr__(name: str) -> Any:
    if name == "ImageBatches":
        cls = _make_image_batches()
        globals()["ImageBatches"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SPLITS",
    "Dataset",
    "DatasetReport",
    "ImageBatches",
    "Sample",
    "SkippedFile",
    "dataset_name",
    "decode_all",
    "load_dataset",
]
