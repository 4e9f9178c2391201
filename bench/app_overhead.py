"""Target 6: app overhead, from "Start training" to the first live progress point (< 3 s).

The Train page's button calls ``tlcore.jobs.start_run(..., warm=True)``, which writes the run
folder and hands the run to the warm standby job process that the page made sure of when it
rendered (``ensure_standby``); the page re-reads ``events.jsonl`` every second. This script
does the same (hymenoptera, MobileNetV2 with ImageNet weights, the default feature-extraction
settings, a fresh workspace and lock folder so nothing is cached): it waits until a standby
is ready, as it is by the time a user has read the page, then starts the run and watches the
event log until the run finishes. The next standby, which ``start_run`` spawns at once, waits
for the run to end before it warms up, as in the app. The cold path (a fresh process that imports TensorFlow
itself, as with ``TLCORE_WARM_WORKER=0``) is measured in the same rounds, alternating, and
printed as a note:

    overhead = (time of the first "batch" event) - (time of the click) - (one batch's duration)

One batch's duration is the median gap between consecutive feature batches of the same run
(the first batch is that, plus everything before it). The breakdown shows where the
overhead goes: process start, importing TensorFlow/Keras, checking the data, building the
model (loading the weights), the first batch. The first epoch event (the first point of the
loss curve) is printed too. Runs are taken in turn; the median of the warm runs is reported.

Usage: python bench/app_overhead.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_S = 3.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of warm and cold (default 3)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)

    common.setup_keras_home()  # the job processes inherit KERAS_HOME
    os.environ["TLCORE_WARM_WORKER"] = "1"  # the app's default, whatever the caller's shell says
    data, skipped = common.hymenoptera_view()

    print(f"app overhead: start_run -> first batch event, hymenoptera, {repeats} round(s) of warm and cold; "
          f"{common.machine()}", flush=True)
    first_epochs: dict[str, list[float]] = {"warm": [], "cold": []}
    results = common.alternate({side: (lambda side=side: _one_run(data, side, first_epochs[side]))
                                for side in ("warm", "cold")}, repeats, log=common.note)
    if any(math.isnan(v) for values in results.values() for v in values):
        common.report("app_overhead_to_first_batch", "a run did not finish", f"< {TARGET_S:.0f} s", False)
        return 1
    warm, cold = common.median(results["warm"]), common.median(results["cold"])
    common.note(f"cold start (a fresh job process, as with TLCORE_WARM_WORKER=0): {cold:.2f} s overhead, "
                f"first curve point after {common.median(first_epochs['cold']):.1f} s")
    common.report("app_overhead_to_first_batch",
                  f"{warm:.2f} s (first curve point after {common.median(first_epochs['warm']):.1f} s; cold start {cold:.2f} s)",
                  f"< {TARGET_S:.0f} s", warm < TARGET_S, runs=results["warm"], cold_runs=results["cold"])
    return 0


def _one_run(data: Path, side: str, first_epochs: list[float]) -> float:
    """One run from a click in a fresh workspace: its overhead in seconds (NaN when it failed).

    Appends the time of the first epoch event to ``first_epochs``.
    """
    from tlcore.config import TrainConfig
    from tlcore.jobs import ensure_standby, read_events, ready_standby, run_status, start_run, stop_standbys
    from tlcore.workspace import Workspace

    root = common.temp_dir("bench-app-")
    workspace = Workspace(root / "workspace")
    lock = root / "train.lock"
    config = TrainConfig(data=str(data), epochs=3)
    warm = side == "warm"
    if warm:  # what the Train page does when it renders, seconds before the click
        ensure_standby(lock)
        deadline = time.time() + 300
        while ready_standby(lock) is None:
            if time.time() > deadline:
                common.note("no standby became ready in 300 s; see " + str(root / "standby" / "standby.log"))
                return float("nan")
            time.sleep(0.1)
    try:
        click = time.time()
        run_dir = start_run(config, workspace.runs_dir, workspace=workspace, lock_path=lock, warm=warm)
        returned = time.time() - click
        deadline = time.time() + 600
        while time.time() < deadline:
            status = run_status(run_dir)
            if not status.active:
                break
            time.sleep(0.1)
    finally:
        stop_standbys(lock)  # the replacement the warm start spawned; the next round starts afresh
    events = read_events(run_dir)
    if status.status != "finished":
        print((run_dir / "log.txt").read_text()[-3000:])
        common.note(f"{side} run {status.status}")
        return float("nan")
    batches = [e for e in events if e.get("type") == "batch"]
    first = batches[0]
    same = [e["t"] for e in batches if e.get("stage") == first.get("stage") and e.get("split") == first.get("split")]
    gaps = sorted(b - a for a, b in zip(same, same[1:]))
    batch_s = gaps[len(gaps) // 2] if gaps else 0.0
    overhead = first["t"] - click - batch_s
    first_epoch = next(e["t"] for e in events if e.get("type") == "epoch") - click

    marks = [("start_run returned", click + returned)]
    seen = set()
    for e in events:
        key = (e.get("type"), e.get("status") or e.get("stage"), e.get("message", "")[:30])
        if e.get("type") in ("status", "stage") and key not in seen and "Checked" not in e.get("message", "x"):
            seen.add(key)
            marks.append((f"{e['type']} {e.get('status') or e.get('stage')}: {e.get('message', '')[:40]}", e["t"]))
    marks.append((f"first batch event ({first.get('stage')})", first["t"]))
    common.note(f"{side}: overhead {overhead:.2f} s (first batch event at {first['t'] - click:.2f} s, "
                f"one batch {batch_s:.2f} s); first epoch event at {first_epoch:.1f} s")
    for text, t in sorted(marks, key=lambda item: item[1]):
        common.note(f"    {t - click:6.2f} s  {text}")
    first_epochs.append(first_epoch)
    return overhead


if __name__ == "__main__":
    sys.exit(main())
