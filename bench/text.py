"""Text classification (issue 16): encoder speed, the feature cache, accuracy and domain shift on real reviews.

On ../shared/datasets/sentiment (the UCI "Sentiment Labelled Sentences": 1,000 amazon, 1,000 yelp
and 1,000 imdb sentences, labels 0/1; ``--data`` or ``TLCORE_SHARED`` for another folder), on this
machine's CPU, in one process:

a. sentences per second of the MiniLM-L6 embedding pass at sequence length 64 (tokenizer + encoder,
   batch 32, after a warm-up batch), the tokenizer alone beside it;
b. a second run on the cached embeddings (another head setting, same data) vs the first run: wall
   time ratio, and the runs' feature cache hits / misses (``TrainResult.feature_cache_hits``);
c. accuracy on a held-out test split (20 %, stratified): feature extraction on 3 seeded splits (mean,
   a t interval over the seeds, and each run's own 95 % interval), then fine-tuning (the top 2
   transformer blocks = 16 layers with weights, 3 epochs at 5e-5) vs feature extraction on the
   same split;
d. domain shift: trained on amazon + yelp (validation carved from them), tested on imdb.

Each split is written as split files (``train.txt``, ``test.txt``: ``text<TAB>label`` lines), which
``tlcore.text.table`` reads with the splits kept.

Usage: python bench/text.py [--quick] [--data FOLDER] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SOURCES = ("amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt")
SEQUENCE_LENGTH = 64
_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78}  # Student's t, two-sided 95 %, by degrees of freedom


def read_source(path: Path) -> list[tuple[str, str]]:
    """``(text, label)`` of a ``sentence<TAB>label`` file, split on the last tab."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            text, label = line.rsplit("\t", 1)
            if text.strip() and label.strip():
                rows.append((text.strip(), label.strip()))
    return rows


