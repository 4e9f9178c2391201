"""The model card: what the model is, what it was trained on, how well it does, how to use it.

:func:`build_model_card` writes the card as Markdown, one named function per section. It
only formats what it is given: the caller passes settings and a data report that are
already fit to share (:mod:`tlcore.export.share`), the accuracy of the 8-bit model as
:mod:`tlcore.export.accuracy` measured it, and the run's trust settings (calibration,
threshold, "I don't know"; :class:`tlcore.trust.settings.Trust`) when the model carries them.
Every figure is shown with its 95 % interval when the evaluation holds one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..config import TrainConfig
from ..findings import Finding
from ..progress import SPLIT_WORDS
from ..trust.graph import OUTPUT_MEANINGS
from ..trust.intervals import with_interval
from ..trust.settings import Trust
from .card_text import text_input_section, text_limitations, text_model_lines, text_usage_section, what_it_knows
from .card_usage import usage_section
from .formats import DOWNLOADS, EXPORT_FORMATS, TOKENIZER_DETAIL, TOKENIZER_DIR

_LABELS = DOWNLOADS["labels"].file_name
_KERAS = EXPORT_FORMATS["keras"].file_name
_SAVED_MODEL = EXPORT_FORMATS["savedmodel"].file_name
_SAVED_MODEL_ZIP = DOWNLOADS["savedmodel-zip"].file_name
_TFLITE = EXPORT_FORMATS["tflite"].file_name
_QUANT = EXPORT_FORMATS["tflite-quant"].file_name
_CONFIG = DOWNLOADS["config"].file_name


# ---------------------------------------------------------------- Markdown pieces


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "—"
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _warning_text(warning: Any) -> str:
    """A data report warning as one line: a finding (``{"problem", "fix", "paths"}``) reads
    ``"problem; fix"``; older run folders hold that sentence already."""
    if isinstance(warning, dict) and "problem" in warning:
        return str(Finding.from_dict(warning))
    return str(warning)


# ---------------------------------------------------------------- sections


def _mode_note(config: dict, mode: str, evaluation: dict | None = None) -> str:
    """What the mode did to the backbone, in words (a random start trains every layer;
    fine-tuning says which weights were kept and why)."""
    if config and TrainConfig(weights=config.get("weights") or "none",
                              backbone_file=config.get("backbone_file")).from_scratch:
        return " (no pretrained weights: every layer was trained from scratch)"
    verdict = ((evaluation or {}).get("fine_tune") or {}).get("message")
    if mode == "fine-tune" and verdict:
        return f" (the top of the backbone was unfrozen and trained at a low learning rate). {verdict}"
    if mode == "fine-tune":
        return " (the top of the backbone was unfrozen and trained at a low learning rate)"
    return " (the backbone is frozen; only the head was trained)"


def _title_section(classes: list[str], backbone: str, name: str | None, kind: str = "image") -> list[str]:
    title = f"# Model card: {backbone} {kind} classifier" + (f" ({name})" if name else "")
    return [title, "",
            f"A {len(classes)}-class {kind} classifier made with Transfer Studio (tlcore) "
            f"on {time.strftime('%Y-%m-%d')}.", ""]


def _model_section(config: dict, classes: list[str], backbone: str, layer: str, evaluation: dict | None,
                   num_params: int | None, text: dict | None = None) -> list[str]:
    mode = config.get("mode", "unknown")
    out = ["## Model", "", *(text_model_lines(config, text) if text is not None else [
           f"- Backbone: **{backbone}**"
           + (" (the user's own model)" if config.get("backbone_file")
              else f" (pretrained weights: {config.get('weights')})"),
           f"- Bottleneck layer (where the backbone is cut): **{layer}**"]),
           f"- Mode: **{mode}**" + _mode_note(config, mode, evaluation),
           f"- Head: {config.get('pooling', 'avg')} pooling, dropout {config.get('dropout', '?')}, "
           f"dense softmax over {len(classes)} classes"]
    if num_params:
        out.append(f"- Parameters: {num_params:,}")
    return out


def _outputs_lines(classes: list[str], trust: Trust | None) -> list[str]:
    """What the model returns: one array of probabilities, or the trusted model's named outputs."""
    if trust is None:
        return [f"- Output: `(batch, {len(classes)})` probabilities (softmax) in the order of `{_LABELS}`."]
    names = [n for n in OUTPUT_MEANINGS if n != "positive" or len(classes) == 2]
    return ["- Output: a dict of named outputs (the same names in every format):",
            *[f"  - `{name}`: {OUTPUT_MEANINGS[name]}" for name in names]]


