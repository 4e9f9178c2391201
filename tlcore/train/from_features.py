"""Training from a features table: the head learns from vectors computed once, here or on Spark.

``tlcore featurize`` (on one machine or with ``--engine spark``) writes a features table and
its sidecar (:mod:`tlcore.feature_table`). A run whose ``features`` setting names that table
takes its feature extractor (backbone, weights, layer, size, pooling) and its dataset and split
from the sidecar, checks that the table holds exactly this dataset's images with the same
splits and labels, and fills the run's feature cache with the table's vectors. From there it
is an ordinary run (:func:`tlcore.train.train`): the head trains on those vectors; evaluation,
calibration and the "I don't know" prototypes read them from the same cache; and the saved
``model.keras`` is the full model, images in and probabilities out, backbone included.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import events as ev
from ..config import TrainConfig
from ..errors import TLCoreError
from ..feature_table import existing_table
from ..workspace import Workspace

# What a run takes from the table's sidecar: the dataset and its split, and the extractor.
TABLE_SETTINGS = ("data", "data_name", "val_fraction", "seed", "group_by", "edits")
EXTRACTOR_SETTINGS = ("backbone", "backbone_file", "weights", "layer", "image_size", "pooling")
_ENGINE_WORDS = {"local": "on one machine", "spark": "on Spark"}
_EXAMPLES = 3  # rows named in a mismatch message


def train_from_features(table: str | Path, run_dir: str | Path | None = None, *,
                        overrides: dict[str, Any] | None = None, on_event: ev.Emit | None = None,
                        should_stop: Callable[[], bool] | None = None, workspace=None, callbacks: Iterable = ()):
    """Train a classifier head on a features table and save the full model (backbone included).

    Args:
        table: A table ``tlcore featurize`` wrote: one Parquet file, or the Parquet folder of
            ``--engine spark``, with its ``<table>.json`` sidecar beside it.
        run_dir: The run folder (as :func:`tlcore.train.train`); None keeps everything in memory.
        overrides: Settings on top of the table's (e.g. ``{"epochs": 10, "learning_rate": 3e-4}``);
            ``{"data": folder}`` says where the table's images are on this machine.
        on_event, should_stop, workspace, callbacks: As :func:`tlcore.train.train`.

    Returns:
        The :class:`tlcore.train.TrainResult`; its ``feature_cache_misses`` is 0: every vector
        came from the table.

    Raises:
        TLCoreError: The table is missing, damaged or made another way than asked, it does not
            hold this dataset's images and split, or the settings need the images every epoch.
    """
    from . import train  # the package's train(): run.py calls back into load_table

    return train(features_config(table, overrides), run_dir, on_event=on_event, should_stop=should_stop,
                 workspace=workspace, callbacks=callbacks)


def features_config(table: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The settings of a run from ``table``: its sidecar's dataset, split and extractor, the
    defaults for training, then ``overrides``; checked against the sidecar."""
    from ..feature_table import read_info

    table = existing_table(table)
    info = read_info(table)
    made = info.train_config().to_dict()
    values = TrainConfig().to_dict()
    values.update({name: made[name] for name in (*TABLE_SETTINGS, *EXTRACTOR_SETTINGS)})
    values.update(overrides or {})
    values["features"] = str(table)
    if values.get("data") and not values.get("data_name"):
        from ..data import dataset_name

        values["data_name"] = dataset_name(values["data"])  # shared files name the dataset, never its path
    config = TrainConfig.from_dict(values).validate()
    check_config(config, info, table)
    return config


def check_config(config: TrainConfig, info, table: Path) -> None:
    """Refuse settings a features table cannot serve, and an extractor other than the table's."""
    from ..feature_table import check_matches

    name = table.name
    _refuse_training_on_images(config, name)
    if info.backbone_file and not config.backbone_file:
        raise TLCoreError(f"The features in {name} were made with your own backbone file "
                          f"{Path(info.backbone_file).name}, but this run asks for {config.backbone}.",
                          "give that file with --backbone-file FILE (or drop --backbone).")
    if config.backbone_file and not info.backbone_file:
        raise TLCoreError(f"The features in {name} were made with the {info.backbone} backbone, but you asked for "
                          f"the backbone file {Path(config.backbone_file).name}.",
                          "drop --backbone-file, or featurize the data again with that file.")
    check_matches(info, backbone=None if config.backbone_file else config.backbone, layer=config.layer, table=table)
    made = {"layer": info.layer, "image_size": int(info.image_size), "pooling": info.pooling}
    for setting, value in made.items():
        asked = getattr(config, setting)
        if asked != value:
            flag = "--" + setting.replace("_", "-")
            if asked is None:
                raise TLCoreError(f"The features in {name} were made with {setting} {value}, but this run's settings "
                                  "leave it to the default.", f"set {flag} {value} (the table's).")
            raise TLCoreError(f"The features in {name} were made with {setting} {value}, but this run's settings say "
                              f"{asked}.", f"drop {flag} (or set {flag} {value}), or featurize the data again with "
                              f"{flag} {asked}.")
    _check_extractor(config, info, name)


