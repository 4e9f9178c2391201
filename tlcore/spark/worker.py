"""What runs inside a Spark task: decode images with tlcore's loader, run the shipped model.

Every function here runs in a Python worker on an executor. A worker loads each model file
once (:data:`_MODELS`) and keeps it for every later task (Spark reuses its Python workers),
and caps TensorFlow's threads at the task's share of cores before TensorFlow first loads.
Nothing here needs internet or a ``KERAS_HOME``: the model comes as a file shipped with the
job, and images come as bytes from Spark's ``binaryFile`` source.
"""

from __future__ import annotations

import io
import os
import resource
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..images import ImageProblem, load_image

_MODELS: dict[str, Any] = {}  # model file -> loaded extractor, one per Python worker
# The columns featurize's tasks return: the table's own plus what the driver needs to know
# about the work (dropped before the table is written).
RESULT_SCHEMA = ("path string, label string, label_index int, split string, features array<float>, "
                 "_error string, _partition int, _worker string, _rss_mb double, _threads int")


def task_cpus() -> int:
    """Cores this task may use (``spark.task.cpus``; 1 outside a task)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return max(1, int(context.cpus())) if context is not None else 1


def limit_threads(cpus: int) -> None:
    """Give TensorFlow ``cpus`` threads, as Spark gave the task ``cpus`` cores: by default each
    worker would start one thread per core of the machine, and N tasks would run N x cores
    threads. Called before TensorFlow loads in this process; a setting already in
    the environment (``spark.executorEnv.TF_NUM_INTRAOP_THREADS``) is kept."""
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, str(cpus))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    import tensorflow as tf

    try:  # the same through the API, which also makes the setting visible (tf_threads)
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["TF_NUM_INTRAOP_THREADS"]))
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["TF_NUM_INTEROP_THREADS"]))
    except (RuntimeError, ValueError):  # TensorFlow already running in this process
        pass


def tf_threads() -> int:
    """TensorFlow's intra-op threads in this process (0: TensorFlow's default, one per core)."""
    if "tensorflow" not in sys.modules:
        return 0
    import tensorflow as tf

    return int(tf.config.threading.get_intra_op_parallelism_threads())


def shipped_file(name: str, fallback: str | None = None) -> str:
    """The local copy of a file shipped with the job (``addFile``/``addArtifacts``), else
    ``fallback`` (a path every node can read)."""
    from pyspark import SparkFiles

    try:
        local = SparkFiles.get(name)
    except Exception:  # no SparkFiles root outside a job
        local = None
    if local and os.path.isfile(local):
        return local
    if fallback and os.path.isfile(fallback):
        return fallback
    raise FileNotFoundError(f"the model file {name} was not shipped to this executor"
                            + (f" and {fallback} is not readable here" if fallback else ""))


def load_extractor(name: str, fallback: str | None = None):
    """The feature extractor in the shipped file ``name``, loaded once per Python worker."""
    model = _MODELS.get(name)
    if model is None:
        if "tensorflow" not in sys.modules:
            limit_threads(task_cpus())
        import keras

        model = keras.models.load_model(shipped_file(name, fallback), compile=False)
        _MODELS[name] = model
    return model


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux counts ru_maxrss in KiB, macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _decode(content: bytes | None, name: str, image_size: int) -> tuple[np.ndarray | None, str | None]:
    if content is None or len(content) == 0:
        return None, "empty file"
    buffer = io.BytesIO(content)
    buffer.name = name  # ImageProblem names the file
    try:
        return load_image(buffer, image_size), None
    except ImageProblem as err:
        return None, err.reason


def decode_batch(contents: Sequence[bytes | None], names: Sequence[str], image_size: int,
                 threads: int = 1) -> tuple[list[np.ndarray | None], list[str | None]]:
    """Decode with tlcore's loader (EXIF orientation, every mode, the model's resize):
    ``(pixels or None, reason or None)`` per image."""
    jobs = [(c, n, image_size) for c, n in zip(contents, names)]
    if threads > 1 and len(jobs) > 1:  # Pillow releases the GIL while it decodes
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pairs = list(pool.map(lambda job: _decode(*job), jobs))
    else:
        pairs = [_decode(*job) for job in jobs]
    return [p for p, _ in pairs], [r for _, r in pairs]


def predict(model, images: list[np.ndarray], batch_size: int) -> np.ndarray:
    """The model's float32 vectors of ``images``, in calls of exactly ``batch_size`` (the last
    padded), so the compiled function is traced once per worker, not once per batch length."""
    out = []
    for start in range(0, len(images), batch_size):
        chunk = np.stack(images[start:start + batch_size])
        n = len(chunk)
        if n < batch_size:
            chunk = np.concatenate([chunk, np.zeros((batch_size - n, *chunk.shape[1:]), chunk.dtype)])
        out.append(np.asarray(model.predict_on_batch(chunk), dtype=np.float32)[:n])
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def features_of(model, contents, names, image_size: int, batch_size: int, threads: int = 1):
    """``(vectors, reasons)``: a float32 vector, or None and the reason the image could not be used."""
    pixels, reasons = decode_batch(list(contents), list(names), image_size, threads)
    good = [i for i, p in enumerate(pixels) if p is not None]
    vectors: list[np.ndarray | None] = [None] * len(pixels)
    if good:
        for i, vector in zip(good, predict(model, [pixels[i] for i in good], batch_size)):
            vectors[i] = vector.reshape(-1)
    return vectors, reasons


def featurize_partition(batches: Iterable, *, model_name: str, model_fallback: str | None, image_size: int,
                        batch_size: int) -> Iterator:
    """``mapInPandas`` body: rows of (content, path, label, label_index, split) in Arrow
    batches -> the table's rows plus :data:`RESULT_SCHEMA`'s bookkeeping columns. An image
    that does not decode becomes a row with ``_error`` set, never a missing row."""
    import pandas as pd
    from pyspark import TaskContext

    context = TaskContext.get()
    partition = context.partitionId() if context is not None else 0
    worker = f"{socket.gethostname()}:{os.getpid()}"
    threads = task_cpus()
    for frame in batches:
        if len(frame) == 0:
            continue
        model = load_extractor(model_name, model_fallback)
        vectors, reasons = features_of(model, frame["content"], frame["path"], image_size, batch_size, threads)
        yield pd.DataFrame({
            "path": frame["path"].to_numpy(), "label": frame["label"].to_numpy(),
            "label_index": frame["label_index"].to_numpy(dtype=np.int32), "split": frame["split"].to_numpy(),
            "features": vectors, "_error": reasons, "_partition": np.int32(partition), "_worker": worker,
            "_rss_mb": peak_rss_mb(), "_threads": np.int32(tf_threads())})


def column_batches(contents: Iterator, *, model_name: str, model_fallback: str | None, image_size: int,
                   batch_size: int) -> Iterator:
    """Scalar-iterator UDF body: a Series of image bytes -> a Series of vectors (None where an
    image does not decode)."""
    import pandas as pd

    threads = task_cpus()
    model = None
    for series in contents:
        vectors: list = []
        for start in range(0, len(series), batch_size):  # bounded memory whatever Arrow's batch size
            part = series.iloc[start:start + batch_size]
            model = model or load_extractor(model_name, model_fallback)
            found, _ = features_of(model, part, [f"row {start + i}" for i in range(len(part))], image_size,
                                   batch_size, threads)
            vectors.extend(found)
        yield pd.Series(vectors, dtype=object)