def _input_output_section(classes: list[str], image_size: int | None, tflite_note: str,
                          trust: Trust | None = None, onnx_note: str = "") -> list[str]:
    out = ["", "## Input and output", "",
           "- Input: a batch of RGB images as `uint8` (0-255), shape `(batch, height, width, 3)`; "
           "any height and width.",
           f"- Resizing to {image_size} x {image_size} pixels (bilinear) and the backbone's own preprocessing "
           "happen **inside** the model." if image_size else
           "- Resizing and the backbone's own preprocessing happen **inside** the model.",
           *_outputs_lines(classes, trust),
           "- The app (tlcore) resizes a photo with the same arithmetic as the model's own resize layer "
           "(`tlcore.images.resize_image`), so the model given the photo at its own size gives the app's answer.",
           ]
    if tflite_note:
        out.append(f"- TensorFlow Lite: {tflite_note}")
    if onnx_note:
        out.append(f"- ONNX: {onnx_note}")
    return out


def _classes_section(classes: list[str]) -> list[str]:
    return ["", "## Classes", "", *_table(["index", "class"], list(enumerate(classes))), ""]


def _data_section(report: dict, classes: list[str], noun: str = "images") -> list[str]:
    out = ["## Training data", ""]
    if report.get("source"):
        out.append(f"- Dataset: **{report['source']}**")
    if report.get("validation"):
        out.append(f"- Validation: {report['validation']}")
    counts = report.get("counts") or {}
    splits = [s for s in ("train", "val", "test") if counts.get(s)] + [
        s for s in counts if s not in ("train", "val", "test") and counts.get(s)]
    if splits:
        rows = [[c, *[counts[s].get(c, 0) for s in splits]] for c in classes]
        rows.append(["**total**", *[sum(counts[s].values()) for s in splits]])
        out += ["", *_table(["class", *splits], rows), ""]
    if report.get("imbalance_ratio"):
        out.append(f"- Imbalance (largest / smallest training class): {float(report['imbalance_ratio']):.1f}")
    for key, label in (("skipped", "Files skipped"), ("duplicates", "Groups of identical files"),
                       ("leakage", f"{noun.capitalize()} found in more than one split")):
        if report.get(key):
            out.append(f"- {label}: {len(report[key])}")
    if report.get("warnings"):
        out += ["- Warnings:", *[f"  - {_warning_text(w)}" for w in report["warnings"]]]
    return out + [""]


def _metrics_section(evaluation: dict, title: str, noun: str = "images") -> list[str]:
    classes = evaluation.get("classes") or list((evaluation.get("report") or {}).keys())
    out = [f"### {title}", ""]
    n = evaluation.get("num_images")
    acc = evaluation.get("accuracy")
    out.append(f"- Accuracy: **{with_interval(acc, evaluation.get('accuracy_ci'))}**"
               + (f" on {n} {noun}" if n else "") if isinstance(acc, (int, float)) else "- Accuracy: not recorded")
    if evaluation.get("macro_f1") is not None:
        out.append(f"- Macro-averaged F1: {evaluation['macro_f1']:.3f}")
    if evaluation.get("sensitivity") is not None:
        at = f" at threshold {evaluation['threshold']:.3f}" if evaluation.get("threshold") is not None else ""
        out.append(f"- Sensitivity (recall of '{evaluation.get('positive_class', classes[-1] if classes else '?')}')"
                   f"{at}: {with_interval(evaluation['sensitivity'], evaluation.get('sensitivity_ci'))}; "
                   f"specificity: {with_interval(evaluation.get('specificity'), evaluation.get('specificity_ci'))}")
    unknown = evaluation.get("unknown")
    if isinstance(unknown, dict) and unknown.get("count") is not None:
        known = unknown.get("accuracy_known")
        out.append(f"- Answered \"I don't know\": {unknown['count']} {noun} ({100 * float(unknown.get('share', 0)):.1f} %)"
                   + (f"; accuracy on the others: {100 * float(known):.1f} %" if known is not None else ""))
    if "misclassified" in evaluation:
        out.append(f"- Misclassified {noun}: {len(evaluation['misclassified'])}")
    report = evaluation.get("report") or {}
    if report:
        rows = []
        with_ci = any(isinstance(v, dict) and v.get("recall_ci") for v in report.values())
        for name, values in report.items():
            if not isinstance(values, dict):
                continue
            f1 = values.get("f1", values.get("f1-score"))
            recall = with_interval(values.get("recall"), values.get("recall_ci")) if with_ci else values.get("recall")
            rows.append([name, values.get("precision"), recall, f1, values.get("support")])
        out += ["", *_table(["class", "precision", "recall (95 % interval)" if with_ci else "recall", "F1", "support"],
                            rows)]
    matrix = evaluation.get("confusion_matrix")
    if matrix and classes:
        out += ["", "Confusion matrix (rows: true class, columns: predicted class):", ""]
        out += _table(["true \\ predicted", *classes], [[classes[i], *row] for i, row in enumerate(matrix)])
    return out + [""]


