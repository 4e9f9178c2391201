"""Commands about a dataset: ``tlcore inspect`` (check it) and ``tlcore featurize`` (its
bottleneck features to Parquet)."""

from __future__ import annotations

from pathlib import Path

from ...errors import EXIT_OK
from ..common import apply_flags, print_json, workspace_of
from ..progress import ProgressPrinter

# The settings `tlcore featurize` takes as flags (the parser offers exactly these).
FEATURIZE_SETTINGS = ("backbone", "layer", "weights", "backbone_file", "image_size", "pooling", "batch_size",
                      "val_fraction", "seed", "group_by")


def inspect(args) -> int:
    from ...data import load_edits
    from ...data.any_source import is_text_data, load_any

    workspace = workspace_of(args)
    text = {"text_column": args.text_column, "label_column": args.label_column}
    extra = {} if is_text_data(args.data, **text) else {"group_by": args.group_by,
                                                         "edits": load_edits(args.data, workspace)}
    dataset = load_any(args.data, **text, val_fraction=args.val_fraction, seed=args.seed, workspace=workspace,
                       **extra)
    if args.json:
        print_json(dataset.report.to_dict())
    else:
        print(dataset.report.to_text())
    return EXIT_OK


def featurize(args) -> int:
    from ...config import TrainConfig
    from ...feature_table import read_info
    from ...features import featurize_on

    config = TrainConfig(data=str(Path(args.data).expanduser().resolve()))
    apply_flags(config, args, FEATURIZE_SETTINGS).validate()
    progress = ProgressPrinter()
    out = featurize_on(args.engine, config, args.out, master=args.master, partitions=args.partitions,
                       workspace=workspace_of(args), on_event=progress)
    progress.close()
    info = read_info(out)
    counts = ", ".join(f"{n} {split}" for split, n in info.counts.items())
    print(f"Features written to {out} ({counts}; {info.feature_dim} numbers per image from {info.backbone} "
          f"cut at {info.layer}, {info.image_size} px); how they were made: {out}.json")
    if info.spark:
        print(f"Spark: {info.spark.get('partitions')} partitions on {info.spark.get('workers')} worker "
              f"process(es), master {info.spark.get('master')}")
    for item in info.skipped:
        print(f"  left out {item['path']}: {item['reason']}")
    return EXIT_OK
