"""Target 6: app overhead, from "Start training" to the first live progress point (< 3 s).

The Train page's button calls ``tlcore.jobs.start_run``, which writes the run folder and
starts the job in a process of its own; the page re-reads ``events.jsonl`` every second.
This script makes the same call (hymenoptera, MobileNetV2 with ImageNet weights, the default
feature-extraction settings, a fresh workspace so nothing is cached) and watches the event
log until the run finishes:

    overhead = (time of the first "batch" event) - (time of the click) - (one batch's duration)

One batch's duration is the median gap between consecutive feature batches of the same run
(the first batch is that, plus everything before it). The breakdown shows where the
overhead goes: process start, importing TensorFlow/Keras, checking the data, building the
model (loading the weights), the first batch. The first epoch event (the first point of the
loss curve) is printed too. Runs are taken in turn; the median is reported.

Usage: python bench/app_overhead.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_S = 3.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 run (default 3)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)

    common.setup_keras_home()  # the job process inherits KERAS_HOME
    data, skipped = common.hymenoptera_view()
    from tlcore.config import TrainConfig
    from tlcore.jobs import read_events, run_status, start_run
    from tlcore.workspace import Workspace

    print(f"app overhead: start_run -> first batch event, hymenoptera, {repeats} run(s); {common.machine()}",
          flush=True)
    overheads, first_epochs = [], []
    for r in range(repeats):
        root = common.temp_dir("bench-app-")
        workspace = Workspace(root / "workspace")
        config = TrainConfig(data=str(data), epochs=3)
        click = time.time()
        run_dir = start_run(config, workspace.runs_dir, workspace=workspace, lock_path=root / "train.lock")
        returned = time.time() - click
        deadline = time.time() + 600
        while time.time() < deadline:
            status = run_status(run_dir)
            if not status.active:
                break
            time.sleep(0.1)
        events = read_events(run_dir)
        if status.status != "finished":
            print((run_dir / "log.txt").read_text()[-3000:])
            common.report("app_overhead_to_first_batch", f"run {status.status}", f"< {TARGET_S:.0f} s", False)
            return 1
        batches = [e for e in events if e.get("type") == "batch"]
        first = batches[0]
        same = [e["t"] for e in batches if e.get("stage") == first.get("stage") and e.get("split") == first.get("split")]
        gaps = sorted(b - a for a, b in zip(same, same[1:]))
        batch_s = gaps[len(gaps) // 2] if gaps else 0.0
        overhead = first["t"] - click - batch_s
        overheads.append(overhead)
        first_epoch = next(e["t"] for e in events if e.get("type") == "epoch") - click
        first_epochs.append(first_epoch)

        marks = [("start_run returned", click + returned)]
        seen = set()
        for e in events:
            key = (e.get("type"), e.get("status") or e.get("stage"), e.get("message", "")[:30])
            if e.get("type") in ("status", "stage") and key not in seen and "Checked" not in e.get("message", "x"):
                seen.add(key)
                marks.append((f"{e['type']} {e.get('status') or e.get('stage')}: {e.get('message', '')[:40]}", e["t"]))
        marks.append((f"first batch event ({first.get('stage')})", first["t"]))
        common.note(f"run {r + 1}: overhead {overhead:.2f} s (first batch event at {first['t'] - click:.2f} s, "
                    f"one batch {batch_s:.2f} s); first epoch event at {first_epoch:.1f} s")
        for label, t in sorted(marks, key=lambda item: item[1]):
            common.note(f"    {t - click:6.2f} s  {label}")
    value = common.median(overheads)
    common.report("app_overhead_to_first_batch", f"{value:.2f} s (first curve point after {common.median(first_epochs):.1f} s)",
                  f"< {TARGET_S:.0f} s", value < TARGET_S, runs=overheads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
