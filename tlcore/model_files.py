"""The files beside a model: its labels, model_info.json, the run's settings and trust.

A model may be a run's ``model.keras``, an export in ``<run>/export/``, or a copy anywhere;
its class names, training size and trust settings are looked up beside it, inside it (a
SavedModel folder) or in the run folder above ``export/``.
"""

from __future__ import annotations

from pathlib import Path
from .config import TrainConfig
from .errors import TLCoreError
from .export.formats import FILE_NAMES
from .model import resolve_image_size
from .runfiles import read_json
from .runs import CONFIG, LABELS
from .trust.settings import Trust


def nearby(model_path: Path, name: str) -> Path | None:
    """``name`` beside the model, inside it (a SavedModel folder), or in the run folder above ``export/``."""
    folders = [model_path] if model_path.is_dir() else []
    folders += [model_path.parent, model_path.parent.parent]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def find_labels(model_path: Path) -> list[str] | None:
    path = nearby(model_path, LABELS)
    labels = read_json(path) if path else None
    if isinstance(labels, list) and all(isinstance(x, (str, int)) for x in labels):
        return [str(x) for x in labels]
    return None


def find_info(model_path: Path) -> dict:
    info_path = nearby(model_path, FILE_NAMES["info"])
    info = read_json(info_path) if info_path else None
    return info if isinstance(info, dict) else {}


def trust_of(data) -> Trust | None:
    """A :class:`Trust` from a saved dict (None when there is none or it is not one)."""
    if not isinstance(data, dict):
        return None
    try:
        return Trust.from_dict(data)
    except (TypeError, ValueError):
        return None


def find_image_size(model_path: Path) -> int | None:
    """The training size from model_info.json (exports) or config.json (runs) nearby."""
    info = find_info(model_path)
    if info.get("image_size"):
        return int(info["image_size"])
    config_path = nearby(model_path, CONFIG)
    config = read_json(config_path) if config_path else None
    if isinstance(config, dict) and ("backbone" in config or "image_size" in config):
        try:
            return resolve_image_size(TrainConfig.from_dict(config))
        except (TLCoreError, TypeError, ValueError):
            return None
    return None


__all__ = ["find_image_size", "find_info", "find_labels", "nearby", "trust_of"]
