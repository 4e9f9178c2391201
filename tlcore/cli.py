"""The ``tlcore`` command line: the same functions the pages call, as subcommands.

    tlcore inspect DATA                 check a dataset and print its report
    tlcore layers BACKBONE              list the layers you can cut a backbone at
    tlcore train DATA [options]         train a classifier, with a progress bar
    tlcore evaluate RUN_DIR             accuracy, confusion matrix, per-class scores
    tlcore predict MODEL IMAGE...       top-k classes of new images
    tlcore export RUN_DIR               Keras, SavedModel, TFLite, labels and a model card
    tlcore featurize DATA --out F       bottleneck features to Parquet
    tlcore weights import FILE          make a downloaded weights file available offline

Exit status: 0 on success (a cancelled training run included), 2 for a problem with the
input (the message says how to fix it), 1 for an unexpected error (with where the details are).

Heavy modules (TensorFlow, Keras) are imported inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_UNEXPECTED, EXIT_USER_ERROR = 0, 1, 2

EXPORT_FORMAT_CHOICES = ("keras", "savedmodel", "tflite", "tflite-quant", "all")
_BAR_WIDTH = 24


# ---------------------------------------------------------------- output helpers


def _quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and Python logging out of the user's terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging
    import warnings

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="tensorflow")
    warnings.filterwarnings("ignore", module="keras")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr silenced.

    On machines without a GPU driver, TensorFlow's C++ start-up prints several lines
    ("Could not find cuda drivers...") before any log level applies. They are kept back
    and shown only if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded): nothing to hide
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # device start-up messages come here, not at import
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _bar(done: float, total: float) -> str:
    frac = 0.0 if not total else max(0.0, min(1.0, done / total))
    filled = int(round(frac * _BAR_WIDTH))
    return "[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]"


def _metric(name: str, value: Any) -> str:
    return f"{name} {value:.4f}" if isinstance(value, (int, float)) else ""


class ProgressPrinter:
    """Turns training events into a one-line progress bar plus one line per epoch.

    On a terminal the current batch is redrawn in place (carriage return); when output is
    piped to a file only stage changes and finished epochs are printed.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._line_open = False
        self._last_message = None
        self._epochs_done: dict[str, int] = {}

    def _write_line(self, text: str) -> None:
        if self._line_open:
            self.stream.write("\r\033[K")
            self._line_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def _redraw(self, text: str) -> None:
        if not self.live:
            return
        self.stream.write("\r\033[K" + text[:200])
        self.stream.flush()
        self._line_open = True

    def close(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "batch":
            self._batch(event)
        elif kind == "epoch":
            self._epoch(event)
        elif kind == "stage":
            self._stage(event)
        elif kind == "status":
            self._status(event)
        elif kind == "fine_tune_result" and event.get("message"):
            self._write_line(str(event["message"]))  # which weights were kept, and why

    def _batch(self, event: dict) -> None:
        stage = str(event.get("stage", ""))
        batch, batches = event.get("batch", 0), event.get("batches", 0)
        if stage in ("head", "fine-tune"):
            epoch = self._epochs_done.get(stage, 0) + 1
            parts = [f"{stage:<9}", f"epoch {epoch}/{event.get('epochs', '?')}", _bar(batch, batches),
                     f"{batch}/{batches}", _metric("loss", event.get("loss")), _metric("acc", event.get("accuracy"))]
        else:
            label = event.get("message") or stage
            parts = [str(label), _bar(batch, batches), f"{batch}/{batches}"]
        if event.get("images_per_s"):
            parts.append(f"{event['images_per_s']:.0f} img/s")
        self._redraw("  ".join(p for p in parts if p))

    def _epoch(self, event: dict) -> None:
        stage = str(event.get("stage", ""))
        self._epochs_done[stage] = int(event.get("epoch", self._epochs_done.get(stage, 0) + 1))
        parts = [f"{stage:<9}", f"epoch {event.get('epoch')}/{event.get('epochs')}",
                 _metric("loss", event.get("loss")), _metric("accuracy", event.get("accuracy")),
                 _metric("val_loss", event.get("val_loss")), _metric("val_accuracy", event.get("val_accuracy"))]
        if event.get("seconds") is not None:
            parts.append(f"{event['seconds']:.1f}s")
        if event.get("images_per_s"):
            parts.append(f"{event['images_per_s']:.0f} img/s")
        self._write_line("  ".join(p for p in parts if p))

    def _stage(self, event: dict) -> None:
        if event.get("total"):  # e.g. checking images: a progress count
            label = event.get("message") or event.get("stage", "")
            done, total = event.get("done", 0), event["total"]
            self._redraw(f"{label}  {_bar(done, total)}  {done}/{total}")
            if done >= total and self.live:
                self.close()
            return
        message = event.get("message") or f"Stage: {event.get('stage')}"
        if event.get("trainable_params") is not None:
            message += (f" ({event['trainable_params']:,} trainable, {event.get('frozen_params', 0):,} frozen "
                        "parameters")
            if event.get("image_size"):
                message += f", image size {event['image_size']} px"
            if event.get("layer"):
                message += f", bottleneck layer {event['layer']}"
            message += ")"
        if message != self._last_message:
            self._last_message = message
            self._write_line(message)

    def _status(self, event: dict) -> None:
        status = event.get("status")
        if status in ("finished", "cancelled", "failed"):
            self.close()
            return
        message = event.get("message")
        if message and message != self._last_message:
            self._last_message = message
            self._write_line(message)


class _StopOnCtrlC:
    """First Ctrl-C asks training to stop at the next batch (keeping its best weights); a second aborts."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self) -> "_StopOnCtrlC":
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


# ---------------------------------------------------------------- commands


def _cmd_inspect(args) -> int:
    from .data import load_dataset

    dataset = load_dataset(args.data, val_fraction=args.val_fraction, seed=args.seed, workspace=_workspace(args))
    if args.json:
        _print_json(dataset.report.to_dict())
    else:
        print(dataset.report.to_text())
    return EXIT_OK


def _cmd_layers(args) -> int:
    from .backbones import list_layers

    rows = list_layers(args.backbone, image_size=args.image_size)
    shown = rows if args.all else [r for r in rows if r.recommended or r.default]
    header = ("depth", "name", "type", "output shape", "params", "")
    table = [(str(r.depth), r.name, r.type, r.output_shape, f"{r.params:,}",
              ("★ recommended" if r.recommended else "") + ("  ← default" if r.default else "")) for r in shown]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) if i in (0, 4) else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in table:
        print(line(row))
    default = next((r.name for r in rows if r.default), None)
    print()
    print(f"{len(shown)} of {len(rows)} layers shown"
          + ("" if args.all else " (recommended cut points; --all lists every layer)")
          + (f". Default bottleneck: {default}." if default else "."))
    print("Cut at a layer with: tlcore train DATA --layer NAME")
    return EXIT_OK


def _workspace(args):
    from .workspace import Workspace, default_workspace

    return Workspace(args.workspace) if getattr(args, "workspace", None) else default_workspace()


_TRAIN_FLAGS = {
    # argparse dest -> TrainConfig field (flags left unset keep the config file's value)
    "backbone": "backbone", "layer": "layer", "mode": "mode", "weights": "weights",
    "backbone_file": "backbone_file", "epochs": "epochs", "batch_size": "batch_size",
    "learning_rate": "learning_rate", "optimizer": "optimizer", "image_size": "image_size",
    "pooling": "pooling", "augment": "augment", "fine_tune_layers": "fine_tune_layers",
    "fine_tune_from": "fine_tune_from", "fine_tune_epochs": "fine_tune_epochs",
    "fine_tune_learning_rate": "fine_tune_learning_rate", "class_weight": "class_weight",
    "label_smoothing": "label_smoothing", "dropout": "dropout", "patience": "patience",
    "early_stopping": "early_stopping", "seed": "seed", "val_fraction": "val_fraction",
    "feature_cache": "feature_cache", "mixed_precision": "mixed_precision",
    "fine_tune_augment": "fine_tune_augment", "fine_tune_views": "fine_tune_views",
}


def _absolute_if_path(value: str | None, keywords: tuple[str, ...] = ()) -> str | None:
    """Store user paths absolute in config.json, so a run can be replayed from any folder."""
    if not value or value.lower() in keywords:
        return value
    return str(Path(value).expanduser().resolve())


def _config_from_args(args):
    from .config import TrainConfig, load_config

    config = load_config(args.config) if args.config else TrainConfig()
    for dest, field_name in _TRAIN_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            setattr(config, field_name, value)
    if getattr(args, "data", None):
        config.data = args.data
        config.data_name = None  # a name from --config belongs to that config's dataset
    if config.data and not config.data_name:
        from .data import dataset_name

        config.data_name = dataset_name(config.data)  # shared files name the dataset by this, never by its path
    config.data = _absolute_if_path(config.data) or ""
    config.weights = _absolute_if_path(config.weights, ("imagenet", "none"))
    config.backbone_file = _absolute_if_path(config.backbone_file)
    return config.validate()


def _cmd_train(args) -> int:
    from .errors import TLCoreError
    from .runfiles import append_jsonl

    config = _config_from_args(args)
    if not config.data:
        raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip: tlcore train DATA.")
    workspace = _workspace(args)
    runs_dir = Path(args.out).expanduser() if args.out else workspace.runs_dir
    from .jobs import new_run_dir

    run_dir = new_run_dir(runs_dir, config, args.name).resolve()
    args._run_dir = run_dir  # for the error handler: where the log goes
    print(f"Run folder: {run_dir}")
    backbone = Path(config.backbone_file).name if config.backbone_file else config.backbone
    print(f"Training {backbone} ({config.mode}) on {config.data}; press Ctrl-C to stop early.")

    from .train import train

    progress = ProgressPrinter()
    try:
        with _StopOnCtrlC() as stop:
            result = train(config, run_dir=run_dir, on_event=progress, should_stop=stop, workspace=workspace)
    except TLCoreError as err:
        progress.close()
        append_jsonl(run_dir / "events.jsonl", {"t": time.time(), "type": "status", "status": "failed",
                                                "message": str(err)})
        raise
    except KeyboardInterrupt:
        progress.close()
        append_jsonl(run_dir / "events.jsonl", {"t": time.time(), "type": "status", "status": "cancelled",
                                                "message": "Stopped with Ctrl-C before the model was saved."})
        raise
    except BaseException as err:
        progress.close()
        log_path = run_dir / "log.txt"
        with open(log_path, "a", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        append_jsonl(run_dir / "events.jsonl", {"t": time.time(), "type": "status", "status": "failed",
                                                "message": f"{type(err).__name__}: {err}. Details are in {log_path}."})
        raise
    progress.close()
    evaluation = result.evaluation or {}
    print()
    if result.status == "cancelled":
        print("Training was cancelled; the best weights so far were kept and evaluated.")
    acc = evaluation.get("accuracy")
    if isinstance(acc, (int, float)):
        print(f"Validation accuracy: {acc:.1%} on {evaluation.get('num_images', '?')} images")
    test = evaluation.get("test")
    if isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float)):
        print(f"Test accuracy: {test['accuracy']:.1%} on {test.get('num_images', '?')} images")
    print(f"Run folder: {result.run_dir or run_dir}")
    print(f"Next: tlcore evaluate {result.run_dir or run_dir}   |   tlcore export {result.run_dir or run_dir}")
    return EXIT_OK


def _format_evaluation(evaluation: dict, title: str) -> list[str]:
    classes = [str(c) for c in evaluation.get("classes") or []]
    lines = [title]
    acc = evaluation.get("accuracy")
    if isinstance(acc, (int, float)):
        n = evaluation.get("num_images")
        lines.append(f"Accuracy: {acc:.1%}" + (f" on {n} images" if n is not None else ""))
    if (evaluation.get("fine_tune") or {}).get("message"):
        lines.append(evaluation["fine_tune"]["message"])
    if evaluation.get("from_scratch"):
        lines.append("Random start: every layer was trained from scratch (no transfer).")
    if evaluation.get("macro_f1") is not None:
        lines.append(f"Macro F1: {evaluation['macro_f1']:.3f}")
    if evaluation.get("sensitivity") is not None:
        lines.append(f"Sensitivity ({evaluation.get('positive_class', 'positive class')}): "
                     f"{evaluation['sensitivity']:.3f}   "
                     f"Specificity: {evaluation.get('specificity', float('nan')):.3f}")
    matrix = evaluation.get("confusion_matrix")
    if matrix and classes:
        corner = "true \\ predicted"
        width = max(len(corner), *(len(c) for c in classes))
        cell = max(6, *(len(c) for c in classes), *(len(str(v)) for row in matrix for v in row))
        lines += ["", "Confusion matrix (rows: true class, columns: predicted class):",
                  f"{corner:<{width}}  " + "  ".join(f"{c:>{cell}}" for c in classes)]
        for name, row in zip(classes, matrix):
            lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>{cell}}" for v in row))
    report = evaluation.get("report") or {}
    if report:
        width = max(len("class"), *(len(str(c)) for c in report))
        lines += ["", f"{'class':<{width}}  precision  recall      f1  support"]
        for name, values in report.items():
            if not isinstance(values, dict):
                continue
            f1 = values.get("f1", values.get("f1-score", 0.0))
            lines.append(f"{name:<{width}}  {values.get('precision', 0):>9.3f}  {values.get('recall', 0):>6.3f}  "
                         f"{f1:>6.3f}  {values.get('support', 0):>7}")
    mistakes = evaluation.get("misclassified")
    if mistakes is not None:
        lines += ["", f"Misclassified images: {len(mistakes)}"]
        for m in mistakes[:5]:
            lines.append(f"  {m.get('path')}: true {m.get('true')}, predicted {m.get('predicted')} "
                         f"({m.get('confidence', 0):.0%})")
        if len(mistakes) > 5:
            lines.append(f"  … and {len(mistakes) - 5} more (--json lists them all)")
    return lines


def _cmd_evaluate(args) -> int:
    from .errors import TLCoreError
    from .evaluate import evaluate_run

    run_dir = Path(args.run_dir).expanduser()
    evaluation = evaluate_run(run_dir)
    if args.split == "test":
        test = evaluation.get("test")
        if not isinstance(test, dict):
            raise TLCoreError(f"Run {run_dir.name} has no test split.",
                              "add a test/ folder to the dataset to get test metrics, or use --split val.")
        evaluation = test
    else:
        evaluation = {k: v for k, v in evaluation.items() if k != "test"}
    if args.json:
        _print_json(evaluation)
    else:
        title = f"Run {run_dir.resolve().name}: {'test' if args.split == 'test' else 'validation'} split"
        print("\n".join(_format_evaluation(evaluation, title)))
    return EXIT_OK


def _expand_images(items: list[str]) -> list[str]:
    """Files as given; folders become the (non-hidden) files inside them, sorted."""
    from .errors import TLCoreError

    paths: list[str] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            paths += [str(p) for p in found]
        else:
            paths.append(str(path))
    if not paths:
        raise TLCoreError("No images were given.", "name one or more image files or folders.")
    return paths


def _cmd_predict(args) -> int:
    from .errors import TLCoreError
    from .predict import load_predictor

    predictor = load_predictor(args.model)
    paths = _expand_images(args.images)
    results: list[dict] = []
    failures = 0
    for start in range(0, len(paths), 32):
        chunk = paths[start:start + 32]
        try:
            predictions = predictor.predict(chunk, top_k=args.top_k)
            pairs = list(zip(chunk, predictions, [None] * len(chunk)))
        except TLCoreError:  # find the bad file(s); keep going with the others
            pairs = []
            for path in chunk:
                try:
                    pairs.append((path, predictor.predict([path], top_k=args.top_k)[0], None))
                except TLCoreError as err:
                    pairs.append((path, None, str(err)))
        for path, top, error in pairs:
            if error:
                failures += 1
                results.append({"path": path, "error": error})
                if not args.json:
                    print(f"error: {error}", file=sys.stderr)
                continue
            results.append({"path": path, "predictions": [{"class": c, "probability": p} for c, p in top]})
            if not args.json:
                print(f"{path}: " + ", ".join(f"{c} {p:.1%}" for c, p in top))
    if args.json:
        _print_json(results)
    if not predictor.labels_found:
        print("note: no labels.json was found beside the model; classes are shown as class_0, class_1, …",
              file=sys.stderr)
    return EXIT_USER_ERROR if failures else EXIT_OK


def _cmd_export(args) -> int:
    from .export import FORMAT_HELP, export_accuracy, export_run

    formats = args.format or ["all"]
    paths = export_run(args.run_dir, formats, out_dir=args.out)
    print(f"Exported to {paths['labels'].parent}:")
    for key, path in paths.items():
        what = FORMAT_HELP.get(key, {"savedmodel-zip": "the SavedModel as one zip file for downloading",
                                     "labels": "class names in output order",
                                     "info": "input size and format (and the 8-bit model's accuracy), for tools",
                                     "config": "the run's settings, with the dataset named but no server folders",
                                     "card": "model card: what the model is, its data, metrics and how to use it"}
                               .get(key, key))
        print(f"  {path.name + ('/' if path.is_dir() else ''):<22} {what}")
    accuracy = export_accuracy(paths["info"].parent)
    if accuracy:
        print(f"Accuracy on {accuracy['images']} {accuracy['split']} images: float {accuracy['float']:.1%}, "
              f"8-bit TFLite {accuracy['tflite_int8']:.1%}")
    return EXIT_OK


def _cmd_featurize(args) -> int:
    from .config import TrainConfig
    from .features import featurize

    config = TrainConfig(data=str(Path(args.data).expanduser().resolve()))
    for name in ("backbone", "layer", "weights", "backbone_file", "image_size", "batch_size", "pooling",
                 "val_fraction", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(config, name, value)
    config.weights = _absolute_if_path(config.weights, ("imagenet", "none"))
    config.backbone_file = _absolute_if_path(config.backbone_file)
    config.validate()
    progress = ProgressPrinter()
    out = featurize(config, args.out, workspace=_workspace(args), on_event=progress)
    progress.close()
    print(f"Features written to {out}")
    return EXIT_OK


def _cmd_weights_import(args) -> int:
    from .backbones import import_weights

    dest = import_weights(args.file)
    print(f"Imported {Path(args.file).name} into {dest.parent}")
    print("Backbones with weights 'imagenet' now find it there without downloading.")
    return EXIT_OK


# ---------------------------------------------------------------- the parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' line breaks and shows each option's default when it has one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="DIR",
                   help="workspace folder where zips are extracted and features cached "
                        "(default: $TLCORE_WORKSPACE or ./workspace)")


def build_parser() -> argparse.ArgumentParser:
    from . import backbones as _registry  # light: no TensorFlow at import
    from .config import MODES, OPTIMIZERS, POOLINGS, TrainConfig

    names = ", ".join(_registry.BACKBONES)
    d = TrainConfig()  # the defaults shown in --help are the real ones
    parser = argparse.ArgumentParser(
        prog="tlcore",
        description="Transfer Studio on the command line: check a labeled image dataset, train an image "
                    "classifier by transfer learning, evaluate, predict and export it.",
        epilog="Run 'tlcore COMMAND --help' for the options of a command. Zip and image limits are settings "
               "(TLCORE_MAX_ZIP_FILES, TLCORE_MAX_ZIP_BYTES, TLCORE_MAX_ZIP_FILE_BYTES, TLCORE_MAX_ZIP_RATIO, "
               "TLCORE_MAX_ZIP_DEPTH, TLCORE_MAX_IMAGE_PIXELS); see docs/SAFETY.md.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full Python traceback of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # inspect
    p = sub.add_parser("inspect", formatter_class=_Formatter, help="check a dataset and print its report",
                       description="Check a labeled image dataset and print its report: classes, images per class "
                                   "and split, skipped files and why, identical files, leakage between splits, "
                                   "warnings. Exits 0 for a usable dataset, 2 (with the reason) otherwise.")
    p.add_argument("data", metavar="DATA",
                   help="a folder with one subfolder per class, a folder with train/ val/ [test/] folders, "
                        "or a .zip of either")
    p.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                   help="share of each class held out for validation when there is no val/ folder")
    p.add_argument("--seed", type=int, default=42, metavar="N", help="seed of the validation split")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_workspace(p)
    p.set_defaults(func=_cmd_inspect)

    # layers
    p = sub.add_parser("layers", formatter_class=_Formatter, help="list the layers a backbone can be cut at",
                       description="List a backbone's layers (depth, name, type, output shape, parameters), "
                                   "marking the recommended cut points (★) and the default bottleneck layer (←). "
                                   f"Backbones: {names}.")
    p.add_argument("backbone", metavar="BACKBONE_OR_FILE",
                   help="a backbone name (e.g. MobileNetV2, VGG19) or your own .keras/.h5 model file")
    p.add_argument("--image-size", type=int, metavar="N",
                   help="input size in pixels, which sets the output shapes (default: the backbone's native size)")
    p.add_argument("--all", action="store_true", help="list every layer, not only the recommended cut points")
    p.set_defaults(func=_cmd_layers, needs_tensorflow=True)

    # train
    p = sub.add_parser("train", formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="train a classifier on a labeled image dataset",
                       description="Train an image classifier by transfer learning and save the run folder "
                                   "(config.json, events.jsonl, model.keras, labels.json, evaluation.json).\n"
                                   "Settings come from --config (e.g. an earlier run's config.json), then the "
                                   "flags below; anything not given keeps its default. Ctrl-C stops after the "
                                   "current batch and keeps the best weights.",
                       epilog="Example:\n"
                              "  tlcore train sample_data/shapes --backbone MobileNetV2 --epochs 10 --out runs\n"
                              "  tlcore train --config runs/<run>/config.json   # repeat a run")
    p.add_argument("data", nargs="?", metavar="DATA",
                   help="dataset folder or .zip (overrides 'data' in --config)")
    p.add_argument("--config", metavar="FILE", help="a config.json to start from (flags override its settings)")
    g = p.add_argument_group("model")
    g.add_argument("--backbone", metavar="NAME", help=f"pretrained backbone (default {d.backbone}): {names}")
    g.add_argument("--layer", metavar="NAME",
                   help="bottleneck layer to cut the backbone at (default: its recommended layer; "
                        "see 'tlcore layers BACKBONE')")
    g.add_argument("--mode", choices=MODES,
                   help="feature-extraction trains only a new head on the frozen backbone; fine-tune then also "
                        f"unfreezes the top layers (default {d.mode})")
    g.add_argument("--weights", metavar="imagenet|none|FILE",
                   help="backbone weights: 'imagenet' (downloaded once and cached), 'none' (a random start: "
                        "the whole network is trained from scratch, the no-transfer baseline), or a "
                        f"weights file (default {d.weights})")
    g.add_argument("--backbone-file", metavar="FILE",
                   help="use your own .keras/.h5 model as the backbone instead of --backbone")
    g.add_argument("--image-size", type=int, metavar="N",
                   help="image size in pixels the images are resized to (default: the backbone's native size)")
    g.add_argument("--pooling", choices=POOLINGS, help=f"how the feature map becomes a vector (default {d.pooling})")
    g.add_argument("--dropout", type=float, metavar="F", help=f"dropout before the output layer (default {d.dropout})")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, metavar="N", help=f"epochs to train the head (default {d.epochs})")
    g.add_argument("--batch-size", type=_positive_int, metavar="N", help=f"images per batch (default {d.batch_size})")
    g.add_argument("--learning-rate", type=float, metavar="F",
                   help=f"learning rate of the head (default {d.learning_rate:g})")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help=f"optimizer (default {d.optimizer})")
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random flips, rotation, zoom, shifts, contrast and brightness while training "
                        "(default off; settings of the augmentation come from --config)")
    g.add_argument("--class-weight", choices=("auto", "none"),
                   help=f"'auto' weights classes by their rarity when they are imbalanced (default {d.class_weight})")
    g.add_argument("--label-smoothing", type=float, metavar="F",
                   help=f"label smoothing, 0 to 0.5 (default {d.label_smoothing:g})")
    g.add_argument("--patience", type=int, metavar="N",
                   help=f"early stopping: epochs without a better val_loss before stopping (default {d.patience})")
    g.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                   help="stop when val_loss stops improving and restore the best weights (default on; "
                        "--no-early-stopping turns it off)")
    g.add_argument("--seed", type=int, metavar="N",
                   help=f"random seed for the split, weights and shuffling (default {d.seed})")
    g.add_argument("--val-fraction", type=float, metavar="F",
                   help="share of each class held out for validation when there is no val/ folder "
                        f"(default {d.val_fraction:g})")
    g.add_argument("--feature-cache", action=argparse.BooleanOptionalAction, default=None,
                   help="feature extraction without augmentation computes bottleneck features once and caches "
                        "them on disk (default on; --no-feature-cache trains on images every epoch)")
    g.add_argument("--mixed-precision", choices=("auto", "on", "off"),
                   help=f"16-bit mixed precision ('auto': on for GPUs that support it; default {d.mixed_precision})")
    g = p.add_argument_group("fine-tuning (with --mode fine-tune)")
    g.add_argument("--fine-tune-layers", type=int, metavar="N",
                   help="how many layers with weights at the top of the cut backbone to unfreeze; "
                        f"BatchNorm stays frozen and is not counted (default {d.fine_tune_layers})")
    g.add_argument("--fine-tune-from", metavar="NAME", help="or: unfreeze from this layer upwards")
    g.add_argument("--fine-tune-epochs", type=int, metavar="N",
                   help=f"epochs of fine-tuning (default {d.fine_tune_epochs})")
    g.add_argument("--fine-tune-learning-rate", type=float, metavar="F",
                   help=f"learning rate while fine-tuning; keep it low (default {d.fine_tune_learning_rate:g})")
    g.add_argument("--fine-tune-augment", action=argparse.BooleanOptionalAction, default=None,
                   help="fine-tune on augmented copies of the training images even without --augment "
                        f"(default {'on' if d.fine_tune_augment else 'off'})")
    g.add_argument("--fine-tune-views", type=int, metavar="N",
                   help="augmented copies of each training image cached for fine-tuning; each epoch "
                        f"trains on the next one (default {d.fine_tune_views})")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR",
                   help="folder the run folder is created in (default: the workspace's runs/ folder)")
    g.add_argument("--name", metavar="RUN_NAME", help="a word added to the run folder's name")
    _add_workspace(g)
    p.set_defaults(func=_cmd_train, needs_tensorflow=True)

    # evaluate
    p = sub.add_parser("evaluate", formatter_class=_Formatter, help="show a run's accuracy and per-class scores",
                       description="Show a finished run's evaluation: accuracy, confusion matrix, per-class "
                                   "precision/recall/F1, sensitivity/specificity for two classes, and the "
                                   "misclassified images.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder printed at the end of 'tlcore train'")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="which held-out split to show (test only when the dataset had a test/ folder)")
    p.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    p.set_defaults(func=_cmd_evaluate)

    # predict
    p = sub.add_parser("predict", formatter_class=_Formatter, help="classify new images",
                       description="Print the most likely classes of images with a trained or exported model. "
                                   "Images are resized exactly as in training.")
    p.add_argument("model", metavar="MODEL_OR_RUN",
                   help="a run folder, model.keras, model.tflite / model_quant.tflite, or a saved_model folder "
                        "(class names come from the labels.json beside it)")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (JPEG, PNG, GIF, BMP, TIFF, WebP) or folders of them")
    p.add_argument("--top-k", type=_positive_int, default=3, metavar="K", help="how many classes to show per image")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=_cmd_predict, needs_tensorflow=True)

    # export
    p = sub.add_parser("export", formatter_class=_Formatter, help="export a run's model for use elsewhere",
                       description="Export a finished run's model. Every format takes uint8 RGB images of any "
                                   "size (resized and preprocessed inside) and returns class probabilities; "
                                   "labels.json and a model card are always written.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder printed at the end of 'tlcore train'")
    p.add_argument("--format", action="append", choices=EXPORT_FORMAT_CHOICES, metavar="FORMAT",
                   help="keras (model.keras), savedmodel (saved_model/ + saved_model.zip), tflite (float32), "
                        "tflite-quant (8-bit weights), or all; repeat for several (default: all)")
    p.add_argument("--out", metavar="DIR", help="folder to write to (default: RUN_DIR/export)")
    p.set_defaults(func=_cmd_export, needs_tensorflow=True)

    # featurize
    p = sub.add_parser("featurize", formatter_class=_Formatter,
                       help="write bottleneck features of a dataset to Parquet",
                       description="Compute the bottleneck features of every image of a dataset and write "
                                   "them to a Parquet file (columns: path, label, label_index, split, features), "
                                   "for use in other models (e.g. scikit-learn).")
    p.add_argument("data", metavar="DATA", help="dataset folder or .zip")
    p.add_argument("--out", required=True, metavar="FILE.parquet", help="the Parquet file to write")
    p.add_argument("--backbone", metavar="NAME", help=f"pretrained backbone (default {d.backbone}): {names}")
    p.add_argument("--layer", metavar="NAME", help="bottleneck layer (default: the backbone's recommended layer)")
    p.add_argument("--weights", metavar="imagenet|none|FILE", help=f"backbone weights (default {d.weights})")
    p.add_argument("--backbone-file", metavar="FILE", help="your own .keras/.h5 model as the backbone")
    p.add_argument("--image-size", type=int, metavar="N",
                   help="image size in pixels (default: the backbone's native size)")
    p.add_argument("--pooling", choices=POOLINGS, help=f"how the feature map becomes a vector (default {d.pooling})")
    p.add_argument("--batch-size", type=_positive_int, metavar="N", help=f"images per batch (default {d.batch_size})")
    p.add_argument("--val-fraction", type=float, metavar="F",
                   help=f"share of each class marked 'val' when there is no val/ folder (default {d.val_fraction:g})")
    p.add_argument("--seed", type=int, metavar="N", help=f"seed of the validation split (default {d.seed})")
    _add_workspace(p)
    p.set_defaults(func=_cmd_featurize, needs_tensorflow=True)

    # weights import
    p = sub.add_parser("weights", formatter_class=_Formatter, help="manage pretrained weight files",
                       description="Manage pretrained weight files for machines without internet access.")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    w = wsub.add_parser("import", formatter_class=_Formatter, help="copy a downloaded weights file into Keras's cache",
                        description="Copy a downloaded ImageNet weights file (the .h5 named in a failed-download "
                                    "message) into Keras's cache folder, so weights 'imagenet' works offline.")
    w.add_argument("file", metavar="FILE", help="the downloaded .h5 weights file")
    w.set_defaults(func=_cmd_weights_import)
    p.set_defaults(func=None, _parser=p)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("transfer-studio")
    except Exception:
        return "unknown"


# ---------------------------------------------------------------- entry point


def _unexpected(err: BaseException, args) -> int:
    run_dir = getattr(args, "_run_dir", None)
    if run_dir is not None:
        log_path = Path(run_dir) / "log.txt"  # _cmd_train already wrote the traceback there
    else:
        fd, name = tempfile.mkstemp(prefix="tlcore-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            traceback.print_exception(type(err), err, err.__traceback__, file=fh)
        log_path = Path(name)
    first = (str(err).strip().splitlines() or [""])[0][:300]
    print(f"error: unexpected {type(err).__name__}: {first}", file=sys.stderr)
    print(f"The full details are in {log_path}. Please report them if this keeps happening.", file=sys.stderr)
    return EXIT_UNEXPECTED


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        (getattr(args, "_parser", None) or parser).print_help()
        return EXIT_USER_ERROR
    from .errors import TLCoreError

    try:
        if getattr(args, "needs_tensorflow", False):
            _import_tensorflow_quietly()
        return func(args)
    except TLCoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        return _unexpected(err, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
