"""Finding a dataset's layout: where its splits and class folders are, and which files to check.

A dataset is one folder per class, or ``train/``, ``val/`` and ``test/`` folders (split names
compared case-insensitively, with aliases) each holding class folders, optionally wrapped in a
few single top folders. This module walks that tree: it finds the root and the layout, lists
every file inside a class folder as a candidate, and records what it leaves out on the way
(clutter, files outside class folders, folders that are not a split) as
:class:`~tlcore.images.SkippedFile` with its fix.
"""

from __future__ import annotations

import os
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ..errors import TLCoreError
from ..findings import Finding, SkippedFile
from ..images import FIX_OTHER

SPLITS = ("train", "val", "test")
LAYOUTS = ("class-folders", "splits")
# Folder names (compared case-insensitively) that mark a split rather than a class.
_SPLIT_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val",
    "test": "test", "testing": "test",
}
_JUNK_FILES = {"thumbs.db", "desktop.ini"}
NOT_IN_CLASS_FOLDER = "not inside a class folder"
_FIX_MOVE = "move it into the folder of its class"

Candidate = tuple[str, str, str]  # (split, class name, absolute path)


def relative_path(path: str | Path, base: Path) -> str:
    """``path`` relative to ``base`` as the report shows it (posix); unchanged when outside."""
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return str(path)


def normal_path(path: str) -> str:
    """A path the user wrote, as the report writes paths: posix separators, no leading ``./``."""
    text = path.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _is_clutter(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX" or name.lower() in _JUNK_FILES


def _loose(path: Path, base: Path) -> SkippedFile:
    return SkippedFile(relative_path(path, base), NOT_IN_CLASS_FOLDER, _FIX_MOVE)


def _children(folder: Path, base: Path, skipped: list[SkippedFile]) -> tuple[list[Path], list[Path]]:
    """Visible sub-folders and files of ``folder`` (sorted); clutter is reported as ignored."""
    dirs, files = [], []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if _is_clutter(entry.name):
            kind = "folder" if entry.is_dir() else "file"
            what = "macOS metadata folder" if entry.name == "__MACOSX" else f"hidden or system {kind}"
            path = relative_path(entry, base) + ("/" if entry.is_dir() else "")
            skipped.append(SkippedFile.clutter(path, f"{what} (ignored)"))
        elif entry.is_dir():
            dirs.append(entry)
        elif entry.is_file():
            files.append(entry)
    return dirs, files


def find_layout(base: Path, skipped: list[SkippedFile]) -> tuple[Path, str, dict[str, Path]]:
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
        stray += [_loose(f, base) for f in files]
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
    skipped += [_loose(f, base) for f in files]
    skipped += [
        SkippedFile(
            relative_path(d, base) + "/", "folder next to train/ that is not a split (expected train, val or test)",
            FIX_OTHER,
        )
        for d in dirs
        if d.name.lower() not in _SPLIT_NAMES
    ]
    return {split: found[0] for split, found in splits.items()}


def _class_name(folder_name: str) -> str:
    """A class folder's name as a class name: NFC, so composed and decomposed spellings are one text."""
    return unicodedata.normalize("NFC", folder_name)


def collect_candidates(
    base: Path, split_dirs: dict[str, Path], skipped: list[SkippedFile], warnings: list[Finding]
) -> tuple[list[Candidate], dict[str, dict[str, list[Path]]]]:
    """Every file inside a class folder, as (split, class name, absolute path).

    Folders whose names are the same text in two Unicode forms (``café`` typed on macOS is
    stored decomposed, on Windows composed) look identical, so they are one class; the merge
    is noted in ``warnings``. Names that differ only by upper/lower case are refused.
    """
    candidates: list[Candidate] = []
    class_dirs: dict[str, dict[str, list[Path]]] = {}
    for split, split_dir in split_dirs.items():
        dirs, files = _children(split_dir, base, skipped)
        skipped += [_loose(f, base) for f in files]
        by_name: dict[str, list[Path]] = defaultdict(list)
        for d in dirs:
            by_name[_class_name(d.name)].append(d)
        _refuse_case_clashes(by_name, split_dir, base)
        where = f" in {split_dir.name}/" if split_dir.name.lower() in _SPLIT_NAMES else ""
        for name, folders in by_name.items():
            if len(folders) > 1:
                warnings.append(Finding(
                    f"{len(folders)} class folders{where} are named '{name}', spelled with different Unicode "
                    "characters (composed and decomposed accents, as different systems write them)",
                    f"they were merged into one class '{name}'. To keep them as two classes, give them clearly "
                    "different names.",
                    tuple(relative_path(d, base) + "/" for d in folders),
                ))
        class_dirs[split] = dict(by_name)
        for name, folders in by_name.items():
            for d in folders:
                for path in _walk_files(d, base, skipped):
                    candidates.append((split, name, str(path)))
    return candidates, class_dirs


def _refuse_case_clashes(by_name: dict[str, list[Path]], split_dir: Path, base: Path) -> None:
    by_lower: dict[str, list[str]] = defaultdict(list)
    for name in by_name:
        by_lower[name.casefold()].append(name)
    clashes = [names for names in by_lower.values() if len(names) > 1]
    if clashes:
        names = " and ".join(f"'{n}'" for n in clashes[0])
        raise TLCoreError(
            f"The class folders {names} in {relative_path(split_dir, base) or split_dir.name} differ only by upper/lower case.",
            "rename or merge them so every class has a clearly different name.",
        )


def _walk_files(folder: Path, base: Path, skipped: list[SkippedFile]) -> Iterable[Path]:
    """Files anywhere inside a class folder (sub-folders count for the class too)."""
    for current, subdirs, names in os.walk(folder):  # does not follow folder symlinks (no loops)
        here = Path(current)
        for name in sorted(subdirs):
            if _is_clutter(name):
                skipped.append(SkippedFile.clutter(relative_path(here / name, base) + "/", "hidden or system folder (ignored)"))
        subdirs[:] = sorted(d for d in subdirs if not _is_clutter(d))
        for name in sorted(names):
            path = here / name
            if _is_clutter(name):
                skipped.append(SkippedFile.clutter(relative_path(path, base), "hidden or system file (ignored)"))
            elif not path.is_file():  # a broken link, pipe or device: opening a pipe would block
                skipped.append(SkippedFile(relative_path(path, base), "not a regular file", FIX_OTHER))
            else:
                yield path