def _refuse_training_on_images(config: TrainConfig, name: str) -> None:
    """What needs the images every epoch cannot be learnt from fixed features."""
    if config.mode == "fine-tune":
        raise TLCoreError(f"Fine-tuning changes the backbone, so its features change every step; {name} holds "
                          "fixed features.", "use --mode feature-extraction with --features, or fine-tune on the "
                          "images: tlcore train DATA --mode fine-tune.")
    if config.augment:
        raise TLCoreError(f"Augmentation needs new copies of the pictures every epoch; {name} holds one feature "
                          "vector per picture.", "drop --augment with --features, or train on the images: "
                          "tlcore train DATA --augment.")
    if not config.feature_cache:
        raise TLCoreError("--no-feature-cache trains on the pictures every epoch, but --features trains on the "
                          f"vectors in {name}.", "drop --no-feature-cache.")
    if config.from_scratch:
        raise TLCoreError("This run has no pretrained weights (weights 'none'): a random start trains the whole "
                          f"network on the pictures, not a head on the features in {name}.",
                          "featurize and train with pretrained weights (imagenet or a weights file), or train on the "
                          "images: tlcore train DATA --weights none.")


def _check_extractor(config: TrainConfig, info, name: str) -> None:
    """The run builds the very extractor the table was made with (same files, Keras and backend)."""
    from ..features import model_key

    files = {"weights": config.weights if config.weights not in ("imagenet", "none") else None,
             "backbone file": config.backbone_file}
    for what, path in files.items():
        if path and not Path(path).is_file():
            flag = "--" + what.replace(" ", "-")
            raise TLCoreError(f"The {what} {path} that the features in {name} were made with is not on this machine.",
                              f"copy it here and give its path with {flag} FILE (its content is checked).")
    key = model_key(config, int(info.image_size), info.layer)
    if key != info.feature_key:
        raise TLCoreError(f"The features in {name} were made by another feature extractor than this run builds "
                          f"(feature key {info.feature_key} in the table, {key} here): another weights or backbone "
                          "file, or another Keras version or backend.",
                          "use the files and Keras version the table was made with, or featurize the data again "
                          "here: tlcore featurize DATA --out TABLE.")


def load_table(config: TrainConfig, workspace: Workspace, emit: ev.Emit):
    """The run's first stage when ``config.features`` is set: read and check the table, load the
    dataset, and fill the run's feature cache with the table's vectors.

    Returns:
        ``(dataset, workspace)``: the workspace to train in, whose feature cache holds the table's
        vectors (its own folder, so no other run reads vectors this machine did not compute).
    """
    from ..feature_table import features_matrix, read_table
    from .stages import load_data

    table = existing_table(config.features)
    emit(ev.stage_event(ev.STAGE_DATA, f"Reading the features table {table.name}"))
    frame, info = read_table(table)
    check_config(config, info, table)
    _require_images(config, table.name)
    dataset = load_data(config, workspace, emit)
    order = _rows_of_each_split(frame, info, dataset, table.name)
    vectors = _vectors(features_matrix, frame, info, table.name)
    run_workspace = TableWorkspace(workspace.root, workspace.cache_dir / "tables" / _table_id(table))
    _prefill(config, info.feature_key, dataset, vectors, order, run_workspace)
    engine = _ENGINE_WORDS.get(info.engine, f"by the {info.engine} engine")
    emit(ev.stage_event(ev.STAGE_DATA, f"Training the head on the {len(frame):,} feature vectors of {table.name}, "
                        f"made {engine}: no picture is featurized again", features_table=str(table),
                        engine=info.engine, vectors=len(frame), feature_key=info.feature_key,
                        **({"spark": info.spark} if info.spark else {})))
    return dataset, run_workspace


@dataclass(frozen=True)
class TableWorkspace(Workspace):
    """The user's workspace, with the feature cache of one features table."""

    table_cache: Path = Path()

    @property
    def cache_dir(self) -> Path:
        self.table_cache.mkdir(parents=True, exist_ok=True)
        return self.table_cache


def _table_id(table: Path) -> str:
    return hashlib.sha256(str(table).encode()).hexdigest()[:16]


