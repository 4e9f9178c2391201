"""Transfer that works: the product's defaults against published accuracies (issue 6).

Runs the table below through ``tlcore train`` defaults (MobileNetV2 1.0 at 224 px, ImageNet
weights through the normal Keras cache pointed at a copy of ../shared/keras_home), beside
the same network trained from scratch (``--weights none``: every layer learns from the
data, the no-transfer baseline) so the gain from transfer is visible:

| data | feature extraction | fine-tuning | published |
|---|---|---|---|
| hymenoptera, val | >= 94 % | >= 95 % | fine-tuned ResNet18 ~94-95 % (PyTorch tutorial) |
| chest_xray, test | >= 90 % | >= 92.8 % | InceptionV3 92.8 % (Kermany et al. 2018) |

Usage::

    python bench/accuracy.py                  # the whole table (about an hour on 2 CPU cores)
    python bench/accuracy.py --only hymenoptera --skip-none
    python bench/accuracy.py --only chest_xray --none-epochs 3   # a shorter from-scratch run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, report, require, run_tlcore, setup_keras_home, temp_dir  # noqa: E402

TARGETS = {
    ("hymenoptera", "feature-extraction"): 0.94,
    ("hymenoptera", "fine-tune"): 0.95,
    ("chest_xray", "feature-extraction"): 0.90,
    ("chest_xray", "fine-tune"): 0.928,
}


def run(data: Path, mode: str, weights: str, out: Path, *extra: str) -> tuple[dict, float]:
    """One `tlcore train` with defaults but for mode/weights; returns (evaluation, seconds)."""
    seconds = run_tlcore("train", str(data), "--mode", mode, "--weights", weights, "--out", str(out),
                         "--workspace", str(out.parent.parent / "ws"), *extra)
    run_dir = sorted(p for p in out.iterdir() if p.is_dir())[-1]
    return json.loads((run_dir / "evaluation.json").read_text()), seconds


def _scored(evaluation: dict, split: str) -> dict:
    return evaluation if split == "val" else evaluation["test"]


def _details(name: str, scored: dict) -> str:
    if "sensitivity" in scored and name == "chest_xray":
        return f", sensitivity {scored['sensitivity']:.1%}, specificity {scored['specificity']:.1%}"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["hymenoptera", "chest_xray"], help="one dataset only")
    parser.add_argument("--modes", nargs="+", default=["feature-extraction", "fine-tune"])
    parser.add_argument("--skip-none", action="store_true", help="skip the from-scratch (--weights none) runs")
    parser.add_argument("--none-epochs", type=int, help="epochs of the from-scratch run (default: the product's)")
    args = parser.parse_args()
    setup_keras_home()
    work = temp_dir("bench-accuracy-")
    for name in ("hymenoptera", "chest_xray"):
        if args.only and name != args.only:
            continue
        data = require(SHARED / "datasets" / name, f"the {name} dataset")
        split = "val" if name == "hymenoptera" else "test"
        for mode in args.modes:
            out = work / name / f"{mode}-imagenet"
            out.mkdir(parents=True)
            evaluation, seconds = run(data, mode, "imagenet", out)
            scored = _scored(evaluation, split)
            extra = _details(name, scored)
            if split != "val":
                extra += f"; val {evaluation['accuracy']:.1%}"
            if "fine_tune" in evaluation:
                extra += f"; {evaluation['fine_tune']['message']}"
            target = TARGETS[(name, mode)]
            report(f"accuracy {name} {split} {mode}", f"{scored['accuracy']:.1%} in {seconds:.0f} s{extra}",
                   f">= {target:.1%}", scored["accuracy"] >= target)
        if not args.skip_none:
            out = work / name / "scratch"
            out.mkdir(parents=True)
            epochs = ("--epochs", str(args.none_epochs)) if args.none_epochs else ()
            evaluation, seconds = run(data, "feature-extraction", "none", out, *epochs)
            scored = _scored(evaluation, split)
            report(f"accuracy {name} {split} from scratch (--weights none"
                   + (f", {args.none_epochs} epochs)" if args.none_epochs else ")"),
                   f"{scored['accuracy']:.1%} in {seconds:.0f} s{_details(name, scored)}", "the no-transfer baseline",
                   None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
