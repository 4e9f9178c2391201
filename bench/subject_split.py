"""Random split against subject split on the chest X-rays: validation and test accuracy (issue 12).

Trains the product's defaults twice in one workspace (so the test folder's features are
computed once): ``--group-by none`` (validation held out at random, so images of one patient
land on both sides) and ``--group-by auto`` (patients found in the file names, each kept in
one split). Prints validation and test accuracy of each and the gap between them.

Usage::

    python bench/subject_split.py             # about 8 minutes on 2 CPU cores
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, note, report, require, run_tlcore, setup_keras_home, temp_dir  # noqa: E402


def main() -> int:
    setup_keras_home()
    data = require(SHARED / "datasets" / "chest_xray", "the chest X-ray dataset")
    tmp = temp_dir("bench-subject-split-")
    results = {}
    for group_by in ("none", "auto"):
        out = tmp / f"runs-{group_by}"
        seconds = run_tlcore("train", str(data), "--group-by", group_by, "--out", str(out), "--workspace", str(tmp / "ws"))
        run = next(out.iterdir())
        evaluation = json.loads((run / "evaluation.json").read_text())
        subjects = json.loads((run / "data_report.json").read_text()).get("subjects", {})
        results[group_by] = (evaluation["accuracy"], evaluation["test"]["accuracy"], seconds, subjects)
    for group_by, words in (("none", "random split"), ("auto", "split by patient")):
        val, test, seconds, subjects = results[group_by]
        report(f"chest_xray {words}", f"val {val:.1%}, test {test:.1%} (gap {100 * (val - test):.1f} points), {seconds:.0f} s",
               "none: a measurement", None)
    straddling = (results["auto"][3].get("random_split") or {})
    note(f"a random split puts {straddling.get('straddling_subjects')} patients on both sides "
         f"({straddling.get('val_images')} validation images); the subject split none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