def _require_images(config: TrainConfig, name: str) -> None:
    if config.data and Path(config.data).exists():
        return
    where = f" (looked for {config.data})" if config.data else ""
    raise TLCoreError(f"The pictures {name} was made from are not on this machine{where}.",
                      "a run from features still needs them: to check the table against them, for the evaluation's "
                      "pictures, and because the saved model takes pictures. Copy them here and give their folder: "
                      "tlcore train --features TABLE DATA (in Python: overrides={'data': folder}).")


def _mismatch(name: str, what: str, examples: list[str]) -> TLCoreError:
    shown = ", ".join(examples[:_EXAMPLES]) + (f" and {len(examples) - _EXAMPLES} more" if len(examples) > _EXAMPLES
                                              else "")
    return TLCoreError(f"{name} was made from other pictures or another split: {what} ({shown}).",
                       "give the folder the table was made from (tlcore train --features TABLE DATA), keep the "
                       "table's split settings (val_fraction, seed, group_by), or featurize this data again: "
                       "tlcore featurize DATA --out TABLE.")


def _rows_of_each_split(frame, info, dataset, name: str) -> dict[str, list[int]]:
    """The table's row of each sample, split by split in the run's order; refuses any difference
    between the table and this dataset (pictures, splits, labels, classes)."""
    from ..feature_table import plan_rows

    if list(dataset.classes) != list(info.classes):
        raise _mismatch(name, f"its classes are {', '.join(info.classes)}; this dataset's are",
                        list(dataset.classes))
    paths = frame["path"].tolist()
    rows = {path: i for i, path in enumerate(paths)}
    if len(rows) != len(paths):
        twice = sorted(path for path, n in Counter(paths).items() if n > 1)
        raise _mismatch(name, "it lists pictures more than once", twice)
    plan = plan_rows(dataset)
    planned = {row["path"] for row in plan}
    missing = [row["path"] for row in plan if row["path"] not in rows]
    if missing:
        raise _mismatch(name, f"{len(missing)} of this dataset's pictures are not in it", missing)
    extra = [path for path in paths if path not in planned]
    if extra:
        raise _mismatch(name, f"{len(extra)} of its rows are not pictures of this dataset", extra)
    splits, labels = frame["split"].tolist(), frame["label_index"].tolist()
    moved = [f"{r['path']}: {splits[rows[r['path']]]} in the table, {r['split']} here" for r in plan
             if splits[rows[r["path"]]] != r["split"]]
    if moved:
        raise _mismatch(name, f"{len(moved)} pictures are in another split", moved)
    relabelled = [f"{r['path']}: {info.classes[labels[rows[r['path']]]]} in the table, {r['label']} here" for r in plan
                  if labels[rows[r["path"]]] != r["label_index"]]
    if relabelled:
        raise _mismatch(name, f"{len(relabelled)} pictures have another label", relabelled)
    order: dict[str, list[int]] = {}
    for row in plan:
        order.setdefault(row["split"], []).append(rows[row["path"]])
    return order


def _vectors(features_matrix, frame, info, name: str) -> np.ndarray:
    try:
        vectors = features_matrix(frame)
    except ValueError:
        raise TLCoreError(f"The feature vectors in {name} do not all have the same length.",
                          "write the table again with tlcore featurize.") from None
    if len(frame) and (vectors.shape[1] != int(info.feature_dim) or not np.isfinite(vectors).all()):
        raise TLCoreError(f"The feature vectors in {name} are not the {info.feature_dim} finite numbers its sidecar "
                          "says.", "write the table again with tlcore featurize.")
    return vectors


def _prefill(config: TrainConfig, feature_key: str, dataset, vectors: np.ndarray, order: dict[str, list[int]],
             workspace: Workspace) -> None:
    """Save each split's vectors under the keys the run's stages look up (the split, in its
    order; the training pictures kept as "I don't know" prototypes), so none is computed."""
    from ..features import FeatureCache, samples_key
    from .trust_stage import prototype_indices

    cache = FeatureCache(workspace.cache_dir, feature_key)
    for split, indices in order.items():
        samples = dataset.split(split)
        hashes = [dataset.content_hash(s.path) for s in samples]
        split_vectors = vectors[indices]
        cache.save(samples_key(hashes, view=0, seed=config.seed), split_vectors)
        if split == "train":
            keep = prototype_indices(np.array([s.label for s in samples], dtype=int), config.seed)
            if len(keep) < len(samples):
                cache.save(samples_key([hashes[i] for i in keep], view=0, seed=config.seed), split_vectors[keep])


__all__ = ["EXTRACTOR_SETTINGS", "TABLE_SETTINGS", "TableWorkspace", "check_config", "features_config", "load_table",
           "train_from_features"]
