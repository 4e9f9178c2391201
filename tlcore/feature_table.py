"""The features table: one schema and one sidecar for every engine that writes features.

``tlcore featurize`` on one machine writes a single Parquet file; on Spark it writes a Parquet
folder of part files. Both hold the same columns with the same types (:data:`COLUMNS`) and
both have a sidecar, ``<table>.json``, that says how the features were made (backbone,
weights, layer, size, pooling, the feature key) and which files could not be used, so that a
head trained from the table (``tlcore train --features``) rebuilds exactly that extractor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TLCoreError

FORMAT = "transfer-studio-features"
VERSION = 1
SPLIT_ORDER = ("train", "val", "test")
# (name, arrow type name): float32 vectors for both engines (Spark's array<float>)
COLUMNS = (("path", "string"), ("label", "string"), ("label_index", "int32"), ("split", "string"),
           ("features", "list<float>"))
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


def arrow_schema():
    """The table's Arrow schema (nullable as Spark writes it)."""
    import pyarrow as pa

    types = {"string": pa.string(), "int32": pa.int32(), "list<float>": pa.list_(pa.float32())}
    return pa.schema([pa.field(name, types[kind]) for name, kind in COLUMNS])


def sidecar_path(table: str | Path) -> Path:
    """``features.parquet`` -> ``features.parquet.json`` (beside a file or a Spark folder)."""
    table = Path(table)
    return table.with_name(table.name.rstrip("/") + ".json")


@dataclass
class TableInfo:
    """What a table's sidecar says: how its features were made, and from which data."""

    engine: str
    backbone: str
    layer: str
    image_size: int
    weights: str
    pooling: str
    feature_key: str
    feature_dim: int
    classes: list[str]
    config: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    backbone_file: str | None = None
    spark: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TableInfo":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in names})

    def train_config(self):
        """The :class:`~tlcore.config.TrainConfig` that makes this table's extractor and splits."""
        from .config import TrainConfig

        config = TrainConfig.from_dict(dict(self.config))
        config.backbone, config.backbone_file, config.weights = self.backbone, self.backbone_file, self.weights
        config.layer, config.image_size, config.pooling = self.layer, int(self.image_size), self.pooling
        return config


