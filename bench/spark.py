"""Issue 14: images/s of `featurize` on Spark local[2] vs on one machine, on the same images.

Generates ``--images`` pictures (default 300, ``--quick`` 160; 128-160 px, JPEG and PNG,
3 classes) and featurizes them with MobileNetV2 (ImageNet weights, 160 px, batch 32) both
ways, alternating: ``tlcore.features.featurize`` in this process (TensorFlow on every core),
and ``tlcore.spark.featurize_spark`` on a ``local[2]`` session (2 Python workers, one core
and one model each). Both calls do the whole job: read and split the dataset, build the
model, compute, write the table (each round in a fresh workspace, so nothing is cached).

Reported separately: the session's start-up, Spark's first job (its workers start and load
TensorFlow and the model: a cost paid once per worker process) and the later, warm jobs; the
driver's share (checking and splitting the dataset, building the model); and the peak
memory of each Spark worker (its own getrusage, recorded in the table's sidecar) beside this
process's. bench/README.md turns the per-task rate into an estimate for N workers.

Usage: python bench/spark.py [--quick] [--images N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

IMAGE_SIZE = 160
BATCH = 32
CLASSES = ("circles", "stripes", "checks")


def generate(root: Path, n: int) -> None:
    """``n`` pictures of 128-160 px, a third of them PNG, the rest JPEG."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(14)
    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = i % len(CLASSES)
        height, width = (int(v) for v in rng.integers(128, 161, size=2))
        ys, xs = np.mgrid[0:height, 0:width]
        period = int(rng.integers(8, 20))
        pattern = [((xs - width / 2) ** 2 + (ys - height / 2) ** 2) ** 0.5 // period % 2,
                   (xs // period) % 2, ((xs // period) + (ys // period)) % 2][label]
        pixels = rng.uniform(40, 215, size=3) * (0.6 + 0.4 * pattern[..., None])
        pixels = np.clip(pixels + rng.normal(0, 15, size=(height, width, 1)), 0, 255).astype(np.uint8)
        fmt = "PNG" if i % 3 == 0 else "JPEG"
        Image.fromarray(pixels).save(root / CLASSES[label] / f"{i:05d}.{fmt.lower()}", fmt)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="160 images, one round of each side")
    parser.add_argument("--images", type=int, default=None, help="generated images (default 300; --quick 160)")
    parser.add_argument("--repeats", type=int, default=None, help="warm rounds of each side (default 2; --quick 1)")
    args = parser.parse_args(argv)
    n_images = args.images or (160 if args.quick else 300)
    repeats = args.repeats or (1 if args.quick else 2)

    common.setup_keras_home()
    try:
        import pyspark  # noqa: F401
    except ImportError:
        common.report("spark featurize local[2] vs one machine", "skipped: PySpark is not installed "
                      "(pip install -e '.[spark]')", "a figure, not a target", None)
        return 0
    from tlcore.config import TrainConfig
    from tlcore.data import load_dataset
    from tlcore.feature_table import read_info
    from tlcore.features import featurize
    from tlcore.spark import featurize_spark, spark_session
    from tlcore.workspace import Workspace

    data = common.temp_dir("bench-spark-data-")
    seconds_generate, _ = common.timed(generate, data, n_images)
    config = TrainConfig(data=str(data), image_size=IMAGE_SIZE, batch_size=BATCH)
    print(f"spark featurize: {n_images} generated images (128-160 px, JPEG and PNG) in {seconds_generate:.1f} s, "
          f"MobileNetV2 {IMAGE_SIZE} px, batch {BATCH}, {repeats} warm round(s); {common.machine()}", flush=True)

    scratch = common.temp_dir("bench-spark-")
    counter = iter(range(1000))

    def fresh() -> tuple[Path, Workspace]:
        i = next(counter)
        return scratch / f"table-{i}.parquet", Workspace(scratch / f"ws-{i}")

    seconds_check, _ = common.timed(lambda: load_dataset(config.data, workspace=fresh()[1]))
    seconds_session, spark = common.timed(spark_session, "local[2]", "tlcore-bench",
                                          {"spark.ui.enabled": "false", "spark.driver.memory": "2g"})
    infos = []

    def on_spark() -> float:
        out, ws = fresh()
        seconds, _ = common.timed(featurize_spark, config, out, spark=spark, workspace=ws)
        infos.append(read_info(out))
        return n_images / seconds

    def on_one_machine() -> float:
        out, ws = fresh()
        seconds, _ = common.timed(featurize, config, out, workspace=ws)
        return n_images / seconds

    first = on_spark()  # cold: the workers start, import TensorFlow and load the model
    print(f"  spark first job (cold workers): {first:.1f} images/s", flush=True)
    rates = common.alternate({"one machine": on_one_machine, "spark local[2]": on_spark}, repeats)
    spark.stop()

    one, warm = common.median(rates["one machine"]), common.median(rates["spark local[2]"])
    last = infos[-1].spark
    workers = last["worker_stats"]
    per_task = last["images_per_s"] / max(1, len(workers))  # the job alone, per task slot
    driver_part = n_images / warm - last["seconds"]  # check, split, model build, sidecar
    print(f"\n  {'':34}{'one machine':>14}{'spark local[2]':>16}{'ratio':>8}")
    print(f"  {'images/s (whole featurize call)':34}{one:>14.1f}{warm:>16.1f}{warm / one:>7.2f}x")
    print(f"  {'images/s, spark first job':34}{'':>14}{first:>16.1f}{first / one:>7.2f}x")
    print(f"  {'job images/s (sidecar: the job only)':34}{'':>14}{last['images_per_s']:>16.1f}")
    print(f"  {'spark driver part of the call':34}{'':>14}{driver_part:>15.1f}s")
    print(f"  {'session start-up, once':34}{'':>14}{seconds_session:>15.1f}s")
    print(f"  {'driver check + split (both)':34}{n_images / seconds_check:>10.0f} img/s")
    print(f"  {'peak RSS per process':34}{common.peak_rss_bytes() / 2**20:>11.0f} MB"
          + "".join(f"{w['peak_rss_mb']:>10.0f} MB" for w in workers) + "  (driver; each worker)")
    print(f"  {'images per partition':34}{'':>14}{json.dumps(last['images_per_partition']):>16}")
    common.report("spark featurize local[2] vs one machine",
                  f"{warm / one:.2f}x images/s ({warm:.1f} vs {one:.1f}; first job {first:.1f}; "
                  f"session start {seconds_session:.1f} s)", "a figure, not a target", None)
    common.report("spark worker peak RSS", ", ".join(f"{w['peak_rss_mb']:.0f} MB" for w in workers),
                  "a figure, not a target", None)
    common.note(f"per task (1 core, 1 model): {per_task:.1f} images/s; driver check + split "
                f"{n_images / seconds_check:.0f} images/s; see bench/README.md for N workers")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    code = main()
    print(f"  # {time.perf_counter() - started:.0f} s in all", flush=True)
    sys.exit(code)
