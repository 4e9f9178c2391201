"""Target 5: peak memory while training on 20,000 generated 224-px images (< 3 GB).

Generates ``--images`` JPEGs (224 x 224, 4 classes; a few base pictures per class plus noise,
written in parallel with Pillow) into a temporary folder, then trains on them in a child
process: feature extraction over every image (MobileNetV2, ImageNet weights, 224 px,
``tlcore.train.train``), and with ``--fine-tune`` one fine-tuning epoch over them too. The
child's peak resident memory (VmHWM from /proc, cross-checked with getrusage) is the
figure: it must stay flat as the dataset grows, because images are streamed, never held.

On this 2-core machine, features for 20,000 images take about 10 minutes; ``--quick`` uses
1,500 images (the peak is set by the model and the batch, not the number of images, which
``--images`` lets you check).

Usage: python bench/memory.py [--quick] [--images N] [--fine-tune]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZE = 224
CLASSES = ("circles", "stripes", "checks", "noise")
BASES_PER_CLASS = 4
LIMIT_BYTES = 3 * 1024**3


def _base_image(label: int, variant: int):
    import numpy as np

    rng = np.random.default_rng(1000 * label + variant)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype("float32")
    period = 12 + 6 * variant
    pattern = [
        ((xs - SIZE / 2) ** 2 + (ys - SIZE / 2) ** 2) ** 0.5 // period % 2,
        (xs // period) % 2,
        ((xs // period) + (ys // period)) % 2,
        rng.random((SIZE, SIZE)) > 0.5,
    ][label]
    colour = rng.uniform(40, 215, size=3)
    pixels = colour[None, None, :] * (0.6 + 0.4 * pattern[..., None])
    return pixels.astype("float32")


def _write_chunk(args) -> int:
    """Write images ``start..stop`` (run in a worker process)."""
    import numpy as np
    from PIL import Image

    root, start, stop = args
    bases = {(c, v): _base_image(c, v) for c in range(len(CLASSES)) for v in range(BASES_PER_CLASS)}
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        label = i % len(CLASSES)
        base = bases[(label, (i // len(CLASSES)) % BASES_PER_CLASS)]
        pixels = base + rng.normal(0, 18, size=(SIZE, SIZE, 1)) + rng.uniform(-25, 25)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            Path(root) / CLASSES[label] / f"{i:06d}.jpg", quality=85)
    return stop - start


def generate(root: Path, n: int) -> float:
    for name in CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
    chunk = 500
    jobs = [(str(root), s, min(n, s + chunk)) for s in range(0, n, chunk)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        written = sum(pool.map(_write_chunk, jobs))
    assert written == n
    return time.perf_counter() - start


def worker(data: str, run_dir: str, fine_tune: bool) -> None:
    """The child: train, then print its own peak RSS."""
    common.setup_keras_home()
    from tlcore.config import TrainConfig
    from tlcore.train import train
    from tlcore.workspace import Workspace

    config = TrainConfig(data=data, epochs=3, early_stopping=False,
                         mode="fine-tune" if fine_tune else "feature-extraction", fine_tune_epochs=1)
    stages = {}
    start = time.perf_counter()

    def on_event(event):
        if event.get("type") == "stage":
            stages.setdefault(event.get("stage"), round(time.perf_counter() - start, 1))
            stages[event.get("stage") + "_rss_mb"] = round(common.peak_rss_bytes() / 2**20)

    result = train(config, run_dir, workspace=Workspace(Path(run_dir).parent / "workspace"), on_event=on_event)
    print("MEMORY " + json.dumps({"peak_rss": common.peak_rss_bytes(), "seconds": time.perf_counter() - start,
                                  "accuracy": result.evaluation["accuracy"], "stages": stages}), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,500 images instead of 20,000")
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--fine-tune", action="store_true", help="also one fine-tuning epoch over all images")
    parser.add_argument("--worker", nargs=2, metavar=("DATA", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], args.fine_tune)
        return 0
    n = args.images or (1500 if args.quick else 20000)
    common.require(common.SHARED_KERAS_HOME / "models" / common.MOBILENET_V2_WEIGHTS, "the MobileNetV2 weights")

    tmp = common.temp_dir("bench-memory-")
    data = tmp / "images"
    gen_s = generate(data, n)
    size_mb = sum(f.stat().st_size for f in data.rglob("*.jpg")) / 2**20
    print(f"memory: generated {n} JPEGs of {SIZE} px ({size_mb:.0f} MB on disk, {n * SIZE * SIZE * 3 / 2**30:.1f} GB "
          f"decoded) in {gen_s:.0f} s; training {'feature extraction + 1 fine-tune epoch' if args.fine_tune else 'feature extraction'}"
          f"; {common.machine()}", flush=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(data), str(tmp / "run")]
    if args.fine_tune:
        cmd.append("--fine-tune")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - start
    lines = [json.loads(l[7:]) for l in proc.stdout.splitlines() if l.startswith("MEMORY ")]
    if proc.returncode != 0 or not lines:
        print(proc.stderr[-3000:])
        common.report("memory_peak_rss", "failed (see above)", "< 3 GB", False)
        return 1
    child = lines[-1]
    peak = max(child["peak_rss"], common.children_peak_rss_bytes())
    common.note(f"child ran {seconds:.0f} s, val accuracy {child['accuracy']:.1%}; "
                f"stage start times (s) and peak RSS so far (MB): {child['stages']}")
    common.report("memory_peak_rss", f"{peak / 2**30:.2f} GB peak RSS over {n} images", "< 3 GB",
                  peak < LIMIT_BYTES, images=n, peak_bytes=peak, seconds=seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