def table_info(config, parts, dataset, *, feature_key: str, engine: str, counts: dict[str, int],
               skipped: list[dict[str, str]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sidecar of a table computed with ``config``'s extractor ``parts`` (cache key
    ``feature_key``: :func:`tlcore.features.model_key`) over ``dataset``."""
    from .export.share import session_secrets, shareable_config

    kept = {k: v for k, v in config.to_dict().items() if k != "features"}
    if session_secrets(config.data, config.backbone_file, config.weights):
        # a web session's folders are its secret: the table may be downloaded
        kept = shareable_config(kept)
    info = {"format": FORMAT, "version": VERSION, "engine": engine, "backbone": config.backbone,
            "backbone_file": config.backbone_file, "weights": config.weights, "layer": parts.layer,
            "image_size": int(parts.image_size), "pooling": config.pooling,
            "feature_key": feature_key,
            "feature_dim": int(np.prod(parts.feature_shape)), "classes": list(dataset.classes),
            "config": kept, "counts": dict(counts), "skipped": list(skipped)}
    if extra:
        info.update(extra)
    return info


def plan_rows(dataset) -> list[dict[str, Any]]:
    """Every usable image of ``dataset`` in the single-machine order (train, val, test; each
    split in its own order): path relative to the dataset, absolute path, label, split."""
    rows = []
    for split in SPLIT_ORDER:
        for sample in dataset.split(split):
            rows.append({"path": Path(sample.path).relative_to(dataset.root).as_posix(),
                         "abs_path": str(Path(sample.path).resolve()),
                         "label": dataset.classes[sample.label], "label_index": int(sample.label), "split": split})
    return rows


def skipped_rows(dataset) -> list[dict[str, str]]:
    """The files the loader left out (not clutter), with their reason."""
    return [{"path": s.path, "reason": s.reason} for s in dataset.report.skipped if not s.ignored]


def write_sidecar(table: str | Path, info: dict[str, Any]) -> Path:
    from .runfiles import write_json_atomic

    path = sidecar_path(table)
    write_json_atomic(path, info)
    return path


def write_local(rows: list[dict[str, Any]], path: str | Path, info: dict[str, Any]) -> Path:
    """Write ``rows`` (the :data:`COLUMNS`) as one Parquet file, atomically, and its sidecar."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {name: [row[name] for row in rows] for name in COLUMN_NAMES}
    columns["features"] = [np.asarray(v, dtype=np.float32) for v in columns["features"]]
    table = pa.Table.from_pydict(columns, schema=arrow_schema())
    tmp = path.with_name("." + path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    write_sidecar(path, info)
    return path


def _how_to_make(table: Path) -> str:
    return f"write it again with `tlcore featurize DATA --out {table}` (add `--engine spark` for Spark)."


def read_info(table: str | Path) -> TableInfo:
    """The sidecar of ``table``; a clear error when it is missing or not one of ours."""
    table = Path(table)
    side = sidecar_path(table)
    if not side.is_file():
        raise TLCoreError(f"The features table {table.name} has no sidecar file {side.name} saying how its "
                          "features were made.", "keep the .json file written next to the table, or " + _how_to_make(table))
    try:
        values = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise TLCoreError(f"The sidecar {side.name} could not be read ({exc}).", _how_to_make(table)) from None
    if not isinstance(values, dict) or values.get("format") != FORMAT:
        raise TLCoreError(f"{side.name} is not a Transfer Studio features sidecar.", _how_to_make(table))
    try:
        return TableInfo.from_dict(values)
    except TypeError as exc:
        raise TLCoreError(f"The sidecar {side.name} is incomplete ({exc}).", _how_to_make(table)) from None


def check_matches(info: TableInfo, *, backbone: str | None = None, layer: str | None = None,
                  table: str | Path = "the table") -> None:
    """Refuse a table made with another backbone or cut layer than the one asked for."""
    name = Path(table).name
    if backbone and backbone != info.backbone and not info.backbone_file:
        raise TLCoreError(f"The features in {name} were made with the {info.backbone} backbone, but you asked "
                          f"for {backbone}.", f"drop --backbone to train on {info.backbone}'s features, or "
                          f"featurize the data again with --backbone {backbone}.")
    if layer and layer != info.layer:
        raise TLCoreError(f"The features in {name} were cut at layer {info.layer}, but you asked for {layer}.",
                          f"drop --layer, or featurize the data again with --layer {layer}.")


def existing_table(path: str | Path | None) -> Path:
    """``path`` resolved, or a clear error when no table is there."""
    resolved = Path(path or "").expanduser().resolve()
    if not path or not resolved.exists():
        raise TLCoreError(f"There is no features table at {path}.",
                          "give the path `tlcore featurize DATA --out TABLE` wrote (a .parquet file or folder).")
    return resolved


def read_table(path: str | Path, *, expect_backbone: str | None = None, expect_layer: str | None = None):
    """``(frame, info)`` of a features table (a file or a Spark folder), rows in split order then
    path; checks the columns and, when given, the backbone and layer asked for."""
    import pyarrow.parquet as pq

    path = existing_table(path)
    info = read_info(path)
    check_matches(info, backbone=expect_backbone, layer=expect_layer, table=path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged or foreign file
        raise TLCoreError(f"{path.name} could not be read as Parquet ({exc}).", _how_to_make(path)) from None
    missing = [name for name in COLUMN_NAMES if name not in table.column_names]
    if missing:
        raise TLCoreError(f"The features table {path.name} lacks the column(s) {', '.join(missing)}; a features "
                          f"table has {', '.join(COLUMN_NAMES)}.", _how_to_make(path))
    frame = table.select(list(COLUMN_NAMES)).to_pandas()
    order = {split: i for i, split in enumerate(SPLIT_ORDER)}
    frame = frame.assign(_order=frame["split"].map(order)).sort_values(["_order", "path"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True), info


def features_matrix(frame) -> np.ndarray:
    """The ``features`` column as one float32 matrix ``(rows, dim)``."""
    if len(frame) == 0:
        return np.zeros((0, 0), np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in frame["features"]])
