"""The features table every engine writes: one schema, a sidecar, clear refusals (issue 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.feature_table import (COLUMN_NAMES, arrow_schema, features_matrix, read_info, read_table,
                                  sidecar_path)
from tlcore.features import featurize, featurize_on
from tlcore.workspace import Workspace


@pytest.fixture(scope="module")
def table(tiny_dataset, random_weights, tmp_path_factory):
    root = tmp_path_factory.mktemp("table")
    data = root / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "red_stripes" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    config = TrainConfig(data=str(data), weights=random_weights, layer="block_2_add", image_size=32, batch_size=8)
    out = featurize(config, root / "features.parquet", workspace=Workspace(root / "ws"))
    return out, config, data


def test_one_file_with_the_shared_schema_and_a_sidecar(table):
    out, config, data = table
    assert out.is_file() and sidecar_path(out).name == "features.parquet.json"
    assert pq.read_schema(out).remove_metadata().equals(arrow_schema())
    frame, info = read_table(out)
    assert list(frame.columns) == list(COLUMN_NAMES)
    assert info.engine == "local" and info.layer == "block_2_add" and info.image_size == 32
    assert info.classes == ["blue_checks", "green_columns", "red_stripes"]
    assert sum(info.counts.values()) == len(frame) == 36
    assert set(frame["split"]) == {"train", "val"} and frame["path"].str.startswith("/").sum() == 0
    assert [row["path"] for row in info.skipped] == ["red_stripes/broken.png"] and info.skipped[0]["reason"]
    matrix = features_matrix(frame)
    assert matrix.dtype == np.float32 and matrix.shape == (36, info.feature_dim) and np.isfinite(matrix).all()
    assert (frame["label"] == [info.classes[i] for i in frame["label_index"]]).all()
    rebuilt = info.train_config()
    assert (rebuilt.layer, rebuilt.image_size, rebuilt.weights, rebuilt.data) == (
        "block_2_add", 32, config.weights, str(data))


def test_features_match_what_training_caches(table, tmp_path):
    """The table's vectors are the run's own cached features (same key), split by split."""
    out, config, _ = table
    frame, info = read_table(out)
    from tlcore.data import load_dataset
    from tlcore.features import FeatureCache, samples_key

    ws = Workspace(out.parent / "ws")
    dataset = load_dataset(config.data, val_fraction=config.val_fraction, seed=config.seed, workspace=ws)
    cache = FeatureCache(ws.cache_dir, info.feature_key)
    for split in ("train", "val"):
        hashes = [dataset.content_hash(s.path) for s in dataset.split(split)]
        cached = cache.load(samples_key(hashes, view=0, seed=config.seed))
        assert cached is not None
        rows = frame[frame["split"] == split]
        order = {p: i for i, p in enumerate(rows["path"])}
        paths = [Path(s.path).relative_to(dataset.root).as_posix() for s in dataset.split(split)]
        np.testing.assert_allclose(features_matrix(rows.iloc[[order[p] for p in paths]]), cached, atol=1e-6)


def test_refusals_say_what_is_wrong(table, tmp_path):
    out, _, _ = table
    with pytest.raises(TLCoreError, match="made with the MobileNetV2 backbone, but you asked for ResNet50"):
        read_table(out, expect_backbone="ResNet50")
    with pytest.raises(TLCoreError, match="cut at layer block_2_add"):
        read_table(out, expect_layer="out_relu")
    with pytest.raises(TLCoreError, match="no features table"):
        read_table(tmp_path / "nothing.parquet")

    lonely = tmp_path / "lonely.parquet"
    shutil.copy(out, lonely)
    with pytest.raises(TLCoreError, match="has no sidecar"):
        read_table(lonely)

    narrow = tmp_path / "narrow.parquet"
    pq.write_table(pq.read_table(out).drop_columns(["split", "label_index"]), narrow)
    sidecar_path(narrow).write_text(sidecar_path(out).read_text())
    with pytest.raises(TLCoreError, match="lacks the column\\(s\\) label_index, split"):
        read_table(narrow)

    foreign = tmp_path / "foreign.parquet"
    shutil.copy(out, foreign)
    sidecar_path(foreign).write_text(json.dumps({"hello": 1}))
    with pytest.raises(TLCoreError, match="not a Transfer Studio features sidecar"):
        read_info(foreign)
    with pytest.raises(TLCoreError, match="no featurize engine 'dask'"):
        featurize_on("dask", TrainConfig(), tmp_path / "x.parquet")


def test_a_web_sessions_folder_stays_out_of_the_sidecar(tiny_dataset, random_weights, tmp_path):
    code = "Secret0123456789abcdef"
    data = tmp_path / "sessions" / code / "datasets" / "tiny"
    shutil.copytree(tiny_dataset, data)
    config = TrainConfig(data=str(data), weights=random_weights, layer="block_1_project_BN", image_size=32)
    out = featurize(config, tmp_path / "f.parquet", workspace=Workspace(tmp_path / "ws"))
    assert code not in sidecar_path(out).read_text() and code.encode() not in out.read_bytes()


def test_the_command_line_names_what_it_left_out(table, tmp_path, capsys):
    from tlcore import cli

    _, config, data = table
    out = tmp_path / "cli.parquet"
    assert cli.main(["featurize", str(data), "--out", str(out), "--weights", config.weights, "--layer", "block_2_add",
                     "--image-size", "32", "--workspace", str(tmp_path / "ws")]) == 0
    printed = capsys.readouterr().out
    assert f"Features written to {out} (30 train, 6 val;" in printed
    assert "left out red_stripes/broken.png:" in printed
    frame, _ = read_table(out)
    assert len(frame) == 36
