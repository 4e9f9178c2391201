"""What the data check says about texts: which column is which, and the findings.

:func:`choose_columns` finds (or checks the given) text, label and split columns of a table
and refuses a column that cannot be a label (one value for every row, or an id: nearly every
value different), each with its fix. :func:`drop_unusable` leaves out empty texts and labels;
:func:`text_findings` reports exact and near-duplicate texts (within and across splits, where
they are leaks), one text with two labels, texts longer than the sequence length, small and
imbalanced classes, and a label column that has nearly as many labels as texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.discover import relative_path
from ..data.report import IMBALANCE_WARNING
from ..data.split import Sample, quoted
from ..errors import TLCoreError
from ..findings import Finding, SkippedFile

DEFAULT_SEQUENCE_LENGTH = 64  # tokens; the text encoders' default (spec.native_size)
FEW_TEXTS = 5  # below this per class (training texts), warn
ID_SHARE = 0.9  # a column with at least this share of different values is an id, not a label
SPLIT_WORDS = {
    "train": "train", "training": "train", "trn": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val", "development": "val",
    "test": "test", "testing": "test", "tst": "test",
}
SPLIT_COLUMN_NAMES = ("split", "fold", "set", "subset", "partition")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "sentiment", "target", "y", "polarity", "intent",
                      "topic", "tag", "rating", "stars", "score")


@dataclass(frozen=True)
class ColumnCandidate:
    """One column of a table: the role it got ("text", "label", "split" or None) and why."""

    name: str
    role: str | None
    reason: str


def numeric(value: str) -> bool:
    """Whether a cell holds a number (``"1"``, ``"0.5"``, ``"-3e2"``)."""
    try:
        float(value)
    except ValueError:
        return False
    return True


class _Column:
    def __init__(self, name: str, values: list[str]):
        self.name = name
        filled = [v for v in values if v]
        self.filled = len(filled)
        self.distinct = Counter(filled)
        self.mean_length = sum(map(len, filled)) / max(len(filled), 1)
        self.numeric = sum(map(numeric, filled)) / max(len(filled), 1)

    def label_problem(self) -> str | None:
        if len(self.distinct) < 2:
            return "single"
        if len(self.distinct) >= 3 and len(self.distinct) >= ID_SHARE * self.filled:
            return "id"
        return None

    def splits(self) -> set[str | None]:
        return {SPLIT_WORDS.get(v.lower()) for v in self.distinct}


def choose_columns(names: Sequence[str], rows: Sequence[Sequence[str]], text_column: str | None,
                   label_column: str | None, file_name: str, note: str = "") -> tuple[dict[str, int], list]:
    """The index of the text, label and (if any) split column, and a :class:`ColumnCandidate` per column.

    Args:
        names: The column names (from the header, or given to a file without one).
        rows: The data rows, each with one cell per column.
        text_column, label_column: The user's choice, or None to find it from the data.
        file_name: The file, as messages name it.
        note: Said after the file name when a column is unknown (e.g. that it has no header).
    """
    columns = [_Column(name, [row[j].strip() for row in rows]) for j, name in enumerate(names)]
    where = f"'{file_name}'"
    text_i = _find(names, text_column, where, note) if text_column else None
    label_i = _find(names, label_column, where, note) if label_column else None
    if text_i is not None and text_i == label_i:
        raise TLCoreError(f"The text and the label column are both '{names[text_i]}'.",
                          f"choose two different columns (the columns of {where} are {quoted(names)}).")
    split_i = next((j for j, c in enumerate(columns) if j not in (text_i, label_i) and c.distinct
                    and None not in c.splits() and (c.name.lower() in SPLIT_COLUMN_NAMES or len(c.splits()) > 1)),
                   None)
    if text_i is None:
        options = [j for j, c in enumerate(columns) if j not in (label_i, split_i) and c.numeric < 0.5]
        if not options:
            raise TLCoreError(f"No column of {where} holds texts (the columns hold numbers).",
                              "add a column of texts, or choose it (--text-column NAME on the command line).")
        text_i = max(options, key=lambda j: columns[j].mean_length)
    if label_i is None:
        label_i = _pick_label(columns, [j for j in range(len(names)) if j not in (text_i, split_i)], where, names)
    elif columns[label_i].label_problem():
        raise _label_error(columns[label_i], where, names)
    picked = {"text": text_i, "label": label_i} | ({"split": split_i} if split_i is not None else {})
    return picked, _candidates(columns, picked, text_column, label_column)


def _find(names: Sequence[str], given: str, where: str, note: str) -> int:
    for same in (lambda a, b: a == b, lambda a, b: a.casefold() == b.casefold()):
        for j, name in enumerate(names):
            if same(name, given.strip()):
                return j
    raise TLCoreError(f"{where} has no column '{given}'{note}.", f"use one of its columns: {quoted(names)}.")


def _hint(name: str) -> int:
    lowered = name.lower()
    return LABEL_COLUMN_NAMES.index(lowered) if lowered in LABEL_COLUMN_NAMES else len(LABEL_COLUMN_NAMES)


def _pick_label(columns: list[_Column], options: list[int], where: str, names: Sequence[str]) -> int:
    if not options:
        raise TLCoreError(f"{where} has one column of texts and no column of labels.",
                          "put each text's label in a second column, e.g. `text,label` on the first line "
                          "and `I loved it,positive` below.")
    best = min(options, key=lambda j: (_hint(columns[j].name), j))
    if _hint(columns[best].name) < len(LABEL_COLUMN_NAMES) and columns[best].label_problem():
        raise _label_error(columns[best], where, names)  # a column named "label" is never passed over silently
    usable = [j for j in options if not columns[j].label_problem()]
    if not usable:
        raise _label_error(columns[best], where, names)
    return min(usable, key=lambda j: (_hint(columns[j].name), len(columns[j].distinct), -j))


def _label_error(column: _Column, where: str, names: Sequence[str]) -> TLCoreError:
    choose = f"choose the column that holds the labels (--label-column NAME on the command line; the columns are " \
             f"{quoted(names)})"
    if column.label_problem() == "single":
        only = f" holds only {next(iter(column.distinct))!r}" if column.distinct else " is empty"
        return TLCoreError(f"Every text of {where} has the same label: the column '{column.name}'{only}.",
                           f"a classifier needs at least two classes: add texts of another class, or {choose}.")
    return TLCoreError(
        f"The column '{column.name}' of {where} looks like an id, not a label: {len(column.distinct)} of its "
        f"{column.filled} values are different.", f"{choose}, or add a column of labels.")


def _candidates(columns: list[_Column], picked: dict[str, int], text_column: str | None,
                label_column: str | None) -> list[ColumnCandidate]:
    role_of = {j: role for role, j in picked.items()}
    text, label = columns[picked["text"]], columns[picked["label"]]
    out = []
    for j, c in enumerate(columns):
        role, examples = role_of.get(j), quoted(sorted(c.distinct)[:5])
        if role == "text":
            reason = "given" if text_column else f"the longest values (on average {c.mean_length:.0f} characters)"
        elif role == "label":
            reason = "given" if label_column else f"{len(c.distinct)} different values ({examples})"
        elif role == "split":
            reason = f"its values are splits ({examples})"
        elif c.label_problem() == "single":
            reason = f"one value for every row ({examples})" if c.distinct else "empty"
        elif c.label_problem() == "id":
            reason = f"looks like an id ({len(c.distinct)} of {c.filled} values are different)"
        elif c.numeric >= 0.5:
            reason = f"numbers; '{label.name}' was taken as the labels"
        else:
            reason = f"'{text.name}' has longer texts and '{label.name}' was taken as the labels"
        out.append(ColumnCandidate(c.name, role, reason))
    return out


# ---- findings ----------------------------------------------------------------------------------

def normalised(text: str) -> str:
    """A text as near-duplicate checks compare it: case, punctuation and spacing ignored."""
    return re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def drop_unusable(rows: list, root: Path) -> tuple[list, list[Finding]]:
    """The rows that have a text and a label; findings list those left out."""
    kept = [row for row in rows if row.text and row.label]
    findings = []
    for what, bad in (("empty text", [r for r in rows if not r.text]),
                      ("text without a label", [r for r in rows if r.text and not r.label])):
        if bad:
            many = len(bad) > 1
            findings.append(Finding(
                f"{len(bad)} {what}{'s' if many else ''} {'were' if many else 'was'} left out",
                "fill in the missing cells or delete those rows." if what != "empty text"
                else "write the text in, or delete the empty rows or files.",
                tuple(relative_path(r.row_id, root) for r in bad)))
    return kept, findings


def copy_groups(samples: list[Sample], texts: dict[str, str]) -> list[list[Sample]]:
    """Groups of two or more samples whose texts are the same or nearly the same (:func:`normalised`)."""
    by_key: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_key[normalised(texts[s.path])].append(s)
    return [group for group in by_key.values() if len(group) > 1]


def text_findings(samples: list[Sample], texts: dict[str, str], classes: list[str], root: Path,
                  sequence_length: int = DEFAULT_SEQUENCE_LENGTH, label_column: str = "") -> list[Finding]:
    """The findings of the data check on texts, most important first."""
    def rel(sample: Sample) -> str:
        return relative_path(sample.path, root)

    groups = copy_groups(samples, texts)
    leaks = [g for g in groups if len({s.split for s in g}) > 1]
    out = []
    if leaks:
        many = len(leaks) > 1
        out.append(Finding(
            f"{len(leaks)} text{'s are' if many else ' is'} in more than one split (train/val/test), the same or "
            "nearly the same (ignoring case, punctuation and spacing), so validation accuracy will look better "
            "than it is", "delete the copies from one of the splits.", tuple(rel(s) for g in leaks for s in g)))
    conflicts = [g for g in groups if len({s.label for s in g}) > 1]
    for group in conflicts[:5]:
        out.append(Finding(
            f"The same text has the labels {quoted(sorted({classes[s.label] for s in group}))} ({rel(group[0])})",
            "keep the one label it should have.", tuple(rel(s) for s in group)))
    if len(conflicts) > 5:
        out.append(Finding(f"{len(conflicts) - 5} more texts have two different labels", "keep one label for each.",
                           tuple(rel(s) for g in conflicts[5:] for s in g)))
    train = Counter(classes[s.label] for s in samples if s.split == "train")
    out += class_findings(classes, train)
    if groups:
        extra = sum(len(g) - 1 for g in groups)
        out.append(Finding(
            f"{len(groups)} group{'s' if len(groups) > 1 else ''} of identical or nearly identical texts ({extra} "
            f"extra cop{'ies' if extra > 1 else 'y'})", "delete the copies so they do not count twice.",
            tuple(rel(s) for g in groups for s in g)))
    long = [s for s in samples if len(texts[s.path].split()) > sequence_length]
    if long:
        out.append(Finding(
            f"{len(long)} text{'s are' if len(long) > 1 else ' is'} longer than {sequence_length} tokens and will "
            "be cut", "set a longer sequence length (up to 512; slower), or shorten the texts.",
            tuple(rel(s) for s in long)))
    if label_column and len(classes) > max(20, len(samples) // 2):
        out.append(Finding(
            f"The label column '{label_column}' has {len(classes)} different labels for {len(samples)} texts, so "
            "most classes have only one or two texts: it may be an id or free text rather than a label",
            "choose the column that holds the labels (--label-column NAME), or merge the rare labels."))
    return out


def class_findings(classes: list[str], train: Counter) -> list[Finding]:
    """Classes with few training texts, and imbalance (the image report's rule)."""
    fix = f"add at least {FEW_TEXTS} texts per class (a few dozen for a useful model)."
    small = [name for name in classes if train[name] < FEW_TEXTS]
    out = [Finding(f"Class '{name}' has only {train[name]} training text{'s' if train[name] != 1 else ''}", fix)
           for name in small[:5]]
    if len(small) > 5:
        out.append(Finding(f"{len(small) - 5} more classes have fewer than {FEW_TEXTS} training texts", fix))
    smallest = min(classes, key=lambda name: (train[name], name))
    largest = max(classes, key=lambda name: (train[name], name))
    ratio = train[largest] / max(train[smallest], 1)
    if ratio >= IMBALANCE_WARNING:
        out.append(Finding(
            f"The classes are imbalanced: '{largest}' has {train[largest]} training texts but '{smallest}' only "
            f"{train[smallest]} ({ratio:.1f}x)",
            "add texts to the small classes (meanwhile class_weight='auto' balances them during training)."))
    return out


def skipped_finding(skipped: list[SkippedFile]) -> list[Finding]:
    """One finding for the files of a folder that were left out."""
    if not skipped:
        return []
    many = len(skipped) > 1
    fixes = {s.fix for s in skipped}
    fix = next(iter(fixes)).rstrip(".") + "." if len(fixes) == 1 else "fix each as the list of skipped files says."
    return [Finding(f"{len(skipped)} file{'s were' if many else ' was'} left out (listed under skipped files)", fix,
                    tuple(s.path for s in skipped))]
