"""Which subject (patient, specimen, session) each image belongs to, so a split can keep them together.

Images of one subject look alike, so a subject with images on both sides of the train/validation
split makes validation accuracy look better than it is. :func:`find_subjects` reads each image's
subject from ``group_by``: ``"none"`` (no subjects), ``"auto"`` (from the file names, when one of
:data:`AUTO_PATTERNS` obviously fits), a regular expression searched in the file name, or a
``.csv`` file with columns ``path,group``. :func:`straddling` counts subjects on both sides of a
split; :func:`subjects_summary` writes what the report says about them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import TLCoreError
from ..findings import Finding
from .discover import normal_path, relative_path

# Tried in order on each file name's stem; the first that matches names the subject.
AUTO_PATTERNS: tuple[str, ...] = (
    r"^(?P<subject>[A-Za-z]+\d+)_",  # person123_bacteria_4 -> person123
    r"^(?P<subject>.*?\d+)(?:[-_ ]\d+)+$",  # IM-0115-0001 -> IM-0115, NORMAL2-IM-0535-0001-0002 -> NORMAL2-IM-0535
)
# A burst recorded with the camera (tlcore.data.capture): its pictures are one subject.
RECORDING = re.compile(r"^rec-(?P<subject>[0-9a-f]{8})-[0-9a-f]{12}\.jpg$")
# "auto" is used only when it is obvious: most names match, some subject has several images,
# and no subject is a large share of a class (that would be a naming scheme, not subjects).
AUTO_MIN_MATCHED = 0.8
AUTO_MAX_SHARE = 0.2
NO_PATTERN = "no subject pattern in the file names"
CSV_COLUMNS = ("path", "group")
_REGEX_FIX = r"use a regular expression whose first group is the subject, e.g. ^(patient\d+)_"

File = tuple[str, str, str]  # (split, class name, absolute path)


@dataclass
class Subjects:
    """Each image's subject and how it was found.

    Attributes:
        group_by: The setting as given ("auto", "none", a regular expression or a .csv file).
        method: "none", "auto", "regex" or "csv".
        of: ``{absolute path: subject}``; empty when no subjects were found.
        patterns: The regular expressions that named subjects (auto and regex).
        file: The CSV file read (csv).
        note: Why no subjects were used, in words.
        unmatched: Images that matched no pattern (or are not in the CSV): each is its own subject.
    """

    group_by: str
    method: str = "none"
    of: dict[str, str] = field(default_factory=dict)
    patterns: list[str] = field(default_factory=list)
    file: str = ""
    note: str = ""
    unmatched: int = 0

    @property
    def found(self) -> bool:
        return bool(self.of)


def _own_subject(path: str) -> str:
    # An image whose subject is unknown is a subject of its own; the NUL keeps these apart from real names.
    return "\x00" + path


def find_subjects(group_by: str, files: list[File], base: Path) -> Subjects:
    """The subject of every file, from ``group_by``.

    Raises:
        TLCoreError: An invalid regular expression, one that matches no file name, or a CSV
            file that cannot be read, has the wrong columns or names files not in the dataset.
    """
    value = (group_by or "none").strip()
    if value.lower() == "none" or not files:
        return Subjects(group_by=value)
    if value.lower() == "auto":
        return _auto(value, files)
    if value.lower().endswith(".csv"):
        return _from_csv(value, files, base)
    return _from_regex(value, files)


def _recordings(value: str, files: list[File]) -> Subjects | None:
    """Camera recordings (names only Transfer Studio writes: ``rec-<recording>-<digest>.jpg``) are
    subjects by construction, however many pictures one holds; other files are their own."""
    of = {}
    for _, _, path in files:
        match = RECORDING.match(Path(path).name)
        if match:
            of[path] = "rec-" + match.group("subject")
    if not of:
        return None
    unmatched = [path for _, _, path in files if path not in of]
    of.update({path: _own_subject(path) for path in unmatched})
    return Subjects(group_by=value, method="auto", of=of, patterns=[RECORDING.pattern], unmatched=len(unmatched))


def _auto(value: str, files: list[File]) -> Subjects:
    recordings = _recordings(value, files)
    if recordings is not None:
        return recordings
    compiled = [re.compile(p) for p in AUTO_PATTERNS]
    of, used = {}, set()
    for _, _, path in files:
        stem = PurePosixPath(Path(path).name).stem
        for pattern in compiled:
            match = pattern.search(stem)
            if match:
                of[path] = match.group("subject")
                used.add(pattern.pattern)
                break
    if not _obvious(of, files):
        return Subjects(group_by=value, method="none", note=NO_PATTERN)
    unmatched = [path for _, _, path in files if path not in of]
    of.update({path: _own_subject(path) for path in unmatched})
    return Subjects(group_by=value, method="auto", of=of, patterns=[p for p in AUTO_PATTERNS if p in used],
                    unmatched=len(unmatched))


def _obvious(of: dict[str, str], files: list[File]) -> bool:
    if len(of) < AUTO_MIN_MATCHED * len(files):
        return False
    if max(Counter(of.values()).values(), default=0) < 2:
        return False
    per_class: dict[str, Counter] = defaultdict(Counter)
    for _, class_name, path in files:
        per_class[class_name][of.get(path, _own_subject(path))] += 1
    for counts in per_class.values():
        total = sum(counts.values())
        if any(n >= 2 and n > AUTO_MAX_SHARE * total for n in counts.values()):
            return False
    return True


def _from_regex(value: str, files: list[File]) -> Subjects:
    names = [Path(path).name for _, _, path in files]
    try:
        pattern = re.compile(value)
    except re.error as err:
        raise TLCoreError(
            f"The subject pattern '{value}' is not a valid regular expression ({err}); it was to be tried on "
            f"{len(names)} file names such as {names[0]!r}.",
            _REGEX_FIX + ", or 'auto' to find subjects from the file names.",
        ) from None
    of = {}
    for (_, _, path), name in zip(files, names):
        match = pattern.search(name)
        if match:
            if "subject" in pattern.groupindex:
                subject = match.group("subject")
            else:
                subject = match.group(1) if pattern.groups else match.group(0)
            if subject:
                of[path] = subject
    if not of:
        raise TLCoreError(
            f"The subject pattern '{value}' matches none of the {len(names)} file names (e.g. {names[0]!r}).",
            _REGEX_FIX + ", written to match names like the example.",
        )
    unmatched = [path for _, _, path in files if path not in of]
    of.update({path: _own_subject(path) for path in unmatched})
    return Subjects(group_by=value, method="regex", of=of, patterns=[value], unmatched=len(unmatched))


def _csv_path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.exists() and (base / value).is_file():
        return base / value  # a groups file shipped inside the dataset folder or zip
    return path


def _from_csv(value: str, files: list[File], base: Path) -> Subjects:
    path = _csv_path(value, base)
    fix_columns = ("write a CSV file with the header 'path,group' and one row per image, e.g. "
                   "'NORMAL/IM-0115-0001.jpeg,IM-0115' (paths relative to the dataset folder).")
    # Named by its name: a file uploaded on the Data page lives in the session's folder, whose
    # code the message need not show (a path the user typed and cannot be read is shown whole).
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip().lower() for c in (reader.fieldnames or [])]
            if not set(CSV_COLUMNS) <= set(columns):
                raise TLCoreError(
                    f"The subject file {path.name!r} has the columns {columns or 'none'}, not "
                    f"{', '.join(CSV_COLUMNS)}.", fix_columns)
            reader.fieldnames = columns
            rows = [(normal_path(row["path"] or ""), (row["group"] or "").strip()) for row in reader]
    except OSError as err:
        raise TLCoreError(f"The subject file {str(path)!r} cannot be read ({err.strerror or err}).",
                          "give the path of an existing CSV file with columns path,group, or use 'auto'.") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise TLCoreError(f"The subject file {path.name!r} is not a readable CSV file ({err}).", fix_columns) from None
    by_relative = {relative_path(p, base): p for _, _, p in files}
    missing = [p for p, _ in rows if p and p not in by_relative and not (base / p).is_file()]
    if missing:
        shown = ", ".join(repr(p) for p in missing[:5])
        raise TLCoreError(
            f"The subject file {path.name!r} names {len(missing)} file{'s' if len(missing) > 1 else ''} that "
            f"{'are' if len(missing) > 1 else 'is'} not in the dataset: {shown}{', …' if len(missing) > 5 else ''}.",
            "write each path relative to the dataset folder as the report shows it (e.g. "
            f"{next(iter(by_relative), 'cats/001.jpg')!r}), or remove those rows.")
    of = {by_relative[p]: group for p, group in rows if group and p in by_relative}
    unmatched = [p for _, _, p in files if p not in of]
    of.update({p: _own_subject(p) for p in unmatched})
    return Subjects(group_by=value, method="csv", of=of, file=str(path), unmatched=len(unmatched))


def straddling(train: list[str], held_out: list[str], of: dict[str, str]) -> tuple[int, int]:
    """``(subjects, images)``: subjects with images on both sides, and the held-out images they hold."""
    in_train = {of[p] for p in train}
    shared = [p for p in held_out if of[p] in in_train]
    return len({of[p] for p in shared}), len(shared)


def subjects_summary(
    subjects: Subjects, lists: dict[str, list[tuple[str, str]]], random_split: dict[str, list[tuple[str, str]]] | None,
    by_subject: bool,
) -> tuple[dict[str, Any], list[Finding]]:
    """The report's ``subjects`` entry and its findings.

    Args:
        subjects: The subjects found.
        lists: The splits as used: ``{split: [(class, path)]}``.
        random_split: The split a plain random split (``group_by="none"``, same seed) would have
            made, when validation was held out of train; else None.
        by_subject: Validation was held out by subject.
    """
    summary: dict[str, Any] = {"group_by": subjects.group_by, "method": subjects.method}
    if not subjects.found:
        if subjects.note:
            summary["note"] = subjects.note
        summary["message"] = (f"No subjects: {subjects.note}, so pictures are split at random." if subjects.note
                              else "Subjects are not used: pictures are split at random.")
        return summary, []
    of = subjects.of
    counts = Counter(of[p] for paths in lists.values() for _, p in paths)
    largest, size = max(counts.items(), key=lambda item: (item[1], item[0] if not item[0].startswith("\x00") else ""))
    summary.update({
        "patterns": list(subjects.patterns), "file": subjects.file,
        "num_subjects": len(counts), "unmatched_images": subjects.unmatched,
        "largest_subject": {"name": largest.lstrip("\x00"), "images": size},
        "split_by_subject": by_subject,
    })
    findings = []
    if subjects.unmatched:
        n = subjects.unmatched
        if subjects.method == "csv":
            what, fix = f"{'are' if n > 1 else 'is'} not in the subject file", "add them to the subject file."
        else:
            what, fix = f"match{'' if n > 1 else 'es'} no subject pattern", "nothing to do, if they are."
        findings.append(Finding(
            f"{n:,} image{'s' if n > 1 else ''} {what}, so {'each counts' if n > 1 else 'it counts'} as a "
            "subject of its own", fix,
        ))
    train = [p for _, p in lists.get("train", [])]
    if random_split is not None:
        n, images = straddling([p for _, p in random_split["train"]], [p for _, p in random_split["val"]], of)
        split = len({of[p] for side in random_split.values() for _, p in side})
        summary["split_subjects"] = split  # the subjects of the images split into train and validation
        summary["random_split"] = {"straddling_subjects": n, "val_images": images}
        if by_subject:
            findings.append(Finding(
                f"Kept each of {split:,} subjects' images in one split: a random split would have put "
                f"{n:,} of them on both sides ({images:,} validation images with the same subject in training)",
                "nothing to do: validation now measures images of subjects the model has not seen.",
            ))
    across = {}
    for split in ("val", "test"):
        # A held-out validation split is judged above; only the user's own folders are judged here.
        if lists.get(split) and not (split == "val" and random_split is not None):
            n, images = straddling(train, [p for _, p in lists[split]], of)
            across[split] = {"straddling_subjects": n, "images": images}
            if n:
                findings.append(Finding(
                    f"{n:,} subject{'s have' if n > 1 else ' has'} images both in training and in your {split} "
                    f"folder ({images:,} {split} images), so {split} accuracy will look better than it is (if the same "
                    "name means the same subject)",
                    "keep each subject's images in one split folder"
                    + (", or drop the val folder and let Transfer Studio split by subject." if split == "val" else "."),
                ))
    if across:
        summary["folders"] = across
    summary["message"] = _summary_words(summary)
    return summary, findings


def _summary_words(summary: dict[str, Any]) -> str:
    """The subject split in one sentence, for the page and the check's text."""
    how = {"auto": "found in the file names", "regex": "found with your pattern", "csv": "read from your file"}
    text = (f"{summary['num_subjects']:,} subjects {how.get(summary['method'], '')}; the largest, "
            f"'{summary['largest_subject']['name']}', has {summary['largest_subject']['images']:,} pictures.")
    random_split = summary.get("random_split")
    if random_split and summary.get("split_by_subject"):
        text += (f" Validation was held out by subject: a random split would have put "
                 f"{random_split['straddling_subjects']:,} subjects on both sides ({random_split['val_images']:,} "
                 "validation pictures with the same subject in training).")
    for split, counts in summary.get("folders", {}).items():
        if counts["straddling_subjects"]:
            text += (f" {counts['straddling_subjects']:,} subjects have pictures both in training and in your "
                     f"{split} folder ({counts['images']:,} {split} pictures).")
    return text
