"""The ``tlcore`` argument parser, built from the settings table and the export formats table.

Every ``tlcore train`` (and ``featurize``) flag is generated from :data:`tlcore.config.SETTINGS`:
its name, choices, value type, help and default come from the setting, so the flags can
never disagree with what :meth:`TrainConfig.validate` accepts or what the pages offer.
``--format`` reads :mod:`tlcore.export.formats`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse

from ..config import GROUP_DATA, GROUP_FINE_TUNING, GROUP_MODEL, GROUP_TRAINING, SETTINGS, Setting
from ..export.formats import EXPORT_FORMATS, FORMAT_CHOICES
from ..features import ENGINES
from ..runs import CONFIG, EVALUATION, EVENTS, LABELS, MODEL
from .commands import backbones, check, data, evaluate, explain, export, predict, threshold, train

EXPORT_FORMAT_CHOICES = FORMAT_CHOICES  # the formats, and "all"

# What a setting's help says only on the command line (the pages have no flags).
_CLI_NOTES = {
    "layer": "see 'tlcore layers BACKBONE'",
    "augment": "settings of the augmentation come from --config",
    "early_stopping": "--no-early-stopping turns it off",
    "feature_cache": "--no-feature-cache trains on images every epoch",
}
_TRAIN_GROUPS = ((GROUP_DATA, "data"), (GROUP_MODEL, "model"), (GROUP_TRAINING, "training"),
                 (GROUP_FINE_TUNING, "fine-tuning (with --mode fine-tune)"))


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


def _default_words(setting: Setting) -> str:
    """The default in words: "(default 0.001)", "(default on; …)", "(default: the backbone's …)"."""
    value = setting.default
    if value is None:
        words = f": {setting.default_text}" if setting.default_text else ""
    elif isinstance(value, bool):
        words = " on" if value else " off"
    elif isinstance(value, float):
        words = f" {value:g}"
    else:
        words = f" {value}"
    note = _CLI_NOTES.get(setting.name)
    if not words:
        return f" ({note})" if note else ""
    return f" (default{words}{'; ' + note if note else ''})"


def _add_setting(group, name: str, suffix: str = "") -> None:
    """Add the flag of setting ``name``; left unset it is None and the config keeps its value."""
    setting = SETTINGS[name]
    flag = "--" + name.replace("_", "-")
    text = setting.help + _default_words(setting) + suffix
    if setting.kind == "bool":
        group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    elif setting.choices:
        group.add_argument(flag, choices=setting.choices, help=text)
    else:
        kind = {"int": int, "float": float}.get(setting.kind, str)
        if kind is int and setting.minimum == 1:
            kind = _positive_int  # refused by argparse at once, before any run folder is made
        group.add_argument(flag, type=kind, metavar=setting.metavar, help=text)


def _add_workspace(p) -> None:
    p.add_argument("--workspace", metavar="DIR",
                   help="workspace folder where zips are extracted and features cached "
                        "(default: $TLCORE_WORKSPACE or ./workspace)")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("transfer-studio")
    except Exception:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The whole ``tlcore`` command line (each subcommand's ``func`` runs it)."""
    from .. import backbones as registry  # light: no TensorFlow at import

    names = ", ".join(registry.BACKBONES)
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
    _add_inspect(sub)
    _add_check(sub, names)
    _add_curve(sub, names)
    _add_edit(sub)
    _add_layers(sub, names)
    _add_train(sub, names)
    _add_evaluate(sub)
    _add_predict(sub)
    _add_explain(sub)
    _add_export(sub)
    _add_featurize(sub, names)
    _add_weights(sub)
    return parser


def _add_inspect(sub) -> None:
    p = sub.add_parser("inspect", formatter_class=_Formatter, help="check a dataset and print its report",
                       description="Check a labeled image dataset and print its report: classes, images per class "
                                   "and split, skipped files and why, identical files, leakage between splits, "
                                   "warnings. Exits 0 for a usable dataset, 2 (with the reason) otherwise.")
    p.add_argument("data", metavar="DATA",
                   help="a folder with one subfolder per class, a folder with train/ val/ [test/] folders, "
                        "or a .zip of either; or labelled texts (.csv, .tsv, .txt, a folder of .txt files)")
    p.add_argument("--val-fraction", type=float, default=SETTINGS["val_fraction"].default, metavar="F",
                   help="share of each class held out for validation when there is no val/ folder")
    p.add_argument("--seed", type=int, default=SETTINGS["seed"].default, metavar="N",
                   help="seed of the validation split")
    for name in ("text_column", "label_column"):
        p.add_argument("--" + name.replace("_", "-"), dest=name, metavar="NAME", help=SETTINGS[name].help)
    p.add_argument("--group-by", default=SETTINGS["group_by"].default, metavar=SETTINGS["group_by"].metavar,
                   help=SETTINGS["group_by"].help + f" (default {SETTINGS['group_by'].default})")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_workspace(p)
    p.set_defaults(func=data.inspect)


