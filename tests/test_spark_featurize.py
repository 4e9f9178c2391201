"""Featurize on Spark (issue 14): local[2] writes the single-machine table, from a shipped model.

One small ``local[2]`` session serves the module. Its executors get an empty ``KERAS_HOME``
and a dead proxy, while the driver (this process) has the real MobileNetV2 ImageNet weights
(conftest's private copy of ../shared/keras_home): features equal to one machine's can only
come from the model file the driver shipped.
"""

from __future__ import annotations

import dataclasses

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.feature_table import COLUMN_NAMES, arrow_schema, features_matrix, read_info, read_table
from tlcore.features import featurize
from tlcore.workspace import Workspace

pytestmark = pytest.mark.spark
real_weights = pytest.mark.real_data  # the driver builds MobileNetV2 from ../shared/keras_home

DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers there
CLASSES = ("cats", "dogs")
# (Pillow mode, format) of each class's images: every colour mode the loader converts
KINDS = (("RGB", "PNG"), ("L", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("RGB", "JPEG"), ("L", "JPEG"))


def _needs_spark() -> None:
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install -e '.[spark]'")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("no Java runtime: sudo apt-get install default-jre-headless")


def _write_mixed_dataset(root: Path) -> Path:
    """Two classes of odd-sized pictures in every mode, PNG and JPEG, one JPEG whose EXIF
    says "rotate 90°", and one corrupt file."""
    rng = np.random.default_rng(14)
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i, (mode, fmt) in enumerate(KINDS * 2):
            height, width = (int(v) for v in rng.integers(24, 150, size=2))
            pixels = rng.normal(90, 40, size=(height, width, 3))
            pixels[..., label * 2] += 90  # red cats, blue dogs
            image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert(mode)
            image.save(root / name / f"{name}_{i:02d}_{mode}.{fmt.lower().replace('jpeg', 'jpg')}", fmt)
    tall = np.zeros((90, 40, 3), np.uint8)
    tall[:30] = (250, 30, 30)  # a red top: the rotation moves it to the right side
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    Image.fromarray(tall).save(root / "cats" / "rotated.jpg", "JPEG", exif=exif.tobytes())
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))  # a JPEG header, then nothing
    return root


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """local[2], small and quiet; executors without weights or internet."""
    _needs_spark()
    from tlcore.spark import spark_session

    empty_home = tmp_path_factory.mktemp("executor_keras_home")
    conf = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", "spark.driver.memory": "1g",
            "spark.executorEnv.KERAS_HOME": str(empty_home)}
    conf.update({f"spark.executorEnv.{name}": DEAD_PROXY
                 for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")})
    session = spark_session("local[2]", app_name="tlcore-tests", conf=conf)
    session.empty_keras_home = empty_home
    yield session
    session.stop()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, real_keras_home):
    """The dataset, its config (real ImageNet MobileNetV2 at 96 px) and a workspace."""
    root = tmp_path_factory.mktemp("spark_featurize")
    data = _write_mixed_dataset(root / "data")
    config = TrainConfig(data=str(data), image_size=96, batch_size=8, val_fraction=0.25, seed=3)
    return config, Workspace(root / "ws"), root


@pytest.fixture(scope="module")
def tables(spark, mixed):
    """The same dataset featurized on one machine and on Spark."""
    from tlcore.spark import featurize_spark

    config, ws, root = mixed
    events = []
    local = featurize(config, root / "local.parquet", workspace=ws)
    spark_out = featurize_spark(config, root / "spark.parquet", spark=spark, workspace=ws, on_event=events.append)
    return local, spark_out, events


def _same_features(a, b, atol: float = 1e-4) -> bool:
    """The comparison both engines must pass (and a different cut layer must fail)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=atol))


@real_weights
def test_spark_writes_the_single_machine_table(tables):
    local, spark_out, events = tables
    assert spark_out.is_dir() and list(spark_out.glob("part-*.parquet"))
    frame_local, info_local = read_table(local)
    frame_spark, info_spark = read_table(spark_out)
    assert len(frame_spark) == len(frame_local) == 2 * len(KINDS) * 2 + 1
    for column in ("path", "label", "label_index", "split"):
        assert frame_spark[column].tolist() == frame_local[column].tolist(), column
    assert set(frame_spark["split"]) == {"train", "val"}
    assert "cats/rotated.jpg" in set(frame_spark["path"])
    matrix_spark, matrix_local = features_matrix(frame_spark), features_matrix(frame_local)
    assert matrix_spark.shape == (len(frame_local), 1280) and np.abs(matrix_spark).sum() > 0
    assert _same_features(matrix_spark, matrix_local), np.abs(matrix_spark - matrix_local).max()
    assert pq.read_table(spark_out).schema.remove_metadata().equals(pq.read_schema(local).remove_metadata())
    assert pq.read_schema(local).remove_metadata().equals(arrow_schema())
    assert list(pq.read_table(spark_out).column_names) == list(COLUMN_NAMES)
    for info in (info_local, info_spark):
        assert [item["path"] for item in info.skipped] == ["dogs/broken.jpg"] and info.skipped[0]["reason"]
    assert info_spark.engine == "spark" and info_local.engine == "local"
    for key in ("feature_key", "layer", "image_size", "weights", "backbone", "classes", "counts", "config"):
        assert getattr(info_spark, key) == getattr(info_local, key), key
    assert any(e.get("stage") == "features" for e in events)


@real_weights
def test_a_head_trained_from_spark_features_is_the_one_machine_model(tables, mixed):
    """``train --features`` on the Spark table gives the model a one-machine run gives
    (same settings, same seed), and that model takes the original images."""
    import keras

    from tlcore.train import train
    from tlcore.predict import load_predictor
    from tlcore.train.from_features import train_from_features

    config, ws, root = mixed
    local, spark_out, _ = tables
    settings = {"epochs": 3, "batch_size": 8}
    from_spark = train_from_features(spark_out, root / "runs" / "from_spark", overrides=settings, workspace=ws)
    one_machine = dataclasses.replace(config, **settings)
    train(one_machine, root / "runs" / "one_machine", workspace=ws)
    assert from_spark.status == "finished" and from_spark.feature_cache_misses == 0
    frame, _ = read_table(local)
    images = [str(Path(config.data) / p) for p in frame["path"]]
    keras.utils.clear_session()
    a = load_predictor(root / "runs" / "from_spark").predict_proba(images)
    b = load_predictor(root / "runs" / "one_machine").predict_proba(images)
    np.testing.assert_allclose(a, b, atol=2e-3)


@real_weights
def test_work_ran_in_several_partitions_and_workers(tables):
    stats = read_info(tables[1]).spark
    assert stats["partitions"] >= 2 and stats["master"] == "local[2]"
    assert sum(1 for n in stats["images_per_partition"] if n) > 1, stats
    assert sum(stats["images_per_partition"]) == 2 * len(KINDS) * 2 + 1
    assert stats["workers"] >= 1 and all(w["peak_rss_mb"] > 50 for w in stats["worker_stats"])
    # spark.task.cpus is 1: each worker's TensorFlow was given one thread, not one per core
    assert {w["tf_threads"] for w in stats["worker_stats"]} == {1}
    assert os.getpid() not in {int(w["worker"].rsplit(":", 1)[1]) for w in stats["worker_stats"]}


@real_weights
def test_executors_had_no_keras_home_and_no_internet(spark, tables):
    """The features above came from the shipped file: the workers could not have fetched weights."""
    seen = (spark.sparkContext.parallelize(range(4), 2)
            .map(lambda _: (os.getpid(), os.environ.get("KERAS_HOME"), os.environ.get("HTTPS_PROXY"),
                            os.environ.get("https_proxy"), os.environ.get("HTTP_PROXY")))
            .collect())
    assert {row[1:] for row in seen} == {(str(spark.empty_keras_home), DEAD_PROXY, DEAD_PROXY, DEAD_PROXY)}
    assert os.getpid() not in {row[0] for row in seen}
    assert os.environ["KERAS_HOME"] != str(spark.empty_keras_home)  # the driver has the weights
    assert not [p for p in spark.empty_keras_home.rglob("*") if p.suffix == ".h5"]  # nothing downloaded


@real_weights
def test_another_layer_fails_the_comparison(tables, mixed):
    """Negative control: a different cut point with the same width does not pass."""
    config, ws, root = mixed
    other = TrainConfig.from_dict({**config.to_dict(), "layer": "Conv_1_bn"})
    out = featurize(other, root / "other_layer.parquet", workspace=ws)
    matrix_other = features_matrix(read_table(out)[0])
    matrix_spark = features_matrix(read_table(tables[1])[0])
    assert matrix_other.shape == matrix_spark.shape
    assert not _same_features(matrix_spark, matrix_other)


@real_weights
def test_feature_column_on_your_own_dataframe(spark, tables, mixed):
    from tlcore.spark import feature_column, save_extractor

    config, ws, root = mixed
    model_file = save_extractor(config, root / "my_extractor.keras")
    features = feature_column(model_file, read_info(tables[1]).image_size, batch_size=4, spark=spark)
    images = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(config.data)
              .withColumn("features", features("content")).select("path", "features").collect())
    prefix = "file:" + Path(config.data).resolve().as_posix() + "/"
    found = {row["path"].removeprefix(prefix): row["features"] for row in images}
    assert found["dogs/broken.jpg"] is None  # undecodable: null, not a crash
    frame = read_table(tables[0])[0]
    mine = np.stack([np.asarray(found[p], np.float32) for p in frame["path"]])
    assert _same_features(mine, features_matrix(frame))


@real_weights
def test_images_the_executors_cannot_use_are_listed(spark, mixed, monkeypatch, tmp_path):
    """Broken after the driver checked it, or hidden from Spark's reader: a reason each, never dropped."""
    import tlcore.spark.featurize as spark_featurize

    config, ws, _ = mixed
    data = tmp_path / "data"
    shutil.copytree(config.data, data)
    (data / "cats" / "cats_00_RGB.png").rename(data / "cats" / "_cats_00_RGB.png")  # Spark skips "_" names
    build = spark_featurize._build_extractor

    def break_one_then_build(*args, **kwargs):  # runs after the driver's check, before the job
        (data / "dogs" / "dogs_03_P.png").write_bytes(b"\x89PNG\r\n\x1a\n gone bad")
        return build(*args, **kwargs)

    monkeypatch.setattr(spark_featurize, "_build_extractor", break_one_then_build)
    other = TrainConfig.from_dict({**config.to_dict(), "data": str(data)})
    out = spark_featurize.featurize_spark(other, tmp_path / "t.parquet", spark=spark, workspace=ws)
    frame, info = read_table(out)
    reasons = {item["path"]: item["reason"] for item in info.skipped}
    assert set(reasons) == {"dogs/broken.jpg", "dogs/dogs_03_P.png", "cats/_cats_00_RGB.png"}
    assert "corrupt" in reasons["dogs/dogs_03_P.png"] and "rename" in reasons["cats/_cats_00_RGB.png"]
    assert len(frame) == 2 * len(KINDS) * 2 + 1 - 2 == sum(info.counts.values())
    assert not set(reasons) & set(frame["path"])


def test_files_of_one_name_and_other_content_both_ship(spark, tmp_path):
    """Spark refuses a second file of the same name: shipped names carry the content digest."""
    from tlcore.spark.featurize import ship_file

    names = []
    for i in range(2):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "extractor.keras").write_bytes(b"model %d" % i)
        names.append(ship_file(spark, tmp_path / str(i) / "extractor.keras"))
    assert names[0] != names[1] and all(n.startswith("extractor-") for n in names)
    assert ship_file(spark, tmp_path / "0" / "extractor.keras") == names[0]


