"""The session's dataset: which one is chosen, loading it once (cached), uploads, thumbnails.

A dataset (pictures, or a file of labelled sentences) is loaded by ``tlcore.load_any`` and cached
per server (keyed by its folder or file, the validation settings, the text columns and the time
stamp), so every page reads the same one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import streamlit as st

from tlcore import TLCoreError, Workspace, dataset_name, load_any, open_image, run_folders

from .calls import error_message
from .state import current_config, load_state, save_state, update_config, workspace

log = logging.getLogger("transfer_studio")


def dataset_source() -> str | None:
    return load_state().get("dataset")


def file_stamp(path: str) -> float:
    """The file's modification time (0 when missing): part of cache keys, so edits are seen."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_dataset(source: str, val_fraction: float, seed: int, workspace_root: str, group_by: str, edits: str,
                    stamp: float, text_column: str | None = None, label_column: str | None = None,
                    sequence_length: int | None = None, _loaded=None):
    """Loaded datasets, shared by the pages (arguments starting with ``_`` are not part of the key).

    ``edits`` is the config's edit list as JSON (a cache key must be hashable).
    """
    if _loaded is not None:
        return _loaded
    return load_any(source, val_fraction=val_fraction, seed=seed, workspace=Workspace(workspace_root),
                    group_by=group_by, edits=json.loads(edits), text_column=text_column, label_column=label_column,
                    sequence_length=sequence_length)


def _dataset_key(source: str) -> tuple:
    config = current_config()
    return (source, float(config.val_fraction), int(config.seed), str(workspace().root), str(config.group_by),
            json.dumps(config.edits, sort_keys=True), file_stamp(source), config.text_column, config.label_column,
            config.sequence_length)


def current_dataset(*, quiet: bool = False):
    """The selected Dataset, or None. Reloads it from disk after a restart (cached)."""
    source = dataset_source()
    if not source:
        return None
    if not Path(source).exists():
        if not quiet:
            st.warning(f"The dataset folder `{source}` no longer exists. Choose your images again on the Data page.")
        return None
    try:
        with st.spinner("Reading your data…"):
            return _cached_dataset(*_dataset_key(source))
    except TLCoreError as err:
        if not quiet:
            st.error(error_message(err), icon=":material/error:")
    except Exception as err:
        log.exception("cannot reload dataset %s", source)
        if not quiet:
            st.error(f"Could not read the dataset `{source}` ({err}). Fix: choose it again on the Data page.")
    return None


def upload_folder(root: str | None) -> str | None:
    """The ``datasets/<digest>`` folder an extracted upload lives in; None for any other folder."""
    if not root:
        return None
    datasets = workspace().datasets_dir.resolve()
    try:
        parts = Path(root).resolve().relative_to(datasets).parts
    except (ValueError, OSError):
        return None
    return str(datasets / parts[0]) if parts else None


def earlier_uploads() -> list[str]:
    """This workspace's uploads that loaded, the one in use first, then the latest used.

    Only datasets that loaded are listed: a zip that was refused (one class, no pictures…)
    is extracted before it is checked, so its folder exists but is never offered again.
    Runs' datasets count too (workspaces from before this list was kept).
    """
    state = load_state()
    found = [upload_folder(state.get("dataset")), *state.get("loaded_uploads", [])]
    try:
        found += [upload_folder(f.config_dict().get("data")) for f in run_folders(workspace().runs_dir)]
    except Exception:
        log.exception("listing runs for earlier uploads")
    unique = []
    for folder in found:
        if folder and folder not in unique and Path(folder).is_dir():
            unique.append(folder)
    return unique


def remember_dataset(dataset, name: str | None = None, source: str | Path | None = None) -> None:
    """Select a freshly loaded dataset in this session and on disk (and keep it in the cache).

    ``source``: what was loaded when it is not the dataset's folder (a file of sentences).
    """
    root = str(Path(source or dataset.root).resolve())
    folder = upload_folder(root)
    loaded = [f for f in load_state().get("loaded_uploads", []) if f != folder]
    shown = name or Path(root).name
    save_state(dataset=root, dataset_name=shown, loaded_uploads=([folder] if folder else []) + loaded)
    columns = dict(getattr(dataset, "columns", None) or {})  # text data: the columns it was read with
    update_config(data=root, data_name=dataset_name(root, shown),  # what shared files call it
                  text_column=columns.get("text"), label_column=columns.get("label"))
    key = _dataset_key(root)
    _cached_dataset.clear(*key)  # a folder loaded again may have changed inside
    _cached_dataset(*key, _loaded=dataset)


def dataset_display_name(root: str | None) -> str:
    """A short name for the selected dataset (the upload's name when it came from a zip)."""
    if not root:
        return ""
    state = st.session_state.get("app_state") or {}
    if state.get("dataset") == root and state.get("dataset_name"):
        return str(state["dataset_name"])
    return Path(root).name or str(root)


def class_names(dataset) -> list[str]:
    return [str(c) for c in dataset.classes]


def sample_label(sample, classes: list[str]) -> str:
    """The class name of a tlcore ``Sample`` (whose ``label`` is the class index)."""
    return classes[sample.label]


def samples_of(dataset, split: str | None = None) -> list:
    return list(dataset.samples) if split is None else list(dataset.split(split))


def first_image(dataset) -> str | None:
    samples = samples_of(dataset, "train") or samples_of(dataset)
    return str(samples[0].path) if samples else None


# --------------------------------------------------------------------------- pictures
def picture_thumbnail(source, size: int = 160):
    """A thumbnail of a picture given as a file object (an upload), or None when unreadable."""
    try:
        image = open_image(source)
        image.thumbnail((size, size))
        return image
    except Exception:
        return None


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(path: str, size: int = 160, stamp: float = 0.0):
    """A small RGB thumbnail (aspect kept, EXIF orientation applied) or None when unreadable."""
    return picture_thumbnail(path, size)

