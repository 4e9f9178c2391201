"""What may leave the server: settings, data reports and text files without server folders or workspace codes.

A session's workspace code opens that user's files, and folders on the server are nobody
else's business, so everything a run offers for download goes through here: settings keep
the dataset's name but no path (:func:`shareable_config`), a data report keeps its sentences
but loses the dataset's folders (:func:`shareable_report`), and every shared text file gets
a last pass that cuts any workspace folder or code still in it (:func:`redact`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from ..data import dataset_name
from ..errors import TLCoreError
from ..runfiles import write_bytes_atomic
from ..runs import CONFIG, RunFolder
from ..workspace import session_code

# Settings whose value is a file or folder on this server (a file name is kept, the folders are not).
_PATH_SETTINGS = ("backbone_file", "weights")
_WEIGHT_WORDS = ("imagenet", "none")
# Settings and report fields that may name a workspace folder (where its code would show).
CONFIG_PATHS = ("data", "backbone_file", "weights")
REPORT_PATHS = ("source", "root")
_KEPT_AS_WRITTEN = ("group_by", "edits")  # settings shared by their own rules (see shareable_config)


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or os.path.isabs(text)


def _file_name(text: str) -> str:
    """The last component of a path (either slash), e.g. ``my_model.keras``."""
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _strip_paths(value: Any) -> Any:
    """``value`` with every path-looking string reduced to its file name (dicts and lists too)."""
    if isinstance(value, str):
        return _file_name(value) if _looks_like_path(value) else value
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strip_paths(v) for v in value]
    return value


def _without_folders(value: Any, folders: Sequence[str]) -> Any:
    """``value`` with each of ``folders`` cut out of every string in it (dicts and lists too)."""
    if isinstance(value, str):
        for folder in folders:
            value = value.replace(folder + "/", "").replace(folder, _file_name(folder))
        return value
    if isinstance(value, dict):
        return {k: _without_folders(v, folders) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_folders(v, folders) for v in value]
    return value


def shareable_config(config: Any) -> dict:
    """A run's settings fit to share: no server path and no workspace code in them.

    ``data`` becomes the dataset's name as the user gave it (``data_name``, else the zip's or
    folder's name, see :func:`tlcore.data.dataset_name`); ``backbone_file``, a weights file and
    any other path become bare file names. Everything else is kept, so the file still says
    how the run was made; to repeat it, point ``data`` at your own copy of the dataset.

    Args:
        config: A :class:`~tlcore.config.TrainConfig` or its ``to_dict()`` (a run's ``config.json``).

    Returns:
        A new dict; ``config`` is not changed.
    """
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
    name = dataset_name(values.get("data"), values.get("data_name"))
    shared = _strip_paths({k: v for k, v in values.items() if k not in ("data", "data_name", *_KEPT_AS_WRITTEN)})
    # A subject pattern is a regular expression (its backslashes are no path); a group file is.
    group_by = values.get("group_by")
    if isinstance(group_by, str):
        shared["group_by"] = _file_name(group_by) if group_by.lower().endswith(".csv") else group_by
    # Edits name pictures relative to the dataset's folder, which says nothing about the server.
    if "edits" in values:
        shared["edits"] = [{**e, "path": _file_name(e["path"]) if os.path.isabs(str(e.get("path", ""))) else e["path"]}
                           for e in values.get("edits") or [] if isinstance(e, dict)]
    for key in _PATH_SETTINGS:
        value = values.get(key)
        if isinstance(value, str) and value.lower() not in _WEIGHT_WORDS:
            shared[key] = _file_name(value)
    shared = {"data": name, **({"data_name": name} if "data_name" in values else {}), **shared}
    return {k: shared[k] for k in values if k in shared}  # the original order of the settings


def shareable_run_config(run_dir: str | Path) -> bytes:
    """A run's ``config.json`` as :func:`shareable_config` makes it, ready to download."""
    folder = RunFolder(run_dir)
    config = folder.config_dict()
    if not config:
        raise TLCoreError(f"Run {folder.run_id} has no readable {CONFIG}.", "train the run again.")
    secrets = session_secrets(*(config.get(k) for k in CONFIG_PATHS), str(folder.path.resolve()))
    return shared_json(shareable_config(config), secrets)


def session_secrets(*paths: Any) -> list[str]:
    """Session workspace folders and codes named in any of ``paths`` (longest first)."""
    secrets: set[str] = set()
    for path in paths:
        code = session_code(path) if isinstance(path, str) and path else None
        if code:
            parts = Path(path).parts
            at = next(i for i in range(1, len(parts)) if parts[i] == code and parts[i - 1] == "sessions")
            secrets.update({str(Path(*parts[: at + 1])), code})
    return sorted(secrets, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """Last line of defence for a shared text file: cut any workspace folder or code still in it."""
    for secret in secrets:
        text = text.replace(secret + "/", "").replace(secret, "…")
    return text


def shared_json(value: Any, secrets: Sequence[str]) -> bytes:
    """A JSON file to share: indented, UTF-8, with :func:`redact` applied."""
    return redact(json.dumps(value, indent=2, ensure_ascii=False, default=str), secrets).encode("utf-8")


def shareable_report(report: dict | None, data_name: str | None) -> dict | None:
    """A data report for the model card: the dataset's name instead of server folders.

    Its paths are relative to the dataset already; any that is not (and any sentence naming a
    folder, in a warning's problem, fix or paths alike) loses the dataset's folders, so
    ``val/cats/1.png`` stays but no server path does.
    """
    if not report:
        return report
    folders = {str(report[k]).rstrip("/") for k in REPORT_PATHS if report.get(k)}
    folders |= {str(Path(f).parent) for f in folders if Path(f).is_absolute() and str(Path(f).parent) != "/"}
    shared = _without_folders({k: v for k, v in report.items() if k not in REPORT_PATHS},
                              sorted(folders, key=len, reverse=True))
    shared["source"] = data_name or dataset_name(report.get("source"))
    subjects = shared.get("subjects")
    if isinstance(subjects, dict) and subjects.get("file"):  # the user's subject file: its name is enough
        shared["subjects"] = {**subjects, "file": _file_name(str(subjects["file"]))}
    return shared


__all__ = ["redact", "session_secrets", "shareable_config", "shareable_report", "shareable_run_config", "text_model_zip",
           "write_sidecars",
           "shared_json"]


def write_sidecars(target, labels_bytes: bytes, info: dict, config: dict | None, secrets) -> dict[str, Path]:
    """labels.json, model_info.json and (when given) the shareable config.json beside an export, by key."""
    write_bytes_atomic(target("labels"), labels_bytes)
    write_bytes_atomic(target("info"), shared_json(info, secrets))
    written = {"labels": target("labels"), "info": target("info")}
    if config:
        write_bytes_atomic(target("config"), shared_json(config, secrets))
        written["config"] = target("config")
    return written


def text_model_zip(run_dir: str | Path) -> bytes:
    """A text run's ``model.keras``, its ``tokenizer/`` folder and ``labels.json`` as one zip (the model
    alone takes token arrays: it is of no use without its tokenizer)."""
    import io
    import zipfile

    folder = RunFolder(run_dir)
    model = folder.require_model()
    if not folder.tokenizer_path.is_dir():
        raise TLCoreError(f"Run {folder.run_id} is not a text run (it has no tokenizer/ folder).",
                          "download its model.keras itself.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(model, model.name)
        for item in sorted(folder.tokenizer_path.iterdir()):
            if item.is_file():
                archive.write(item, f"{folder.tokenizer_path.name}/{item.name}")
        if folder.labels_path.is_file():
            archive.write(folder.labels_path, folder.labels_path.name)
    return buffer.getvalue()

