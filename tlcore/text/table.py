"""Reading text data: a file or folder of texts and their labels, as one :class:`TextTable`.

Formats (``TextTable.format``):

- ``"csv"`` / ``"tsv"``: a table with a header row (the delimiter — comma, semicolon, tab or
  ``|`` — is found from the file; Excel's UTF-8 BOM and UTF-16 "Unicode text" are understood);
  a table without a header has columns named ``column 1``, ``column 2``, …
- ``"tab-lines"``: ``text<TAB>label`` lines with no header; each line is split on its *last*
  tab (so a text may hold tabs and quotes as they are).
- ``"txt-folders"``: one folder per class holding ``.txt`` files, one text per file
  (optionally inside ``train/``, ``val/``, ``test/`` folders).
- ``"split-files"``: a folder holding ``train``/``val``/``test`` tables (e.g. ``train.csv``,
  ``dev.tsv``); the file names give the splits.
- ``"files"``: a folder of tables in the same format (e.g. ``yelp.txt``, ``imdb.txt``), read as one.

The text, label and split columns are found from the data (or given): the text column holds
the longest texts, the label column few distinct values, the split column the values train /
val / test. ``TextTable.candidates`` says for every column why it was or was not picked.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..errors import TLCoreError
from ..findings import Finding, SkippedFile
from .checks import SPLIT_WORDS, ColumnCandidate, choose_columns, numeric

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
FORMATS = ("csv", "tsv", "tab-lines", "txt-folders", "split-files", "files")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_FIX_UTF8 = ("save the file as UTF-8 (in Excel: Save As → CSV UTF-8; in a text editor: choose the UTF-8 "
             "encoding when saving).")
_EXAMPLE = "e.g. a first line `text,label` and below it lines like `I loved it,positive`"


class TextRow(NamedTuple):
    """One labelled text: its split ("train", "val", "test" or None) and row id (``file#line``)."""

    text: str
    label: str
    split: str | None
    row_id: str


@dataclass
class TextTable:
    """Texts and labels read from a file or folder, with how they were found.

    Attributes:
        source: The file or folder the user gave.
        root: The folder row ids are relative to.
        format: One of :data:`FORMATS`.
        rows: Every text read (empty texts too; :mod:`.checks` drops them).
        columns: The columns used: ``{"text": name, "label": name, "split"?: name}``.
        candidates: Every column, the role it got (or None) and why.
        findings: What the user should know about reading the file (rows left out, …).
        skipped: Files of a folder that were left out, and why.
    """

    source: Path
    root: Path
    format: str
    rows: list[TextRow]
    columns: dict[str, str] = field(default_factory=dict)
    candidates: list[ColumnCandidate] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def is_text_source(path: str | Path) -> bool:
    """Whether ``path`` holds text data: a .csv/.tsv/.txt file, a folder of class folders of .txt
    files, or a folder of tables (e.g. train.csv and test.csv)."""
    path = Path(path).expanduser()
    if path.is_file():
        return path.suffix.lower() in TABLE_SUFFIXES
    return path.is_dir() and _folder_format(path)[1] is not None


def read_text_table(path: str | Path, text_column: str | None = None,
                    label_column: str | None = None) -> TextTable:
    """Read the texts and labels of a file or folder (see the module docstring for the formats).

    Args:
        path: A .csv/.tsv/.txt file, or a folder (see :func:`is_text_source`).
        text_column: The column holding the texts (default: found from the data).
        label_column: The column holding the labels (default: found from the data).

    Raises:
        TLCoreError: The data cannot be read as labelled texts (an empty or binary file, not
            UTF-8, one column, one label, an id column as labels, an unknown column, …); the
            message says how to fix it.
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise TLCoreError(f"{str(source)!r} does not exist.", "check the path of the file or folder.")
    if source.is_file():
        if source.suffix.lower() not in TABLE_SUFFIXES:
            raise TLCoreError(f"'{source.name}' is not a text table (a .csv, .tsv or .txt file).",
                              f"save the texts and labels as a .csv file, {_EXAMPLE}.")
        table = _read_file(source, source.parent, text_column, label_column)
        table.source = source
        return table
    base, kind = _folder_format(source)
    if kind is None:
        raise TLCoreError(
            f"No text data was found in {str(source)!r}.",
            "give a .csv/.tsv/.txt file of texts and labels, a folder of train/val/test tables, or one "
            "folder per class holding .txt files (one text per file).",
        )
    table = _read_txt_folders(base) if kind == "txt-folders" else _read_tables(base, kind, text_column, label_column)
    table.source = source
    return table


# ---- one file --------------------------------------------------------------------------------

def decode_text_file(path: Path) -> str:
    """The text of a file, refusing empty, binary and non-UTF-8 files with their fix."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            raise TLCoreError(f"'{path.name}' is not readable UTF-16 text.", _FIX_UTF8) from None
    if not data.strip():
        raise TLCoreError(f"'{path.name}' is empty.", f"save the texts and their labels in it, {_EXAMPLE}.")
    if data.startswith(b"PK\x03\x04"):
        raise TLCoreError(f"'{path.name}' is an Excel workbook or a zip, not a text table.",
                          "open it in Excel and choose Save As → CSV UTF-8.")
    if b"\x00" in data:
        raise TLCoreError(f"'{path.name}' is a binary file, not text (it contains NUL bytes).",
                          f"save the texts and labels as a plain .csv text file, {_EXAMPLE}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise TLCoreError(
            f"'{path.name}' is not UTF-8 text: line {line}, byte {column} is 0x{data[err.start]:02X}, which "
            "UTF-8 does not allow (the file was probably saved as Windows-1252 or Latin-1).",
            _FIX_UTF8,
        ) from None


def _read_file(path: Path, root: Path, text_column: str | None, label_column: str | None) -> TextTable:
    text = decode_text_file(path)
    delimiter = _sniff(text, path)
    records = _tab_lines(text) if delimiter == "\t" else _csv_records(text, delimiter)
    header = _has_header([cells for _, cells in records[:200]])
    if delimiter == "\t" and header:  # quoted cells as Excel and pandas write them, unless the file is not quoted
        quoted_records = _csv_records(text, "\t")
        width = len(quoted_records[0][1])
        fits = all(len(c) == width and not any("\t" in cell for cell in c) for _, c in quoted_records)
        records = quoted_records if fits else _csv_records(
            text, "\t", csv.QUOTE_NONE)
    fmt = "tab-lines" if delimiter == "\t" and not header else ("tsv" if delimiter == "\t" else "csv")
    if header:
        names = [cell.strip() for cell in records[0][1]]
        records = records[1:]
    elif fmt == "tab-lines":
        names = ["text", "label"]
    else:
        names = [f"column {i + 1}" for i in range(len(records[0][1]))]
    findings = []
    records = _keep_complete(records, len(names), path.name, fmt, delimiter, findings)
    if not records:
        raise TLCoreError(f"'{path.name}' has a header row but no texts below it.",
                          f"add one row per text under the header, {_EXAMPLE}.")
    note = "" if header else " (it has no header row, so its columns are named by position)"
    picked, candidates = choose_columns(names, [cells for _, cells in records], text_column, label_column,
                                        path.name, note)
    rel = path.relative_to(root).as_posix()
    rows = [
        TextRow(cells[picked["text"]].strip(), cells[picked["label"]].strip(),
                SPLIT_WORDS.get(cells[picked["split"]].strip().lower()) if "split" in picked else None,
                str(root / f"{rel}#{line}"))
        for line, cells in records
    ]
    columns = {role: names[index] for role, index in picked.items()}
    return TextTable(path, root, fmt, rows, columns, candidates, findings)


def _sniff(text: str, path: Path) -> str:
    """The delimiter: the one that splits (nearly) every line into the same number of fields."""
    lines = [line for line in text.splitlines()[:300] if line.strip()]
    if path.suffix.lower() == ".tsv" or all("\t" in line for line in lines):
        return "\t"
    best: tuple[float, str] | None = None
    for delimiter in (",", ";", "|", "\t"):
        counts = Counter(len(cells) for cells in csv.reader(lines, delimiter=delimiter))
        fields, rows = counts.most_common(1)[0]
        score = rows / sum(counts.values())
        if fields >= 2 and (best is None or score > best[0]):
            best = (score, delimiter)
    if best is None or best[0] < 0.8:
        raise TLCoreError(
            f"'{path.name}' has one column: no comma, semicolon or tab separates a text from its label.",
            f"put each text's label in a second column, {_EXAMPLE} (or one `text<TAB>label` per line).",
        )
    return best[1]


def _tab_lines(text: str) -> list[tuple[int, list[str]]]:
    """``text<TAB>label`` lines, each split on its last tab (texts keep their quotes and tabs)."""
    return [(i, line.rsplit("\t", 1)) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _csv_records(text: str, delimiter: str, quoting: int = csv.QUOTE_MINIMAL) -> list[tuple[int, list[str]]]:
    """``(first line number, cells)`` of every non-blank record (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    records, line = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as err:
        raise TLCoreError(f"Line {reader.line_num} cannot be read as a table row ({err}).",
                          "check the quotes on that line: a text with quotes in it is written \"like \"\"this\"\"\".") \
            from None
    return records


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding a text and its label."""
    first, rest = [cell.strip() for cell in rows[0]], rows[1:]
    if any(not cell or numeric(cell) for cell in first) or len({c.lower() for c in first}) < len(first):
        return False
    if not rest:
        return True
    votes = 0
    for j, name in enumerate(first):
        values = [r[j].strip() for r in rest if len(r) > j]
        distinct = set(values)
        few = len(distinct) <= max(2, len(values) // 2)
        if name in distinct:
            return False  # the first row's value is also data below it
        if few or (values and all(numeric(v) for v in values if v)):
            votes += 1  # e.g. "label" above only 0/1, or "id" above numbers
    if votes:
        return True
    # Only free-text columns: a header is much shorter than the texts below it.
    widths = [sum(len(r[j]) for r in rest if len(r) > j) / len(rest) for j in range(len(first))]
    return all(len(name) <= 40 for name in first) and max(widths) > 3 * len(first[widths.index(max(widths))])


def _keep_complete(records: list[tuple[int, list[str]]], width: int, name: str, fmt: str, delimiter: str,
                   findings: list[Finding]) -> list[tuple[int, list[str]]]:
    """The records with ``width`` cells; the others are left out (a finding names their lines)."""
    kept = [(line, cells) for line, cells in records if len(cells) == width]
    bad = [line for line, cells in records if len(cells) != width]
    if not bad:
        return kept
    fix = "end each line with a tab and the text's label." if fmt == "tab-lines" else (
        f"put texts that contain a {_DELIMITERS[delimiter]} in double quotes (Excel and pandas do this when saving "
        "a CSV), or remove the extra separators.")
    if len(bad) > max(2, len(records) // 10):
        raise TLCoreError(f"{len(bad)} of {len(records)} rows of '{name}' do not have {width} columns like the "
                          f"header (lines {_lines(bad)}).", fix)
    findings.append(Finding(f"{len(bad)} row{'s' if len(bad) > 1 else ''} of '{name}' with the wrong number of "
                            f"columns {'were' if len(bad) > 1 else 'was'} left out (line{'s' if len(bad) > 1 else ''} "
                            f"{_lines(bad)})", fix, (name,)))
    return kept


def _lines(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:10])) + (", …" if len(numbers) > 10 else "")


# ---- folders ---------------------------------------------------------------------------------

def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")


def _split_of(path: Path) -> str | None:
    """The split a file or folder name says (``train.csv``, ``sst_dev.tsv``, ``Test/``), if any."""
    words = [SPLIT_WORDS.get(word) for word in re.split(r"[^a-z]+", path.stem.lower())]
    found = {w for w in words if w}
    return found.pop() if len(found) == 1 else None


def _mostly(folder: Path, suffixes: set[str], limit: int = 200) -> bool:
    """Whether most of the first ``limit`` files under ``folder`` have one of ``suffixes``."""
    seen = hits = 0
    for p in folder.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            seen += 1
            hits += p.suffix.lower() in suffixes
            if seen >= limit:
                break
    return seen > 0 and hits * 2 > seen


def _folder_format(folder: Path) -> tuple[Path, str | None]:
    """``(folder to read, format)``: split-files, txt-folders, files, or None (not text data)."""
    entries = _visible(folder)
    dirs = [p for p in entries if p.is_dir()]
    tables = [p for p in entries if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES]
    if len(dirs) == 1 and not [p for p in entries if p.is_file()]:
        return _folder_format(dirs[0])  # one wrapping folder, as zips often have
    if any(_mostly(d, _IMAGE_SUFFIXES) for d in dirs):
        return folder, None
    if dirs and all(_mostly(d, {".txt"}) for d in dirs):
        return folder, "txt-folders"
    if any(_split_of(p) for p in tables):
        return folder, "split-files"
    return folder, ("files" if tables else None)


def _read_txt_folders(root: Path) -> TextTable:
    """One folder per class of .txt files (optionally inside train/val/test folders)."""
    dirs = [p for p in _visible(root) if p.is_dir()]
    by_split = {_split_of(d): d for d in dirs}
    layout = list(by_split.items()) if all(by_split) else [(None, root)]  # train/pos/1.txt or pos/1.txt
    rows, skipped = [], []
    for split, split_dir in layout:
        for class_dir in (p for p in _visible(split_dir) if p.is_dir()):
            for path in sorted(class_dir.rglob("*")):
                if not path.is_file() or path.name.startswith("."):
                    continue
                rel = path.relative_to(root).as_posix()
                if path.suffix.lower() != ".txt":
                    skipped.append(SkippedFile(rel, "not a .txt file", "save each text as a .txt file"))
                    continue
                try:  # an empty file is an empty text, reported with the others
                    text = decode_text_file(path) if path.read_bytes().strip() else ""
                except TLCoreError as err:
                    raise TLCoreError(f"{err.problem[:-1]} ({rel}).", err.fix) from None
                rows.append(TextRow(text.strip(), class_dir.name, split, str(path)))
    candidates = [ColumnCandidate("(file contents)", "text", "one text per .txt file"),
                  ColumnCandidate("(folder names)", "label", "the name of the folder holding each file")]
    return TextTable(root, root, "txt-folders", rows, {"text": "(file contents)", "label": "(folder names)"},
                     candidates, [], skipped)


def _read_tables(root: Path, kind: str, text_column: str | None, label_column: str | None) -> TextTable:
    """Several tables of one format: train/val/test files ("split-files") or any ("files")."""
    tables = [p for p in _visible(root) if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES]
    skipped = []
    if kind == "split-files":
        for p in tables:
            if not _split_of(p):
                skipped.append(SkippedFile(p.name, "not named after a split (train, val or test)",
                                           "rename it, e.g. to train.csv, or move it out of the folder"))
        tables = [p for p in tables if _split_of(p)]
        tables.sort(key=lambda p: (("train", "val", "test").index(_split_of(p)), p.name))
    else:
        tables.sort(key=lambda p: (-p.stat().st_size, p.name))  # the largest decides the columns
    first = _read_file(tables[0], root, text_column, label_column)
    if kind == "split-files" and _split_of(tables[0]) != "train":
        raise TLCoreError(f"The folder has no training file (only {', '.join(p.name for p in tables)}).",
                          "add a train.csv (or train.tsv / train.txt) with the training texts.")
    parts = [(tables[0], first)]
    for path in tables[1:]:
        try:
            part = _read_file(path, root, first.columns["text"], first.columns["label"])
            if part.format != first.format:
                raise TLCoreError(f"'{path.name}' is not in the same format as '{tables[0].name}' "
                                  f"({part.format}, not {first.format}).", "save all the tables in one format.")
        except TLCoreError as err:
            if kind == "split-files":
                raise
            fix = f"nothing to do if it is not part of the data (a readme, notes); otherwise {err.fix or ''}"
            skipped.append(SkippedFile(path.name, err.problem.rstrip("."), fix))
            continue
        parts.append((path, part))
    rows = []
    for path, part in parts:
        rows += [row._replace(split=_split_of(path)) for row in part.rows] if kind == "split-files" else part.rows
    columns = {k: v for k, v in first.columns.items() if kind != "split-files" or k != "split"}
    return TextTable(root, root, kind, rows, columns, first.candidates,
                     [f for _, part in parts for f in part.findings], skipped)