def _add_check_flags(p, names: str) -> None:
    p.add_argument("data", metavar="DATA", help="dataset folder or .zip")
    for name in check.CHECK_SETTINGS:
        _add_setting(p, name, f": {names}" if name == "backbone" else "")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_workspace(p)


def _add_check(sub, names: str) -> None:
    p = sub.add_parser("check", formatter_class=_Formatter,
                       help="find wrong labels, near-duplicates, leaks, outliers and shifted splits",
                       description="Check a dataset on the bottleneck features of its pictures (computed once and "
                                   "cached, as training does): pictures that may be labelled wrong, near-duplicates "
                                   "(leaks between splits), outliers, val/test pictures that look different from "
                                   "training, subjects split across train and validation, and the learning curve. "
                                   "Changes you make with 'tlcore edit' are applied first. The result is also saved "
                                   "in the workspace, where the app shows it.")
    _add_check_flags(p, names)
    p.add_argument("--folds", type=_positive_int, metavar="N",
                   help="folds of the out-of-fold predictions (default: 5, fewer for tiny classes)")
    p.add_argument("--no-curve", action="store_true", help="skip the learning curve")
    p.add_argument("--no-map", action="store_true", help="skip the 2-D map of the pictures")
    p.set_defaults(func=check.check, needs_tensorflow=True)


def _add_curve(sub, names: str) -> None:
    p = sub.add_parser("curve", formatter_class=_Formatter, help="do I need more images? (a learning curve)",
                       description="Retrain the classifier head on 10-100 % of the training pictures' features, "
                                   "several times each, and print the validation accuracy of each class against "
                                   "the number of pictures, with a verdict per class.")
    _add_check_flags(p, names)
    p.set_defaults(func=check.curve, needs_tensorflow=True)


def _add_edit(sub) -> None:
    p = sub.add_parser("edit", formatter_class=_Formatter, help="relabel, exclude or keep pictures (files untouched)",
                       description="Decide about pictures the check flagged. Changes are kept in the workspace as a "
                                   "small list applied on top of the dataset: your files are never touched, the next "
                                   "run uses the changes and records them in its config.json. Without an action, "
                                   "list the changes.",
                       epilog="Example:\n  tlcore edit my_images --relabel train/ants/042.jpg bees --exclude "
                              "train/ants/imageNotFound.gif\n  tlcore edit my_images --undo")
    p.add_argument("data", metavar="DATA", help="dataset folder or .zip")
    p.add_argument("--relabel", nargs=2, action="append", metavar=("PATH", "CLASS"),
                   help="give PATH (as the report writes it) the class CLASS; repeat for several")
    p.add_argument("--exclude", action="append", metavar="PATH", help="leave PATH out of training and checks")
    p.add_argument("--keep", action="append", metavar="PATH", help="keep PATH as labelled (the check stops flagging it)")
    p.add_argument("--undo", action="store_true", help="undo the last change (a change of several pictures at once, too)")
    p.add_argument("--clear", action="store_true", help="drop every change")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    _add_workspace(p)
    p.set_defaults(func=check.edit)


def _add_layers(sub, names: str) -> None:
    p = sub.add_parser("layers", formatter_class=_Formatter, help="list the layers a backbone can be cut at",
                       description="List a backbone's layers (depth, name, type, output shape, parameters), "
                                   "marking the recommended cut points (★) and the default bottleneck layer (←). "
                                   f"Backbones: {names}.")
    p.add_argument("backbone", metavar="BACKBONE_OR_FILE",
                   help="a backbone name (e.g. MobileNetV2, VGG19) or your own .keras/.h5 model file")
    p.add_argument("--image-size", type=int, metavar="N",
                   help="input size in pixels, which sets the output shapes (default: the backbone's native size)")
    p.add_argument("--all", action="store_true", help="list every layer, not only the recommended cut points")
    p.set_defaults(func=backbones.layers, needs_tensorflow=True)