# ---- bad input: a clear message, quickly -------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_master_that_does_not_answer_fails_fast():
    _needs_spark()
    from tlcore.spark import spark_session

    port = _free_port()
    for master in (f"spark://127.0.0.1:{port}", f"sc://127.0.0.1:{port}"):
        start = time.monotonic()
        with pytest.raises(TLCoreError, match="does not answer") as err:
            spark_session(master)
        assert time.monotonic() - start < 10 and f"127.0.0.1:{port}" in str(err.value)


@pytest.mark.parametrize("master", ["spark//head:7077", "local[0]", "mesos://head:5050", "spark://", ""])
def test_a_bad_master_string_names_the_forms(master):
    from tlcore.spark.session import parse_master

    with pytest.raises(TLCoreError, match="spark://HOST:7077"):
        parse_master(master)


def test_master_forms_parse():
    from tlcore.spark.session import parse_master

    assert parse_master("local[*]").local and parse_master("local[4,2]").local
    assert parse_master("spark://a:7077,b").addresses == (("a", 7077), ("b", 7077))
    assert parse_master("sc://head/;token=x").addresses == (("head", 15002),)
    assert parse_master("k8s://https://api:6443").addresses == (("api", 6443),)


def test_no_java_says_what_to_install(monkeypatch, tmp_path):
    _needs_spark()
    from tlcore.spark import spark_session

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TLCoreError, match="default-jre-headless"):
        spark_session("local[1]")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(TLCoreError, match="JAVA_HOME"):
        spark_session("local[1]")


def test_without_pyspark_says_what_to_install(monkeypatch, tmp_path):
    from tlcore.spark import featurize_spark, spark_session

    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` now raises ImportError
    with pytest.raises(TLCoreError, match=r"pip install -e '\.\[spark\]'"):
        spark_session()
    with pytest.raises(TLCoreError, match="transfer-studio\\[spark\\]"):
        featurize_spark(TrainConfig(data=str(tmp_path)), tmp_path / "out.parquet")


def test_importing_tlcore_spark_does_not_import_pyspark():
    code = "import sys, tlcore, tlcore.spark; assert 'pyspark' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
