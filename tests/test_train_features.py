"""``tlcore train --features``: a head trained on a features table, saved as the full model (issue 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import tlcore.features
from tlcore import cli
from tlcore.config import TrainConfig, load_config
from tlcore.errors import TLCoreError
from tlcore.feature_table import sidecar_path
from tlcore.features import featurize
from tlcore.predict import load_predictor
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.train.from_features import features_config, train_from_features
from tlcore.workspace import Workspace

TRAINING = {"epochs": 3, "batch_size": 8}  # what the table does not say: the same for both runs


def _no_featurizing(*args, **kwargs):
    raise AssertionError("a picture was featurized although the table holds its features")


@pytest.fixture(scope="module")
def made(tiny_dataset, random_weights, tmp_path_factory):
    """One table written on one machine, a run trained on the pictures, and one trained on the table."""
    root = tmp_path_factory.mktemp("train_features")
    config = TrainConfig(data=str(tiny_dataset), weights=random_weights, layer="block_2_add", image_size=32,
                         **TRAINING)
    table = featurize(config, root / "features.parquet", workspace=Workspace(root / "ws_table"))
    normal = train(config, root / "normal", workspace=Workspace(root / "ws_normal"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tlcore.features, "extract", _no_featurizing)
        result = train_from_features(table, root / "from_table", overrides=dict(TRAINING),
                                     workspace=Workspace(root / "ws_run"))
    return {"root": root, "config": config, "table": table, "normal": normal, "result": result,
            "run": RunFolder(root / "from_table"), "data": tiny_dataset}


def _images(data: Path) -> list[str]:
    return sorted(str(p) for p in data.rglob("*.png"))


def test_a_run_from_a_table_is_an_ordinary_finished_run(made):
    result, run = made["result"], made["run"]
    assert result.status == "finished"
    assert result.feature_cache_misses == 0 and result.feature_cache_hits > 0  # every vector came from the table
    for path in (run.config_path, run.events_path, run.model_path, run.evaluation_path, run.labels_path,
                 run.trust_path, run.data_report_path):
        assert path.is_file(), path.name
    evaluation = run.evaluation()
    assert {"accuracy", "confusion_matrix", "calibration"} <= set(evaluation)
    assert evaluation["classes"] == ["blue_checks", "green_columns", "red_stripes"]
    assert len([e for e in run.events() if e["type"] == "epoch"]) == TRAINING["epochs"]
    config = run.config()
    assert config.features == str(made["table"])
    assert (config.layer, config.image_size, config.weights, config.data) == (
        "block_2_add", 32, made["config"].weights, str(made["data"]))
    (source,) = [e for e in run.events() if e.get("features_table")]
    assert source["engine"] == "local" and source["vectors"] == 36 and "made on one machine" in source["message"]


def test_its_model_takes_pictures_and_answers_as_the_run_trained_on_them(made):
    """The same features give the same head: both saved models agree on the original files."""
    paths = _images(made["data"])
    from_table = load_predictor(made["run"].path).predict_proba(paths)
    normal = load_predictor(made["normal"].run_dir).predict_proba(paths)
    assert from_table.shape == (36, 3)
    np.testing.assert_allclose(from_table, normal, atol=1e-4)
    assert made["result"].evaluation["accuracy"] == pytest.approx(made["normal"].evaluation["accuracy"])


def test_a_spark_style_folder_of_parts_trains_the_same_model(made, tmp_path):
    """A Parquet folder of part files (as Spark writes it) is read like the single file."""
    parts = tmp_path / "spark.parquet"
    parts.mkdir()
    rows = pq.read_table(made["table"])
    pq.write_table(rows.slice(0, 20), parts / "part-00000.parquet")
    pq.write_table(rows.slice(20), parts / "part-00001.parquet")
    (parts / "_SUCCESS").write_text("")
    info = json.loads(sidecar_path(made["table"]).read_text())
    sidecar_path(parts).write_text(json.dumps({**info, "engine": "spark", "spark": {"partitions": 2}}))
    run_dir = tmp_path / "run"
    result = train_from_features(parts, run_dir, overrides=dict(TRAINING), workspace=Workspace(tmp_path / "ws"))
    assert result.status == "finished" and result.feature_cache_misses == 0
    (source,) = [e for e in RunFolder(run_dir).events() if e.get("features_table")]
    assert source["engine"] == "spark" and "made on Spark" in source["message"]
    paths = _images(made["data"])
    np.testing.assert_allclose(load_predictor(run_dir).predict_proba(paths),
                               load_predictor(made["run"].path).predict_proba(paths), atol=1e-4)


def test_a_sample_of_prototypes_comes_from_the_table_too(made, tmp_path, monkeypatch):
    """Large sets keep a sample of the training pictures as "I don't know" prototypes: its
    vectors are in the cache as well, so nothing is featurized for them either."""
    import tlcore.train.trust_stage as trust_stage

    monkeypatch.setattr(trust_stage, "prototype_indices", lambda y, seed: np.arange(0, len(y), 2))
    monkeypatch.setattr(tlcore.features, "extract", _no_featurizing)
    result = train_from_features(made["table"], tmp_path / "run", overrides=dict(TRAINING),
                                 workspace=Workspace(tmp_path / "ws"))
    assert result.status == "finished" and result.feature_cache_misses == 0
    assert len(RunFolder(tmp_path / "run").prototypes()) == 15  # every other of the 30 training pictures


def test_the_command_line_trains_from_a_table_and_replays_the_run(made, tmp_path, capsys):
    runs, ws = tmp_path / "runs", str(tmp_path / "ws")
    assert cli.main(["train", "--features", str(made["table"]), "--epochs", "2", "--batch-size", "8",
                     "--out", str(runs), "--workspace", ws]) == 0
    printed = capsys.readouterr().out
    assert f"from the features in {made['table']}" in printed and "Validation accuracy" in printed
    (run_dir,) = runs.iterdir()
    run = RunFolder(run_dir)
    assert run.status().status == "finished" and run.model_path.is_file()
    config = load_config(run.config_path)
    assert (config.features, config.epochs, config.layer) == (str(made["table"]), 2, "block_2_add")
    assert config.data_name == made["data"].name

    assert cli.main(["train", "--config", str(run.config_path), "--out", str(tmp_path / "again"),
                     "--workspace", ws]) == 0  # config.json alone says how to repeat it
    (again,) = (tmp_path / "again").iterdir()
    assert RunFolder(again).config().features == str(made["table"])
    assert [e for e in RunFolder(again).events() if e.get("features_table")]


def test_the_pictures_may_have_moved(made, tmp_path, capsys):
    """DATA says where the table's pictures are now; the table is checked against them."""
    moved = tmp_path / "moved"
    shutil.copytree(made["data"], moved)
    config = features_config(made["table"], {"data": str(moved)})
    assert config.data == str(moved) and config.backbone == "MobileNetV2"

    shutil.rmtree(moved)
    assert cli.main(["train", "--features", str(made["table"]), str(moved), "--out", str(tmp_path / "runs"),
                     "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert "are not on this machine" in err and str(moved) in err


@pytest.mark.parametrize("overrides,message", [
    ({"backbone": "ResNet50"}, "made with the MobileNetV2 backbone, but you asked for ResNet50"),
    ({"layer": "block_1_project_BN"}, "cut at layer block_2_add"),
    ({"image_size": 64}, "made with image_size 32"),
    ({"pooling": "max"}, "made with pooling avg"),
    ({"mode": "fine-tune"}, "Fine-tuning changes the backbone"),
    ({"augment": True}, "Augmentation needs new copies"),
    ({"feature_cache": False}, "--no-feature-cache"),
    ({"weights": "none"}, "no pretrained weights"),
    ({"epochs_typo": 3}, "Unknown setting"),
])
def test_settings_a_table_cannot_serve_are_refused(made, overrides, message):
    with pytest.raises(TLCoreError, match=message):
        features_config(made["table"], overrides)


def test_another_backbone_on_the_command_line_is_refused_before_any_run(made, tmp_path, capsys):
    assert cli.main(["train", "--features", str(made["table"]), "--backbone", "ResNet50", "--out",
                     str(tmp_path / "runs"), "--workspace", str(tmp_path / "ws")]) == 2
    assert "made with the MobileNetV2 backbone, but you asked for ResNet50" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_another_weights_file_is_another_extractor(made, tmp_path):
    other = tmp_path / "other.weights.h5"
    other.write_bytes(Path(made["config"].weights).read_bytes() + b"\0")
    with pytest.raises(TLCoreError, match="another feature extractor"):
        features_config(made["table"], {"weights": str(other)})
    with pytest.raises(TLCoreError, match="is not on this machine"):
        features_config(made["table"], {"weights": str(tmp_path / "gone.h5")})


def _copy(made, tmp_path, name: str, rows=None) -> Path:
    out = tmp_path / name
    pq.write_table(rows if rows is not None else pq.read_table(made["table"]), out)
    shutil.copy(sidecar_path(made["table"]), sidecar_path(out))
    return out


def test_a_damaged_table_is_named_and_nothing_is_trained(made, tmp_path):
    narrow = _copy(made, tmp_path, "narrow.parquet", pq.read_table(made["table"]).drop_columns(["features"]))
    with pytest.raises(TLCoreError, match=r"lacks the column\(s\) features"):
        train_from_features(narrow, tmp_path / "run", overrides=dict(TRAINING), workspace=Workspace(tmp_path / "ws"))
    assert not RunFolder(tmp_path / "run").model_path.exists()

    lonely = tmp_path / "lonely.parquet"
    shutil.copy(made["table"], lonely)
    with pytest.raises(TLCoreError, match="has no sidecar"):
        features_config(lonely)
    with pytest.raises(TLCoreError, match="no features table"):
        features_config(tmp_path / "nothing.parquet")


def test_a_table_of_other_pictures_or_another_split_is_refused(made, tmp_path):
    ws = Workspace(tmp_path / "ws")
    rows = pq.read_table(made["table"])
    paths = rows.column("path").to_pylist()
    renamed = _copy(made, tmp_path, "renamed.parquet",
                    rows.set_column(0, "path", [[p.replace("_00.png", "_99.png") for p in paths]]))
    with pytest.raises(TLCoreError, match="3 of this dataset's pictures are not in it .*red_stripes_00.png"):
        train_from_features(renamed, overrides=dict(TRAINING), workspace=ws)
    with pytest.raises(TLCoreError, match="pictures are in another split"):
        train_from_features(made["table"], overrides={**TRAINING, "seed": 7}, workspace=ws)

    fewer = tmp_path / "fewer"
    shutil.copytree(made["data"], fewer)
    (fewer / "red_stripes" / "red_stripes_03.png").unlink()
    with pytest.raises(TLCoreError, match="made from other pictures or another split"):
        train_from_features(made["table"], overrides={**TRAINING, "data": str(fewer)}, workspace=ws)


def test_the_runs_page_lists_the_run_with_its_table(made, tmp_path, monkeypatch):
    from test_pages import ROOT, SESSION, assert_clean, new_app

    runs = tmp_path / "ws" / "sessions" / SESSION / "runs"
    runs.mkdir(parents=True)
    shutil.copytree(made["run"].path, runs / "20250101-120000-mobilenetv2-fe")
    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("TLCORE_DATA_ROOTS", str(made["data"].parent))
    monkeypatch.chdir(ROOT)
    at = new_app().run()
    at.switch_page("pages/6_runs.py").run()
    assert_clean(at)
    table = at.dataframe(key="runs_table").value
    assert list(table["run"]) == ["20250101-120000-mobilenetv2-fe"] and list(table["status"]) == ["Finished"]
    settings = next(d.value for d in at.dataframe if "weights" in d.value.columns)
    assert list(settings["features"]) == ["features.parquet (local)"]
