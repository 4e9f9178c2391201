"""Commands about trusting a dataset: ``tlcore check`` (the data check), ``tlcore curve`` (do I
need more images?) and ``tlcore edit`` (relabel, exclude or keep pictures without touching them)."""

from __future__ import annotations

import sys
from pathlib import Path

from ...errors import EXIT_OK
from ..common import apply_flags, print_json, workspace_of
from ..progress import ProgressPrinter

# The settings `tlcore check` and `tlcore curve` take as flags (the parser offers exactly these).
CHECK_SETTINGS = ("backbone", "layer", "weights", "backbone_file", "image_size", "pooling", "batch_size",
                  "val_fraction", "seed", "group_by")


def _config(args):
    """The check's settings: the flags given, and the edits saved for this dataset in the workspace."""
    from ...config import TrainConfig
    from ...data import dataset_name, load_edits

    data = str(Path(args.data).expanduser().resolve())
    config = TrainConfig(data=data, data_name=dataset_name(args.data))
    apply_flags(config, args, CHECK_SETTINGS)
    config.edits = [edit.to_dict() for edit in load_edits(data, workspace_of(args))]
    return config.validate()


def _with_progress(args, work):
    """Run ``work(progress)`` with a progress printer; on stderr with --json, so stdout holds the JSON alone."""
    progress = ProgressPrinter(sys.stderr if args.json else None)
    try:
        return work(progress)
    finally:
        progress.close()


def _print(args, values: dict, as_text) -> int:
    if args.json:
        print_json(values)
    else:
        print(as_text(values))
    return EXIT_OK


def check(args) -> int:
    from ...checks import check_dataset
    from ...checks.store import CheckFolder
    from ...checks.text import check_text

    config, workspace = _config(args), workspace_of(args)
    values = _with_progress(args, lambda progress: check_dataset(
        config, workspace=workspace, folds=args.folds, curve=not args.no_curve, embedding=not args.no_map,
        on_event=progress).to_dict())
    folder = CheckFolder(config.data, workspace)  # the app shows the latest check of a dataset, whoever ran it
    folder.begin(config)
    folder.write_result(values)
    return _print(args, values, check_text)


def curve(args) -> int:
    from ...checks import learning_curve_of
    from ...checks.text import curve_text

    config = _config(args)
    values = _with_progress(args, lambda progress: learning_curve_of(config, workspace=workspace_of(args),
                                                                     on_event=progress))
    return _print(args, values, curve_text)


def edit(args) -> int:
    from ...data import Edit, add_edits, clear_edits, load_edits, undo_edit

    data, workspace = str(Path(args.data).expanduser().resolve()), workspace_of(args)
    changes = ([Edit(path, "relabel", label) for path, label in args.relabel or []]
               + [Edit(path, "exclude") for path in args.exclude or []]
               + [Edit(path, "keep") for path in args.keep or []])
    if args.undo:
        edits = undo_edit(data, workspace)
    elif args.clear:
        edits = clear_edits(data, workspace)
    elif changes:
        edits = add_edits(data, changes, workspace)
    else:
        edits = load_edits(data, workspace)
    if args.json:
        print_json([e.to_dict() for e in edits])
        return EXIT_OK
    if not edits:
        print("No changes: the next run uses the pictures as they are.")
    for e in edits:
        print(f"{e.action:<8} {e.path}" + (f" -> {e.label}" if e.label else ""))
    if edits:
        print(f"{len(edits)} change{'s' if len(edits) != 1 else ''}; your files are untouched. The next "
              "'tlcore train' and 'tlcore check' of this dataset use them ('tlcore edit DATA --undo' undoes the last).")
    return EXIT_OK
