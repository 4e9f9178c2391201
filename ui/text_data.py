"""The Data page's text parts: a file of labelled sentences uploaded or picked, its columns confirmed
or changed, and a few sentences of each class instead of thumbnails.

Reading the file, finding its columns and checking it is tlcore's (``read_text_table``,
``load_any``); this module only saves the upload, draws the choices and shows what was found.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from tlcore import TEXT_LAYOUTS, read_text_table, safe_filename, write_bytes_atomic

from .calls import error_message, plain
from .state import current_config, update_config, workspace

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")  # what the uploader offers; tlcore decides what is in the file
_PER_CLASS = 5  # sentences shown per class


def is_text_file(path: str | Path | None) -> bool:
    """True for a single file of sentences (``.csv``, ``.tsv``, ``.txt``) by its name."""
    return bool(path) and Path(str(path)).suffix.lower() in TEXT_SUFFIXES


def save_text_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded file of sentences in the workspace, in ``datasets/<content digest>/``: the file
    is the dataset itself (unlike a zip it is never extracted), so it stays for later runs."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = workspace().datasets_dir / digest / safe_filename(name, "sentences.csv")
    if target.suffix.lower() not in TEXT_SUFFIXES:
        target = target.with_name(target.name + ".csv")
    write_bytes_atomic(target, data)
    return target


def text_file_in(folder: str | Path) -> Path | None:
    """The one file of sentences an earlier upload's folder holds, or None (a zip's folder)."""
    path = Path(folder)
    if not path.is_dir():
        return None
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_file() and is_text_file(entries[0]) else None


@st.cache_data(max_entries=16, show_spinner="Reading the columns…")
def _table(source: str, text_column: str | None, label_column: str | None, stamp: float):
    return read_text_table(source, text_column=text_column, label_column=label_column)


def _stamp(source: str) -> float:
    try:
        return Path(source).stat().st_mtime
    except OSError:
        return 0.0


def _key(source: str) -> str:
    """Widget keys per file: another file's column names never linger in these selectboxes."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def _name(candidate) -> str:
    """A candidate column's name (tlcore's candidates are objects with a ``name``, or plain names)."""
    if isinstance(candidate, dict):
        return str(candidate.get("name", ""))
    return str(getattr(candidate, "name", candidate))


def _why(candidate) -> str:
    if isinstance(candidate, dict):
        return str(candidate.get("why") or candidate.get("reason") or "")
    return str(getattr(candidate, "why", "") or getattr(candidate, "reason", "") or "")


def _column_of(table, role: str) -> str | None:
    """The column ``table`` chose for ``role`` ("text", "label", "split")."""
    columns = getattr(table, "columns", None) or {}
    if isinstance(columns, dict):
        return columns.get(role)
    return getattr(table, f"{role}_column", None)


def columns_section(source: str) -> bool:
    """The columns of the chosen file: the text and label columns tlcore found, with selectboxes to
    change them (the choice goes into the run's settings). False when the file cannot be read at all
    (its error is shown)."""
    config = current_config()
    stamp = _stamp(source)
    try:  # what tlcore finds by itself (and why); the columns chosen are checked when the dataset loads
        table = _table(source, None, None, stamp)
    except Exception as err:
        try:  # nothing found by itself, but the columns chosen work
            table = _table(source, config.text_column, config.label_column, stamp)
        except Exception:
            st.error(error_message(err, "reading the columns"), icon=":material/error:")
            return False
    names = [_name(c) for c in getattr(table, "candidates", [])] or [
        c for c in (_column_of(table, "text"), _column_of(table, "label")) if c]
    text_now = config.text_column if config.text_column in names else _column_of(table, "text")
    label_now = config.label_column if config.label_column in names else _column_of(table, "label")
    fmt = TEXT_LAYOUTS.get(getattr(table, "format", ""), "")
    st.caption((f"Read as {plain(fmt)}. " if fmt else "")
               + "Check which column holds the sentences and which the labels; change them if they are wrong.")
    col_text, col_label, col_split = st.columns(3)
    with col_text:
        text_column = st.selectbox("Column with the texts", names, key=f"data_text_column_{_key(source)}",
                                   index=names.index(text_now) if text_now in names else None,
                                   help="Found as the column with the longest texts.")
    with col_label:
        label_column = st.selectbox("Column with the labels", names, key=f"data_label_column_{_key(source)}",
                                    index=names.index(label_now) if label_now in names else None,
                                    help="Found as a column with few different values: each value becomes a class.")
    with col_split:
        split = _column_of(table, "split")
        st.markdown(f"**Split column:** `{split}`" if split else "**Split column:** none — a share of each class "
                    "is kept aside for validation")
    why = [(n, _why(c)) for n, c in zip(names, getattr(table, "candidates", []))]
    if any(w for _, w in why):
        with st.expander("Why these columns", icon=":material/help:"):
            st.dataframe([{"column": n, "why": w} for n, w in why], hide_index=True, width="stretch")
    if text_column and label_column and text_column == label_column:
        st.error("The texts and the labels are the same column. Fix: choose another column for one of them.",
                 icon=":material/error:")
        return True
    if (text_column, label_column) != (config.text_column, config.label_column) and text_column and label_column:
        update_config(text_column=text_column, label_column=label_column)
        st.rerun()  # the dataset is read again with these columns
    return True


def sample_text(dataset, path: str) -> str:
    """How a sample is named in a list: its text for text data (cut short), else its path."""
    if not getattr(dataset, "is_text", False):
        return str(path)
    text = dataset.texts.get(str(path)) or dataset.texts.get(str(Path(dataset.root) / str(path)), str(path))
    return f"“{text[:77]}…”" if len(text) > 80 else f"“{text}”"


def text_samples(dataset, classes: list[str], shown_classes: list[str], counts: dict) -> None:
    """A few sentences of each class (instead of thumbnails)."""
    by_class: dict[str, list[dict]] = {cls: [] for cls in shown_classes}
    for sample in dataset.samples:
        cls = classes[sample.label]
        if cls in by_class and len(by_class[cls]) < _PER_CLASS:
            by_class[cls].append({"text": dataset.text_of(sample.path), "split": sample.split})
    for cls in shown_classes:
        total = sum(split_counts.get(cls, 0) for split_counts in counts.values())
        st.markdown(f"**{plain(cls)}** · {total} texts")
        st.dataframe(by_class[cls], hide_index=True, width="stretch", key=f"data_texts_{cls}",
                     column_config={"text": st.column_config.TextColumn("text", width="large")})


__all__ = ["TEXT_SUFFIXES", "columns_section", "is_text_file", "sample_text", "save_text_upload",
           "text_file_in", "text_samples"]