def _add_train(sub, names: str) -> None:
    p = sub.add_parser("train", formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="train a classifier on a labeled image dataset",
                       description="Train an image classifier by transfer learning and save the run folder "
                                   f"({CONFIG}, {EVENTS}, {MODEL}, {LABELS}, {EVALUATION}).\n"
                                   "Settings come from --config (e.g. an earlier run's config.json), then the "
                                   "flags below; anything not given keeps its default. Ctrl-C stops after the "
                                   "current batch and keeps the best weights.",
                       epilog="Example:\n"
                              "  tlcore train sample_data/shapes --backbone MobileNetV2 --epochs 10 --out runs\n"
                              "  tlcore train reviews.csv --text-column review --label-column stars   # texts\n"
                              f"  tlcore train --config runs/<run>/{CONFIG}   # repeat a run\n"
                              "  tlcore train --features features.parquet --epochs 10   # the head from "
                              "'tlcore featurize' output")
    p.add_argument("data", nargs="?", metavar="DATA",
                   help="dataset folder or .zip, or labelled texts (.csv, .tsv, .txt, or a folder of class folders "
                        "of .txt files) (overrides 'data' in --config); with --features, where the "
                        "table's pictures are on this machine (default: the folder the table was made from)")
    p.add_argument("--config", metavar="FILE", help=f"a {CONFIG} to start from (flags override its settings)")
    for group_name, title in _TRAIN_GROUPS:
        g = p.add_argument_group(title)
        for name, setting in SETTINGS.items():
            if setting.flag and setting.group == group_name:
                _add_setting(g, name, f": {names}" if name == "backbone" else "")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR",
                   help="folder the run folder is created in (default: the workspace's runs/ folder)")
    g.add_argument("--name", metavar="RUN_NAME", help="a word added to the run folder's name")
    _add_workspace(g)
    p.set_defaults(func=train.train, needs_tensorflow=True)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", formatter_class=_Formatter, help="show a run's accuracy and per-class scores",
                       description="Show a finished run's evaluation: accuracy, confusion matrix, per-class "
                                   "precision/recall/F1, sensitivity/specificity for two classes, and the "
                                   "misclassified images.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder printed at the end of 'tlcore train'")
    p.add_argument("--split", choices=("val", "test"), default="val",
                   help="which held-out split to show (test only when the dataset had a test/ folder)")
    p.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    p.set_defaults(func=evaluate.evaluate)
    _add_threshold(sub)


def _add_threshold(sub) -> None:
    from ..trust.operating import RULES
    from ..trust.unknown import STRICTNESS

    p = sub.add_parser("threshold", formatter_class=_Formatter, help="show or change how a run answers",
                       description="Show a run's threshold (two classes) and \"I don't know\" settings, with the "
                                   "figures at them; with options, change them. predict, the app and later "
                                   "exports use the saved settings.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder")
    p.add_argument("--rule", choices=tuple(RULES), help="how to choose the threshold on the validation pictures")
    p.add_argument("--target", type=float, metavar="F", help="the sensitivity or specificity to reach, e.g. 0.95")
    p.add_argument("--value", type=float, metavar="F", help="an exact threshold between 0 and 1")
    p.add_argument("--strictness", choices=tuple(STRICTNESS), help="how readily it answers \"I don't know\"")
    p.add_argument("--json", action="store_true", help="print the settings and figures as JSON")
    p.set_defaults(func=threshold.threshold)


def _add_predict(sub) -> None:
    tflite = " / ".join(EXPORT_FORMATS[f].file_name for f in ("tflite", "tflite-quant"))
    p = sub.add_parser("predict", formatter_class=_Formatter, help="classify new images (or texts)",
                       description="Print the most likely classes of images with a trained or exported model. "
                                   "Images are resized exactly as in training. A text model takes texts "
                                   "(in quotes) or .txt files with one text per line.")
    p.add_argument("model", metavar="MODEL_OR_RUN",
                   help=f"a run folder, {MODEL}, {tflite}, or a {EXPORT_FORMATS['savedmodel'].file_name} folder "
                        f"(class names come from the {LABELS} beside it)")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (JPEG, PNG, GIF, BMP, TIFF, WebP) or folders of them; for a text model, "
                        "texts or .txt files")
    p.add_argument("--top-k", type=_positive_int, default=3, metavar="K", help="how many classes to show per image")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.set_defaults(func=predict.predict, needs_tensorflow=True)


