"""Helpers shared by the benchmark scripts: real data, a private KERAS_HOME, timing, memory, result lines.

Every script measures both sides in the same process (or the same call) on the same data,
alternating them (A, B, A, B, ...) because the machine is shared and noisy, and reports the
median of each side. A result line reads::

    name: value (target ...) met
    name: value (target ...) not met

``run_all.py`` collects these lines through the file named by ``$BENCH_RESULTS`` (one JSON
object per line), so each script can also be run on its own.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TLCORE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
HYMENOPTERA = SHARED / "datasets" / "hymenoptera"
SHARED_KERAS_HOME = SHARED / "keras_home"
MOBILENET_V2_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"

# The tutorial's loader (keras.utils.image_dataset_from_directory) picks files by extension.
TUTORIAL_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

if str(REPO) not in sys.path:  # `python bench/x.py` from anywhere finds tlcore and bench
    sys.path.insert(0, str(REPO))


def require(path: Path, what: str) -> Path:
    """Exit with a clear message when a piece of ../shared is missing."""
    if not path.exists():
        sys.exit(
            f"bench: {what} is missing at {path}.\n"
            f"The benchmarks read real data from ../shared beside the repository "
            f"(or set TLCORE_SHARED to the folder holding datasets/ and keras_home/)."
        )
    return path


def setup_keras_home() -> Path:
    """Point KERAS_HOME at a private temporary copy of ../shared/keras_home; call before importing keras.

    Keras reads KERAS_HOME once, on import, and would download missing weights into it;
    a copy keeps the shared folder untouched and the user's ~/.keras out of the measurement.
    """
    if "keras" in sys.modules:
        raise RuntimeError("setup_keras_home() must run before keras is imported")
    require(SHARED_KERAS_HOME / "models" / MOBILENET_V2_WEIGHTS, "the MobileNetV2 ImageNet weights")
    home = Path(tempfile.mkdtemp(prefix="bench-keras-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "models").mkdir()
    for f in (SHARED_KERAS_HOME / "models").iterdir():
        shutil.copyfile(f, home / "models" / f.name)
    os.environ["KERAS_HOME"] = str(home)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return home


def temp_dir(prefix: str) -> Path:
    """A temporary folder removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def hymenoptera_view(skip_non_photos: bool = True) -> tuple[Path, list[str]]:
    """A folder of symlinks to hymenoptera's photos that both loaders read identically.

    hymenoptera's train/ants holds a GIF placeholder ("imageNotFound.gif", not an ant) and a
    JPEG without extension ("ant"). The tutorial's ``image_dataset_from_directory`` skips the
    extension-less file (it filters by extension) and would train on the placeholder; tlcore
    reads both by content. So that both sides see exactly the same pictures, the view skips
    both files. Returns ``(root with train/ and val/, skipped relative paths)``.
    """
    require(HYMENOPTERA / "train", "the hymenoptera dataset")
    view = temp_dir("bench-hymenoptera-")
    skipped = []
    for src in sorted(HYMENOPTERA.rglob("*")):
        if not src.is_file():
            continue
        rel = src.relative_to(HYMENOPTERA)
        is_photo = src.suffix.lower() in (".jpg", ".jpeg")
        if skip_non_photos and not is_photo:
            skipped.append(rel.as_posix())
            continue
        dest = view / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(src)
    return view, skipped


def run_tlcore(*args: str) -> float:
    """Run ``python -m tlcore ARGS`` as a user would; exit with its output if it fails. Wall seconds."""
    cmd = [sys.executable, "-m", "tlcore", *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return seconds


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in TUTORIAL_EXTENSIONS)


# ---------------------------------------------------------------- timing


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """``(wall seconds, fn's value)``."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def cpu_timed(fn: Callable, *args, **kwargs) -> tuple[float, float, object]:
    """``(wall seconds, CPU seconds of this process's threads, fn's value)``.

    CPU time is a cross-check on a shared machine: other people's jobs stretch wall time
    but hardly change how much CPU the work itself needs.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, value


def alternate(sides: dict[str, Callable[[], float]], repeats: int, log=print) -> dict[str, list[float]]:
    """Run each side ``repeats`` times, alternating A, B, A, B (B, A on odd rounds).

    Each callable returns its own measurement (seconds, or any figure). Alternating and
    reversing the order each round spreads the shared machine's noise and any warm-up
    advantage evenly over the sides.
    """
    names = list(sides)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            value = sides[name]()
            results[name].append(value)
            log(f"  round {r + 1}/{repeats} {name}: {value:.3f}")
    return results


def median(values) -> float:
    return float(statistics.median(values))


# ---------------------------------------------------------------- memory


def peak_rss_bytes(pid: int | str = "self") -> int:
    """Peak resident memory (VmHWM) of a process, read from /proc; getrusage as a fallback."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return 0


def children_peak_rss_bytes() -> int:
    """Largest peak RSS of any waited-for child process (getrusage, kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


# ---------------------------------------------------------------- machine and results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = ", load average %.1f" % os.getloadavg()[0]
    except OSError:
        load = ""
    return f"{cpu}, {cores} cores{load}"


def report(name: str, value: str, target: str, met: bool | None, **extra) -> str:
    """Print one result line ``name: value (target …) met|not met`` and record it for run_all.

    ``met=None`` marks a figure that was not measured (e.g. "skipped: no GPU here").
    """
    verdict = "" if met is None else (" met" if met else " not met")
    line = f"{name}: {value} (target {target}){verdict}"
    print(line, flush=True)
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": value, "target": target, "met": met,
                                 "line": line, **extra}) + "\n")
    return line


def note(text: str) -> None:
    """Context printed beside the results (what was measured, how many rounds, caveats)."""
    print(f"  # {text}", flush=True)
