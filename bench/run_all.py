"""Run every benchmark and print one line per target: ``name: value (target …) met|not met``.

Each script runs in its own process (so each starts from a clean Keras/TensorFlow state)
with ``--quick`` passed on when given; their output streams through, and a summary of the
result lines comes last. The GPU benchmark reports "skipped: no GPU here" on a machine
without one. Exit status: 0 when every measured target is met, 1 otherwise.

Usage: python bench/run_all.py [--quick] [--only NAME[,NAME]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = ("feature_extraction", "fine_tune", "decode", "memory", "app_overhead", "spark", "live", "classroom", "gpu")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short versions of each (about 10 minutes on 2 cores)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCRIPTS)}")
    args = parser.parse_args(argv)
    chosen = [s for s in SCRIPTS if not args.only or s in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(SCRIPTS)}")

    fd, results_path = tempfile.mkstemp(prefix="bench-results-", suffix=".jsonl")
    os.close(fd)
    env = dict(os.environ, BENCH_RESULTS=results_path, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    started = time.perf_counter()
    failed = []
    try:
        for name in chosen:
            print(f"\n=== {name} ===", flush=True)
            t0 = time.perf_counter()
            cmd = [sys.executable, str(BENCH / f"{name}.py")] + (["--quick"] if args.quick else [])
            rc = subprocess.run(cmd, env=env).returncode
            print(f"=== {name}: {time.perf_counter() - t0:.0f} s (exit {rc})", flush=True)
            if rc != 0:
                failed.append(name)
        lines = [json.loads(line) for line in Path(results_path).read_text(encoding="utf-8").splitlines() if line]
    finally:
        os.unlink(results_path)

    print(f"\n=== results ({'quick, ' if args.quick else ''}{time.perf_counter() - started:.0f} s) ===")
    for item in lines:
        print(item["line"])
    for name in failed:
        print(f"{name}: the script failed (see its output above) (target see bench/README.md) not met")
    return 0 if not failed and all(item["met"] in (True, None) for item in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