def _add_explain(sub) -> None:
    p = sub.add_parser("explain", formatter_class=_Formatter, help="show where a run's model looks (Grad-CAM)",
                       description="Write one Grad-CAM overlay PNG per image into --out: the picture, resized as "
                                   "in training, coloured where the evidence for the explained class lies (red: "
                                   "most). Prints each image's explained class, its probability and the file.")
    p.add_argument("run", metavar="RUN", help=f"a run folder or its {MODEL}")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (JPEG, PNG, GIF, BMP, TIFF, WebP) or folders of them")
    p.add_argument("--out", required=True, metavar="DIR", help="folder the overlays are written to (created)")
    p.add_argument("--class", dest="class_name", metavar="NAME",
                   help="the class to explain in every image (default: each image's predicted class)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=explain.explain, needs_tensorflow=True)


def _add_export(sub) -> None:
    width = max(len(name) for name in EXPORT_FORMATS)
    table = "\n".join(f"  {f.name:<{width}}  {f.file_name}: {f.detail}" for f in EXPORT_FORMATS.values())
    p = sub.add_parser("export", formatter_class=_Formatter, help="export a run's model for use elsewhere",
                       description="Export a finished run's model. Every format takes uint8 RGB images of any "
                                   "size (resized and preprocessed inside) and returns class probabilities; "
                                   f"{LABELS} and a model card are always written.",
                       epilog=f"Formats:\n{table}")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder printed at the end of 'tlcore train'")
    p.add_argument("--format", action="append", choices=EXPORT_FORMAT_CHOICES, metavar="FORMAT",
                   help=f"{', '.join(EXPORT_FORMATS)} (listed below), or all; repeat for several (default: all)")
    p.add_argument("--out", metavar="DIR", help="folder to write to (default: RUN_DIR/export)")
    p.set_defaults(func=export.export, needs_tensorflow=True)


def _add_featurize(sub, names: str) -> None:
    p = sub.add_parser("featurize", formatter_class=_Formatter,
                       help="write bottleneck features of a dataset to Parquet",
                       description="Compute the bottleneck features of every image of a dataset and write "
                                   "them to a Parquet file (columns: path, label, label_index, split, features), "
                                   "for use in other models (e.g. scikit-learn).")
    p.add_argument("data", metavar="DATA", help="dataset folder or .zip")
    p.add_argument("--out", required=True, metavar="FILE.parquet",
                   help="the Parquet table to write (a file; a folder of parts with --engine spark), "
                        "with FILE.parquet.json beside it saying how the features were made")
    p.add_argument("--engine", choices=list(ENGINES), default="local",
                   help="; ".join(f"{name}: {what}" for name, what in ENGINES.items()))
    p.add_argument("--master", metavar="URL", default=None,
                   help="with --engine spark: local[*] (default), local[N], spark://HOST:7077 or sc://HOST:15002")
    p.add_argument("--partitions", type=int, metavar="N", default=None,
                   help="with --engine spark: how many tasks the images are split into (default: the cluster's cores)")
    for name in data.FEATURIZE_SETTINGS:
        _add_setting(p, name, f": {names}" if name == "backbone" else "")
    _add_workspace(p)
    p.set_defaults(func=data.featurize, needs_tensorflow=True)


def _add_weights(sub) -> None:
    p = sub.add_parser("weights", formatter_class=_Formatter, help="manage pretrained weight files",
                       description="Manage pretrained weight files for machines without internet access.")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    w = wsub.add_parser("import", formatter_class=_Formatter, help="copy a downloaded weights file into Keras's cache",
                        description="Copy a downloaded ImageNet weights file (the .h5 named in a failed-download "
                                    "message) into Keras's cache folder, so weights 'imagenet' works offline.")
    w.add_argument("file", metavar="FILE", help="the downloaded .h5 weights file")
    w.set_defaults(func=backbones.weights_import)
    p.set_defaults(func=None, _parser=p)
