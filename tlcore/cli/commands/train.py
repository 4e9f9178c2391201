"""``tlcore train``: settings from ``--config`` and flags, a run folder, a progress bar, Ctrl-C.

Settings come from the config file first, then every flag that was given (the flags are
the :data:`tlcore.config.SETTINGS` marked ``flag``). The run's final status is recorded in
its folder whatever happens, so a failed command-line run reads like a failed page run.
"""

from __future__ import annotations

import signal
import sys
import traceback
from pathlib import Path

from ... import events as ev
from ...errors import EXIT_OK
from ..common import absolute_if_path, apply_flags, workspace_of
from ..progress import ProgressPrinter


class StopOnCtrlC:
    """First Ctrl-C asks training to stop at the next batch (keeping its best weights); a second aborts."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self) -> "StopOnCtrlC":
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread (e.g. called from a test runner thread)
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nCancelling: stopping after this batch and keeping the best weights so far "
                         "(press Ctrl-C again to abort at once).\n")

    def __call__(self) -> bool:
        return self.requested

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def config_from_args(args):
    """The run's TrainConfig: ``--config`` (or the defaults), then the flags given, validated.

    With ``--features TABLE`` (and no ``--config``) the table's sidecar takes the place of the
    defaults: its dataset, split and extractor, with the flags given on top.
    """
    from ...config import SETTINGS, TrainConfig, load_config

    if getattr(args, "features", None) and not args.config:
        return _features_config(args)
    config = load_config(args.config) if args.config else TrainConfig()
    apply_flags(config, args, [name for name, setting in SETTINGS.items() if setting.flag])
    config.features = absolute_if_path(config.features)
    if getattr(args, "data", None):
        config.data = args.data
        config.data_name = None  # a name from --config belongs to that config's dataset
    if config.data and not config.data_name:
        from ...data import dataset_name

        config.data_name = dataset_name(config.data)  # shared files name the dataset by this, never by its path
    config.data = absolute_if_path(config.data) or ""
    if config.data and not args.config:
        from ...data import load_edits

        # The changes saved with `tlcore edit` (or on the Data page) apply; a replayed config keeps its own.
        config.edits = [edit.to_dict() for edit in load_edits(config.data, workspace_of(args))]
    return config.validate()


def _features_config(args):
    """``tlcore train --features TABLE [DATA]``: the table's settings, then the flags given."""
    from ...config import SETTINGS, TrainConfig
    from ...data import dataset_name
    from ...train.from_features import features_config

    given = {name: getattr(args, name) for name, setting in SETTINGS.items()
             if setting.flag and name != "features" and getattr(args, name, None) is not None}
    paths = apply_flags(TrainConfig(), args, given)  # the flags' files, made absolute as for any run
    given.update({name: getattr(paths, name) for name in ("weights", "backbone_file", "group_by") if name in given})
    if getattr(args, "data", None):  # where the table's pictures are on this machine
        given.update(data=absolute_if_path(args.data), data_name=dataset_name(args.data))
    return features_config(args.features, given)


def train(args) -> int:
    from ...errors import TLCoreError
    from ...runs import RunFolder

    config = config_from_args(args)
    if not config.data and not config.features:
        raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip: tlcore train DATA.")
    workspace = workspace_of(args)
    runs_dir = Path(args.out).expanduser() if args.out else workspace.runs_dir
    from ...train.stages import prefer_text_encoder

    if prefer_text_encoder(config):
        print(f"The data holds texts, so the run uses the {config.backbone} text encoder "
              "(choose another with --backbone).")
    run = RunFolder.create(runs_dir.resolve(), config, args.name)
    args._run_dir = run.path  # for the error handler: where the log goes
    print(f"Run folder: {run.path}")
    backbone = Path(config.backbone_file).name if config.backbone_file else config.backbone
    source = f" from the features in {config.features}" if config.features else ""
    print(f"Training {backbone} ({config.mode}) on {config.data}{source}; press Ctrl-C to stop early.")

    from ...train import train as run_training

    progress = ProgressPrinter()
    try:
        with StopOnCtrlC() as stop:
            result = run_training(config, run_dir=run.path, on_event=progress, should_stop=stop, workspace=workspace)
    except TLCoreError as err:
        progress.close()
        run.log_status(ev.FAILED, str(err))
        raise
    except KeyboardInterrupt:
        progress.close()
        run.log_status(ev.CANCELLED, "Stopped with Ctrl-C before the model was saved.")
        raise
    except BaseException as err:
        progress.close()
        with open(run.log_path, "a", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        run.log_status(ev.FAILED, f"{type(err).__name__}: {err}. Details are in {run.log_path}.")
        raise
    progress.close()
    _print_result(result, run.path)
    return EXIT_OK


def _print_result(result, run_dir: Path) -> None:
    evaluation = result.evaluation or {}
    print()
    if result.status == ev.CANCELLED:
        print("Training was cancelled; the best weights so far were kept and evaluated.")
    from ...trust.intervals import with_interval

    acc = evaluation.get("accuracy")
    if isinstance(acc, (int, float)):
        print(f"Validation accuracy: {with_interval(acc, evaluation.get('accuracy_ci'))} on "
              f"{evaluation.get('num_images', '?')} images (95 % interval in brackets)")
    test = evaluation.get("test")
    if isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float)):
        print(f"Test accuracy: {with_interval(test['accuracy'], test.get('accuracy_ci'))} on "
              f"{test.get('num_images', '?')} images")
    shown = result.run_dir or run_dir
    print(f"Run folder: {shown}")
    print(f"Next: tlcore evaluate {shown}   |   tlcore export {shown}")