def _accuracy_line(accuracy: dict) -> str:
    """One line about the 8-bit model's accuracy (measured, or why not)."""
    if accuracy.get("tflite_int8") is None:
        return (f"- The 8-bit model's accuracy was not measured: {accuracy.get('not_measured', 'unknown reason')}. "
                f"Compare it with `{_TFLITE}` on your own images before relying on it.")
    split = SPLIT_WORDS.get(accuracy["split"], accuracy["split"])
    n, differ = accuracy["images"], accuracy.get("disagree", 0)
    return (f"- Measured at export: float: {100 * accuracy['float']:.1f} %, 8-bit TFLite: "
            f"{100 * accuracy['tflite_int8']:.1f} % on {n} {split} images; the two give a different answer "
            f"for {differ} of the {n} images." + (" With so few images, one image moves the accuracy by "
                                                  f"{100 / n:.1f} points." if n < 200 else ""))


def _evaluation_section(evaluation: dict | None, int8_accuracy: dict | None, noun: str = "images") -> list[str]:
    out = ["## Evaluation", ""]
    if evaluation:
        split = evaluation.get("split", "val")
        out += _metrics_section(evaluation, "Validation split" if split == "val" else f"{split} split", noun)
        if isinstance(evaluation.get("test"), dict):
            out += _metrics_section(evaluation["test"], "Test split (never used for training or model selection)",
                                    noun)
    else:
        out += ["No evaluation was recorded for this model.", ""]
    if int8_accuracy is not None:
        out += [f"### 8-bit TensorFlow Lite (`{_QUANT}`)", "", _accuracy_line(int8_accuracy), ""]
    return out


def _calibration_lines(calibration: dict) -> list[str]:
    """Temperature scaling, and the expected calibration error before and after it."""
    temperature = calibration.get("temperature")
    out = [f"- Calibrated probabilities: temperature scaling, T = {float(temperature):.3f}, fitted on the "
           "validation split and folded into the last layer, so every format gives the calibrated probabilities."
           if temperature is not None else "- Calibrated probabilities: temperature scaling on the validation split."]
    for prefix, split in (("", "validation"), ("test_", "test")):
        before, after = calibration.get(f"{prefix}ece_before"), calibration.get(f"{prefix}ece_after")
        if before is not None and after is not None:
            note = " (cross-fitted: each half calibrated on the other)" if not prefix else ""
            out.append(f"- Expected calibration error on the {split} split: {float(before):.3f} before, "
                       f"{float(after):.3f} after{note}.")
    return out


def _operating_lines(point: dict) -> list[str]:
    """The two-class threshold and the figures at it, per split."""
    out = []
    if point.get("roc_auc") is not None:
        out.append(f"- ROC AUC {float(point['roc_auc']):.3f}"
                   + (f", precision-recall AUC {float(point['pr_auc']):.3f}" if point.get("pr_auc") is not None
                      else "") + " (validation split).")
    for split in ("val", "test"):
        figures = point.get(split)
        if not isinstance(figures, dict):
            continue
        words = SPLIT_WORDS.get(split, split)
        out.append(f"- At threshold {float(figures.get('threshold', point.get('threshold', 0.5))):.3f} on the {words} "
                   f"split ({figures.get('num_images', '?')} images): sensitivity "
                   f"{with_interval(figures.get('sensitivity'), figures.get('sensitivity_ci'))}, specificity "
                   f"{with_interval(figures.get('specificity'), figures.get('specificity_ci'))}, accuracy "
                   f"{with_interval(figures.get('accuracy'), figures.get('accuracy_ci'))}.")
    return out


def _trust_section(trust: Trust, evaluation: dict | None) -> list[str]:
    """Calibration, the threshold and "I don't know": the rules the exported model applies."""
    evaluation = evaluation or {}
    out = ["## Calibration, threshold and \"I don't know\"", ""]
    calibration = evaluation.get("calibration")
    out += _calibration_lines(calibration if isinstance(calibration, dict) else {"temperature": trust.temperature})
    out += [f"- {line}" for line in trust.describe()[1:]]  # the first line is the calibration, said above
    if trust.two_classes:
        out.append(f"- The `positive` output applies this threshold inside the model: 1.0 means "
                   f"{trust.positive_class}, 0.0 means "
                   f"{next(c for c in trust.classes if c != trust.positive_class)}.")
        point = evaluation.get("operating_point")
        if isinstance(point, dict):
            out += _operating_lines(point)
    off = trust.strictness == "off" or (trust.similarity_limit is None and trust.confidence_limit is None)
    out.append("- The `unknown` output is always 0.0 (strictness off), and the model holds no training features."
               if off else
               f"- The `unknown` output is 1.0 when the model does not know (strictness "
               f"**{trust.strictness}**); read `probabilities` only when it is 0.0. The similarity is measured "
               f"against the feature vectors of {trust.num_prototypes} training pictures kept inside the model "
               "(numbers, not the pictures; set the strictness to off before exporting to leave them out).")
    return out + [""]


