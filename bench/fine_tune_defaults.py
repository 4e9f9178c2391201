"""How the fine-tuning defaults were chosen (issue 10): candidates over several seeds.

Each run trains the head on frozen ImageNet MobileNetV2 features (the feature-extraction
model), then fine-tunes; the run itself records both validation accuracies
(``evaluation.json`` → ``fine_tune``) and which weights it kept. Printed per candidate: the
mean and spread (min–max) over seeds of the frozen and the fine-tuned validation accuracy,
of the kept model's, and how often fine-tuning was kept.

Usage::

    python bench/fine_tune_defaults.py --data hymenoptera --seeds 1 2 3
    python bench/fine_tune_defaults.py --data chest_xray --seeds 1 2 --candidates default
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, require, setup_keras_home, temp_dir  # noqa: E402

CANDIDATES = {  # name -> TrainConfig changes on top of mode="fine-tune"
    "default": {},
    "lr1e-4_layers10": {"fine_tune_layers": 10},
    "lr3e-5_layers30": {"fine_tune_learning_rate": 3e-5},
    "lr1e-4_layers30_noaug": {"fine_tune_augment": False},
    "old_defaults": {"fine_tune_learning_rate": 1e-5, "fine_tune_layers": 10, "fine_tune_augment": False},
}


def _spread(values: list[float]) -> str:
    mean = sum(values) / len(values)
    return f"{mean:.1%} ({min(values):.1%}–{max(values):.1%})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["hymenoptera", "chest_xray"], default="hymenoptera")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--out", help="append one JSON line per run to this file")
    args = parser.parse_args()
    setup_keras_home()
    from tlcore.config import TrainConfig
    from tlcore.train import train
    from tlcore.workspace import Workspace

    data = require(SHARED / "datasets" / args.data, f"the {args.data} dataset")
    ws = Workspace(temp_dir("bench-ft-defaults-"))
    for name in args.candidates:
        rows = []
        for seed in args.seeds:
            config = dataclasses.replace(TrainConfig(data=str(data), mode="fine-tune", seed=seed), **CANDIDATES[name])
            t0 = time.perf_counter()
            result = train(config, workspace=ws)
            report = result.evaluation["fine_tune"]
            row = {"data": args.data, "candidate": name, "seed": seed, "seconds": time.perf_counter() - t0,
                   "val_accuracy": result.evaluation["accuracy"],
                   "test_accuracy": result.evaluation.get("test", {}).get("accuracy"), **report}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
        kept = sum(r["kept"] == "fine-tuned" for r in rows)
        line = (f"{args.data} {name}: frozen {_spread([r['frozen_val_accuracy'] for r in rows])}, "
                f"fine-tuned {_spread([r['fine_tuned_val_accuracy'] for r in rows])}, "
                f"kept model {_spread([r['val_accuracy'] for r in rows])}, fine-tuning kept {kept}/{len(rows)}")
        if rows[0]["test_accuracy"] is not None:
            line += f", test {_spread([r['test_accuracy'] for r in rows])}"
        print(line + f", {sum(r['seconds'] for r in rows) / len(rows):.0f} s per run", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
