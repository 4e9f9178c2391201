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
    from ...data import load_dataset, load_edits

    workspace = workspace_of(args)
    dataset = load_dataset(args.data, val_fraction=args.val_fraction, seed=args.seed, workspace=workspace,
                           group_by=args.group_by, edits=load_edits(args.data, workspace))
    if args.json:
        print_json(dataset.report.to_dict())
    else:
        print(dataset.report.to_text())
    return EXIT_OK


def featurize(args) -> int:
    from ...config import TrainConfig
    from ...features import featurize as write_features

    config = TrainConfig(data=str(Path(args.data).expanduser().resolve()))
    apply_flags(config, args, FEATURIZE_SETTINGS).validate()
    progress = ProgressPrinter()
    out = write_features(config, args.out, workspace=workspace_of(args), on_event=progress)
    progress.close()
    print(f"Features written to {out}")
    return EXIT_OK
