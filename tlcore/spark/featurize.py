"""``tlcore featurize --engine spark``: the single-machine features table, computed on Spark.

The driver does what one machine does first: it reads and splits the dataset with the same
code and settings (so both engines agree row for row) and builds the cut backbone. It saves
that extractor as one ``.keras`` file and ships it with the job; the executors read the
images with Spark's ``binaryFile`` source, decode them with tlcore's loader and run the shipped
model (:mod:`tlcore.spark.worker`), so they never download weights. The driver writes the
table with Spark (a Parquet folder of :data:`tlcore.feature_table.COLUMNS`) and its sidecar.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from .. import events as ev
from ..config import TrainConfig
from ..errors import TLCoreError
from ..features import model_key
from . import session as sessions
from . import worker

_ARROW_BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"
_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?"  # file:, file://, dbfs:, hdfs://host ...
_GLOB = re.compile(r"([\[\]{}*?\\])")


def save_extractor(config: TrainConfig, path: str | Path | None = None, *, workspace=None,
                   num_classes: int = 2) -> Path:
    """Build ``config``'s cut backbone exactly as ``tlcore featurize`` does and save it as one
    ``.keras`` file (images of any size in, float32 vectors out), for :func:`feature_column`.

    Args:
        config: Backbone, weights, layer, image size and pooling of the extractor.
        path: Where to save it (default: the workspace's cache, named by the feature key and
            the file's digest, saved once per extractor).
        workspace: Whose cache (default: :func:`tlcore.workspace.default_workspace`).
        num_classes: Unused by the extractor (the head is not saved); kept for the builder.
    """
    file, _ = _build_extractor(config, num_classes, path, workspace)
    return file


def _build_extractor(config: TrainConfig, num_classes: int, path, workspace):
    from ..model import build_classifier
    from ..workspace import default_workspace

    parts = build_classifier(config, num_classes)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        parts.extractor.save(tmp)
        tmp.replace(path)
        return path, parts
    # Kept in the workspace's cache, not a temporary folder: Spark keeps a shipped file
    # registered for the session's life, and executors that join later fetch it then. The
    # feature key names the extractor; one file per key is saved once and reused.
    folder = (workspace or default_workspace()).cache_dir / "spark"
    key = model_key(config, parts.image_size, parts.layer)
    saved = sorted(folder.glob(f"extractor-{key}-*.keras"))
    if saved:
        return saved[0], parts
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".extractor-{key}.tmp.keras"
    parts.extractor.save(tmp)
    path = folder / f"extractor-{key}-{_digest(tmp)}.keras"
    tmp.replace(path)
    return path, parts


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:12]


def ship_file(spark, path: str | Path) -> str:
    """Send ``path`` with the session's jobs; executors find it by the returned name.

    The name carries the file's content digest: Spark refuses a second file of the same name
    with other content, and a worker keeps each model it loaded under its name.
    """
    path = Path(path)
    digest = _digest(path)
    if not path.stem.endswith(digest):
        named = Path(tempfile.gettempdir()) / "tlcore-spark-files" / f"{path.stem}-{digest}{path.suffix}"
        if not named.is_file():
            named.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, named.with_suffix(".tmp"))
            named.with_suffix(".tmp").replace(named)
        path = named
    if sessions.is_connect(spark):
        try:
            spark.addArtifacts(str(path), file=True)
        except Exception as err:  # the same file added again in this session
            if "exist" not in str(err).lower():
                raise
    else:
        spark.sparkContext.addFile(str(path))
    return path.name


def feature_column(model_path: str | Path, image_size: int, *, batch_size: int = 32, spark=None):
    """A column function for DataFrames of your own: image bytes in, ``array<float>`` out.

    ``fn = feature_column(save_extractor(config), 224)`` then
    ``df.withColumn("features", fn("content"))`` on, e.g., ``spark.read.format("binaryFile")``.
    A Scalar Iterator pandas UDF: each Python worker loads the model once and feeds it at most
    ``batch_size`` images at a time. An image that does not decode gives null.

    Args:
        model_path: A ``.keras`` extractor (:func:`save_extractor`); shipped with the jobs.
        image_size: The size the images are resized to (the extractor's ``image_size``).
        batch_size: Images per model call.
        spark: The session to ship the model with (default: the active one).
    """
    sessions.require_pyspark()
    from pyspark.sql.functions import pandas_udf

    spark = spark or sessions.active_session()
    if spark is None:
        raise TLCoreError("feature_column needs a Spark session to ship the model with.",
                          "start one first (tlcore.spark.spark_session()) or pass spark=.")
    path = Path(model_path).expanduser().resolve()
    if not path.is_file():
        raise TLCoreError(f"There is no model file {path}.", "give the file tlcore.spark.save_extractor wrote.")
    body = functools.partial(worker.column_batches, model_name=ship_file(spark, path), model_fallback=str(path),
                             image_size=int(image_size), batch_size=int(batch_size))

    def features(contents: Iterator[pd.Series]) -> Iterator[pd.Series]:
        return body(contents)

    return pandas_udf(features, "array<float>")


def _check_out(out: Path, root: Path) -> None:
    """Refuse an ``out`` whose overwrite would delete something else (Spark replaces the whole path)."""
    if out == root or root in out.parents or out in root.parents:
        raise TLCoreError(f"--out {out} is inside (or holds) the dataset {root}.",
                          "write the table somewhere else, e.g. next to the dataset folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / "_SUCCESS").exists() \
            and not any(out.glob("part-*.parquet")):
        raise TLCoreError(f"{out} is a folder that is not a features table; Spark would replace it.",
                          "choose a new path for --out, or remove that folder yourself.")


def _partitions(spark, partitions: int | None, n_images: int) -> int:
    if partitions is not None and (isinstance(partitions, bool) or int(partitions) < 1):
        raise TLCoreError(f"--partitions is {partitions!r}.", "use a whole number of at least 1.")
    if partitions:
        return int(partitions)
    if sessions.is_connect(spark):
        default = int(spark.conf.get("spark.default.parallelism", "2") or 2)
    else:
        default = spark.sparkContext.defaultParallelism
    return max(1, min(max(2, default), n_images))  # every task slot busy, no empty tasks


def _images_frame(spark, plan: list[dict[str, Any]]):
    """The plan's images as (content, path, label, label_index, split): ``binaryFile`` over the
    folder that holds them all, matched to the driver's plan by absolute path."""
    import os

    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    root = os.path.commonpath([row["abs_path"] for row in plan])
    root = root if os.path.isdir(root) else os.path.dirname(root)
    files = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
             .load(_GLOB.sub(r"\\\1", Path(root).as_posix()))  # a literal folder, not a pattern
             .select(F.regexp_replace("path", _SCHEME, "").alias("_key"), "content"))
    schema = StructType([StructField("_key", StringType()), StructField("path", StringType()),
                         StructField("label", StringType()), StructField("label_index", IntegerType()),
                         StructField("split", StringType())])
    wanted = spark.createDataFrame([(Path(r["abs_path"]).as_posix(), r["path"], r["label"], int(r["label_index"]),
                                     r["split"]) for r in plan], schema)
    # The plan is a few short strings per image: broadcast it, so image bytes are not shuffled to meet it.
    return files.join(F.broadcast(wanted), "_key").drop("_key")


def _missing_reason(path: str) -> str:
    if any(part[:1] in ("_", ".") for part in path.split("/")):
        return "not read by Spark, whose file reader leaves out names starting with '_' or '.'; rename it"
    return "not found by the Spark executors; the data must be readable under the same path on every node"


@contextlib.contextmanager
def _progress(spark, emit: Callable[[dict], None], n_images: int, every_s: float = 1.0):
    """Report the tasks done of this thread's Spark jobs as ``features`` batch events."""
    if sessions.is_connect(spark):  # no status tracker over Spark Connect
        yield
        return
    context, group = spark.sparkContext, f"tlcore-featurize-{time.time_ns()}"
    context.setJobGroup(group, f"Transfer Studio: features of {n_images} images")
    stop = threading.Event()

    def watch():
        tracker, last = context.statusTracker(), None
        while not stop.wait(every_s):
            stages = [tracker.getStageInfo(s) for job in tracker.getJobIdsForGroup(group)
                      for s in (tracker.getJobInfo(job).stageIds if tracker.getJobInfo(job) else [])]
            stages = [s for s in stages if s is not None]
            done, total = sum(s.numCompletedTasks for s in stages), sum(s.numTasks for s in stages)
            if total and (done, total) != last:
                last = (done, total)
                emit(ev.batch_event(ev.STAGE_FEATURES, done, total, message="Computing features on Spark (tasks)"))

    thread = threading.Thread(target=watch, name="tlcore-spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        context.setLocalProperty("spark.jobGroup.id", None)


def _work_report(results, plan: list[dict[str, Any]], master: str, partitions: int):
    """From the tasks' bookkeeping columns: the rows written per split, the images the
    executors could not use, and the sidecar's ``spark`` dict (partitions, workers, memory)."""
    from pyspark.sql import functions as F

    failed = F.col("_error").isNotNull()
    summary = (results.groupBy("_partition", "_worker", "_threads", "split", failed.alias("_failed"))
               .agg(F.count(F.lit(1)).alias("n"), F.max("_rss_mb").alias("rss")).collect())
    counts: dict[str, int] = {}
    per_partition: dict[int, int] = {}
    workers: dict[str, dict[str, Any]] = {}
    for row in summary:
        if not row["_failed"]:
            counts[row["split"]] = counts.get(row["split"], 0) + row["n"]
        per_partition[row["_partition"]] = per_partition.get(row["_partition"], 0) + row["n"]
        seen = workers.setdefault(row["_worker"], {"worker": row["_worker"], "images": 0, "peak_rss_mb": 0.0,
                                                   "tf_threads": row["_threads"]})
        seen["images"] += row["n"]
        seen["peak_rss_mb"] = round(max(seen["peak_rss_mb"], float(row["rss"] or 0.0)), 1)
    skipped = []
    if any(row["_failed"] for row in summary):
        skipped = [{"path": r["path"], "reason": r["_error"]}
                   for r in results.filter(failed).select("path", "_error").orderBy("path").collect()]
    if sum(per_partition.values()) < len(plan):  # images Spark never read
        done = {r["path"] for r in results.select("path").collect()}
        skipped += [{"path": r["path"], "reason": _missing_reason(r["path"])} for r in plan if r["path"] not in done]
    stats = {"master": master, "partitions": partitions, "workers": len(workers),
             "images_per_partition": [per_partition.get(i, 0) for i in range(partitions)],
             "worker_stats": sorted(workers.values(), key=lambda w: w["worker"])}
    return {split: counts[split] for split in ("train", "val", "test") if split in counts}, skipped, stats


def featurize_spark(config: TrainConfig, out: str | Path, *, spark=None, master: str = "local[2]",
                    partitions: int | None = None, workspace=None,
                    on_event: Callable[[dict], None] | None = None) -> Path:
    """Write the features table of ``config``'s dataset with Spark: the same rows, splits and
    columns as :func:`tlcore.features.featurize`, as a Parquet folder, plus its sidecar.

    Args:
        config: The dataset, its split settings and the extractor (backbone, weights, layer,
            image size, pooling); ``batch_size`` bounds the images per Arrow batch and model call.
        out: The table's folder (replaced if it is an earlier table); ``<out>.json`` beside it.
        spark: A session to use (default: the active one, else a new one on ``master``, stopped at the end).
        master: Where a new session runs (:data:`tlcore.spark.session.MASTER_FORMS`).
        partitions: Tasks the images are split into (default: the cluster's cores, at least 2).
        workspace: Where a zipped dataset is extracted and the model file is kept.
        on_event: Called with progress events (:mod:`tlcore.events`).

    Returns:
        The table's path.
    """
    from .. import feature_table as table
    from ..data import load_dataset
    from ..workspace import default_workspace

    emit = on_event or (lambda event: None)
    config.validate()
    sessions.require_pyspark()
    spark = spark or sessions.active_session()  # e.g. a Databricks notebook's `spark`
    own_session = spark is None
    if own_session:
        sessions.check_spark(master)  # before minutes of work on the driver
    workspace = workspace or default_workspace()
    emit(ev.stage_event(ev.STAGE_DATA, "Reading and splitting the dataset on the driver"))
    dataset = load_dataset(config.data, val_fraction=config.val_fraction, seed=config.seed, workspace=workspace,
                           group_by=config.group_by, edits=config.edits)
    plan = table.plan_rows(dataset)
    out = Path(out).expanduser().resolve()
    _check_out(out, Path(dataset.root).resolve())
    emit(ev.stage_event(ev.STAGE_MODEL, "Building the cut backbone to ship to the executors"))
    model_file, parts = _build_extractor(config, len(dataset.classes), None, workspace)
    if own_session:
        emit(ev.stage_event(ev.STAGE_FEATURES, f"Starting Spark on {master}"))
        spark = sessions.spark_session(master, conf={_ARROW_BATCH: config.batch_size})
    try:
        return _run(spark, config, dataset, plan, parts, model_file, out, partitions, emit)
    finally:
        if own_session:
            spark.stop()


def _run(spark, config, dataset, plan, parts, model_file, out: Path, partitions, emit) -> Path:
    from .. import feature_table as table

    master = spark.conf.get("spark.master", "") if not sessions.is_connect(spark) else "Spark Connect"
    n = _partitions(spark, partitions, len(plan))
    body = functools.partial(worker.featurize_partition, model_name=ship_file(spark, model_file),
                             model_fallback=str(model_file), image_size=int(parts.image_size),
                             batch_size=int(config.batch_size))
    previous = spark.conf.get(_ARROW_BATCH, None)
    spark.conf.set(_ARROW_BATCH, str(config.batch_size))  # images per Arrow batch: bounded task memory
    table.sidecar_path(out).unlink(missing_ok=True)  # never an old sidecar beside a new table
    emit(ev.stage_event(ev.STAGE_FEATURES, f"Computing features of {len(plan)} images in {n} Spark tasks"))
    start = time.perf_counter()
    results = _images_frame(spark, plan).repartition(n).mapInPandas(body, worker.RESULT_SCHEMA)
    results = results.persist()  # computed once: the table and the work report both read it
    try:
        with _progress(spark, emit, len(plan)):
            (results.filter(results["_error"].isNull()).select(*table.COLUMN_NAMES)
             .write.mode("overwrite").parquet(str(out)))
            counts, failed, stats = _work_report(results, plan, master, n)
    finally:
        results.unpersist()
        if previous is not None:
            spark.conf.set(_ARROW_BATCH, previous)
        else:
            spark.conf.unset(_ARROW_BATCH)
    seconds = time.perf_counter() - start
    stats.update(seconds=round(seconds, 2), images_per_s=round(len(plan) / seconds, 1) if seconds else None,
                 batch_size=int(config.batch_size), model_file=Path(model_file).name)
    info = table.table_info(config, parts, dataset, feature_key=model_key(config, parts.image_size, parts.layer),
                            engine="spark", counts=counts,
                            skipped=table.skipped_rows(dataset) + failed, extra={"spark": stats})
    table.write_sidecar(out, info)
    emit(ev.stage_event(ev.STAGE_FEATURES, f"Features of {sum(counts.values())} images written in {seconds:.1f} s "
                        f"({len(plan) / max(seconds, 1e-9):.1f} img/s) by {stats['workers']} Spark worker(s)"))
    return out


__all__ = ["feature_column", "featurize_spark", "save_extractor", "ship_file"]