def _settings_section(config: dict) -> list[str]:
    rows = []
    for key, value in config.items():
        if isinstance(value, dict):
            rows += [[f"{key}.{k}", v] for k, v in value.items()]
        else:
            rows.append([key, value])
    return ["## Settings", "",
            f"Every setting of the run (`{_CONFIG}`, beside the model). To repeat the run, set `data` to "
            f"your copy of the dataset and run `tlcore train --config {_CONFIG}`.", "",
            *_table(["setting", "value"], rows), ""]


def _files_section(files: dict[str, Path], text: dict | None = None) -> list[str]:
    out = ["## Files", ""]
    out += [f"- `{p.name}{'/' if p.is_dir() else ''}`: {EXPORT_FORMATS[k].detail}" for k, p in files.items()
            if k in EXPORT_FORMATS]
    if text is not None and "keras" in files:
        out.append(f"- `{TOKENIZER_DIR}/`: {TOKENIZER_DETAIL}")
    return out + [f"- `{_LABELS}`: the class names, in output order", ""]


def _limitations_section(trust: Trust | None = None) -> list[str]:
    return ["## Limitations", "",
            what_it_knows(trust, "image", "happens to look like"),
            "- The metrics come from the held-out images of the same dataset; images from another camera, "
            "hospital, lighting or population may score lower. Check on your own images before relying on it.",
            ""]


# ---------------------------------------------------------------- the card


def build_model_card(
    classes: Sequence[str],
    *,
    config: dict | None = None,
    evaluation: dict | None = None,
    data_report: dict | None = None,
    image_size: int | None = None,
    layer: str | None = None,
    num_params: int | None = None,
    tflite_input: str | None = None,
    onnx_input: str | None = None,
    files: dict[str, Path] | None = None,
    name: str | None = None,
    int8_accuracy: dict | None = None,
    trust: dict | None = None,
    text: dict | None = None,
) -> str:
    """The Markdown model card: what the model is, what it was trained on, how well it does, how to use it.

    The card is made to be shared: give it settings from :func:`shareable_config` and a data
    report without server folders (as :func:`export_model` does). ``int8_accuracy`` is what
    :func:`measure_int8_accuracy` measured (or why it could not). ``trust`` is the run's
    :meth:`Trust.to_dict` when the exported model carries its threshold and "I don't know".
    ``tflite_input`` and ``onnx_input`` say what input size those files take. ``text`` makes it a text
    classifier's card: the facts of :func:`tlcore.text.export.text_facts` (encoder, sequence length,
    tokenizer) and ``skipped`` (formats not exported, with the reason).
    """
    config = dict(config or {})
    files = dict(files or {})
    classes = [str(c) for c in classes]
    backbone = Path(config["backbone_file"]).name if config.get("backbone_file") else config.get("backbone", "unknown")
    layer = layer or config.get("layer") or "the backbone's default"
    tflite_note = tflite_input or ""
    settings = Trust.from_dict(trust) if trust else None
    noun = "texts" if text is not None else "images"
    out = _title_section(classes, backbone, name, "text" if text is not None else "image")
    out += _model_section(config, classes, backbone, layer, evaluation, num_params, text)
    if text is not None:
        out += text_input_section(classes, text, _outputs_lines(classes, settings))
    else:
        out += _input_output_section(classes, image_size, tflite_note, settings, onnx_input or "")
    out += _classes_section(classes)
    if data_report:
        out += _data_section(data_report, classes, noun)
    out += _evaluation_section(evaluation, int8_accuracy, noun)
    if settings is not None:
        out += _trust_section(settings, evaluation)
    if config:
        out += _settings_section(config)
    if files:
        out += _files_section(files, text)
    if text is not None:
        return "\n".join(out + text_usage_section(files, settings, text) + text_limitations(settings))
    out += usage_section(tflite_note, files, settings, onnx_note=onnx_input or "")
    out += _limitations_section(settings)
    return "\n".join(out)


__all__ = ["build_model_card"]