def write_split(folder: Path, train: list, test: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.txt", train), ("test.txt", test)):
        (folder / name).write_text("".join(f"{t}\t{lab}\n" for t, lab in rows), encoding="utf-8")
    return folder


def stratified(rows: list, test_fraction: float, seed: int) -> tuple[list, list]:
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({lab for _, lab in rows}):
        group = [r for r in rows if r[1] == label]
        rng.shuffle(group)
        cut = round(len(group) * test_fraction)
        test += group[:cut]
        train += group[cut:]
    return train, test


def encoder_speed(texts: list[str], batch: int = 32) -> tuple[float, float]:
    """(sentences/s of tokenizer + MiniLM-L6 encoder, sentences/s of the tokenizer alone)."""
    import numpy as np

    from tlcore.text.encoders import build_text_encoder

    built = build_text_encoder("MiniLM-L6", sequence_length=SEQUENCE_LENGTH)
    built.encoder.predict_on_batch(built.tokenizer(texts[:batch]))  # warm-up: tracing
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        built.tokenizer(texts[i:i + batch])
    tokenize = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        features = np.asarray(built.encoder.predict_on_batch(built.tokenizer(texts[i:i + batch])))
    whole = time.perf_counter() - start
    assert features.shape[-1] == 384
    return len(texts) / whole, len(texts) / tokenize


def train_run(data: Path, run_dir: Path, workspace, **settings):
    """``(wall seconds, TrainResult)`` of one tlcore text run."""
    from tlcore import TrainConfig
    from tlcore.train import train

    config = TrainConfig(data=str(data), backbone="MiniLM-L6", sequence_length=SEQUENCE_LENGTH, **settings)
    start = time.perf_counter()
    result = train(config, run_dir, workspace=workspace)
    seconds = time.perf_counter() - start
    if result.status != "finished":
        sys.exit(f"bench: the run in {run_dir} ended {result.status}: {getattr(result, 'error', '')}")
    return seconds, result


def _test(result) -> tuple[float, list[float] | None, int]:
    test = result.evaluation.get("test") or {}
    return float(test["accuracy"]), test.get("accuracy_ci"), int(test.get("num_images") or 0)


def _pct(acc: float, ci=None) -> str:
    return f"{100 * acc:.1f} %" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="300 sentences per source, 1 seed, 1 fine-tuning epoch (about 3 minutes)")
    parser.add_argument("--data", type=Path, default=common.SHARED / "datasets" / "sentiment",
                        help="folder holding the three *_labelled.txt files")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="split seeds (default 0 1 2)")
    args = parser.parse_args(argv)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    per_source = 300 if args.quick else None
    ft_epochs = 1 if args.quick else 3

    sources = {name: read_source(common.require(args.data / name, f"the sentiment file {name}"))
               for name in SOURCES}
    if per_source:
        sources = {name: stratified(rows, 1 - per_source / len(rows), 0)[0] for name, rows in sources.items()}
    every = [row for rows in sources.values() for row in rows]
    counts = ", ".join(f"{name.split('_')[0]} {len(rows)}" for name, rows in sources.items())
    common.note(f"{common.machine()}; {len(every)} sentences ({counts})")

    from tlcore.workspace import Workspace

    root = common.temp_dir("bench-text-")
    workspace = Workspace(root / "ws")

    # a. the embedding pass
    texts = [t for t, _ in every][: 320 if args.quick else 1000]
    rate, tokenize_rate = encoder_speed(texts)
    common.report("a. MiniLM-L6 embedding pass, sequence length 64", f"{rate:.0f} sentences/s "
                  f"(tokenizer alone {tokenize_rate:.0f}/s; {len(texts)} sentences, batch 32)", "sentences/s", None)

    # b + c. feature extraction on seeded splits; the first one's second run reads the cached embeddings
    splits = {seed: write_split(root / f"split-{seed}", *stratified(every, 0.2, seed)) for seed in seeds}
    first_s, first = train_run(splits[seeds[0]], root / "runs" / "fe-0", workspace, seed=seeds[0])
    second_s, second = train_run(splits[seeds[0]], root / "runs" / "fe-0-again", workspace, seed=seeds[0],
                                 dropout=0.3)
    common.report("b. second run on cached embeddings vs the first", f"{second_s / first_s:.2f}x wall time "
                  f"({second_s:.1f} s vs {first_s:.1f} s; features: (cache reads per split file) first {first.feature_cache_misses} misses / "
                  f"{first.feature_cache_hits} hits, second {second.feature_cache_misses} misses / "
                  f"{second.feature_cache_hits} hits)", "cache hits, a fraction of the first run's time",
                  second.feature_cache_misses == 0 and second.feature_cache_hits > 0)
    accuracies = {seeds[0]: _test(first)}
    for seed in seeds[1:]:
        _, result = train_run(splits[seed], root / "runs" / f"fe-{seed}", workspace, seed=seed)
        accuracies[seed] = _test(result)
    values = [acc for acc, _, _ in accuracies.values()]
    mean = statistics.fmean(values)
    spread = (f" ± {100 * _T95[len(values) - 1] * statistics.stdev(values) / len(values) ** 0.5:.1f} points "
              f"(t interval over {len(values)} splits)" if len(values) > 1 else "")
    common.report("c. feature extraction, test accuracy", f"{100 * mean:.1f} %{spread}; per split: "
                  + ", ".join(f"seed {s} {_pct(a, ci)} on {n}" for s, (a, ci, n) in accuracies.items()),
                  "accuracy with its interval", None)

    # c. fine-tuning vs feature extraction on the same split
    ft_s, tuned = train_run(splits[seeds[0]], root / "runs" / "ft-0", workspace, seed=seeds[0], mode="fine-tune",
                            fine_tune_layers=16, fine_tune_epochs=ft_epochs, fine_tune_learning_rate=5e-5)
    acc, ci, n = _test(tuned)
    fe_acc, fe_ci, _ = accuracies[seeds[0]]
    verdict = (tuned.evaluation.get("fine_tune") or {}).get("kept", "?")
    common.report("c. fine-tuning (top 2 blocks, 16 layers) vs feature extraction, same split",
                  f"{_pct(acc, ci)} vs {_pct(fe_acc, fe_ci)} on {n} test sentences ({ft_epochs} epochs at 5e-5, "
                  f"{ft_s:.0f} s vs {first_s:.0f} s; kept the {verdict} weights)", "accuracy, both with intervals",
                  None)

    # d. domain shift: amazon + yelp -> imdb
    shifted = write_split(root / "shift", sources[SOURCES[0]] + sources[SOURCES[1]], sources[SOURCES[2]])
    _, result = train_run(shifted, root / "runs" / "shift", workspace, seed=seeds[0])
    acc, ci, n = _test(result)
    val, val_ci = float(result.evaluation["accuracy"]), result.evaluation.get("accuracy_ci")
    common.report("d. domain shift: trained on amazon + yelp, tested on imdb",
                  f"imdb test {_pct(acc, ci)} on {n} vs {_pct(val, val_ci)} on amazon + yelp validation",
                  "accuracy out of domain", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
