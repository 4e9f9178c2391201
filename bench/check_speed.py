"""How long the data check takes on the chest X-rays (5,840 pictures), without and with cached features (issue 12).

The first check computes the bottleneck features of every picture (the feature pass); the
second reads them from the cache, as a check after a training run (or a second check) does.
Prints both, with the time of each step.

Usage::

    python bench/check_speed.py            # about 3 minutes on 2 CPU cores
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, note, report, require, setup_keras_home, temp_dir  # noqa: E402


def main() -> int:
    setup_keras_home()
    import tlcore
    from tlcore.workspace import Workspace

    data = require(SHARED / "datasets" / "chest_xray", "the chest X-ray dataset")
    workspace = Workspace(temp_dir("bench-check-"))
    config = tlcore.TrainConfig(data=str(data))
    seconds = {}
    for label in ("features not cached", "features cached"):
        start = time.perf_counter()
        result = tlcore.check_dataset(config, workspace=workspace).to_dict()
        seconds[label] = time.perf_counter() - start
        note(f"{label}: " + ", ".join(f"{step} {t:.1f} s" for step, t in result["timings"].items()))
    report("data check, chest_xray (5,840 pictures)",
           f"{seconds['features not cached']:.0f} s without cached features, {seconds['features cached']:.0f} s with them "
           f"({seconds['features not cached'] / seconds['features cached']:.1f}x)", "seconds once features are cached",
           None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
