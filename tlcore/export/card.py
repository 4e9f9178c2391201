"""The model card: what the model is, what it was trained on, how well it does, how to use it.

:func:`build_model_card` writes the card as Markdown, one named function per section. It
only formats what it is given: the caller passes settings and a data report that are
already fit to share (:mod:`tlcore.export.share`), and the accuracy of the 8-bit model as
:mod:`tlcore.export.accuracy` measured it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..config import TrainConfig
from ..findings import Finding
from ..progress import SPLIT_WORDS
from .formats import DOWNLOADS, EXPORT_FORMATS

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


def _title_section(classes: list[str], backbone: str, name: str | None) -> list[str]:
    title = f"# Model card: {backbone} image classifier" + (f" ({name})" if name else "")
    return [title, "",
            f"A {len(classes)}-class image classifier made with Transfer Studio (tlcore) "
            f"on {time.strftime('%Y-%m-%d')}.", ""]


def _model_section(config: dict, classes: list[str], backbone: str, layer: str, evaluation: dict | None,
                   num_params: int | None) -> list[str]:
    mode = config.get("mode", "unknown")
    out = ["## Model", "",
           f"- Backbone: **{backbone}**"
           + (" (the user's own model)" if config.get("backbone_file")
              else f" (pretrained weights: {config.get('weights')})"),
           f"- Bottleneck layer (where the backbone is cut): **{layer}**",
           f"- Mode: **{mode}**" + _mode_note(config, mode, evaluation),
           f"- Head: {config.get('pooling', 'avg')} pooling, dropout {config.get('dropout', '?')}, "
           f"dense softmax over {len(classes)} classes"]
    if num_params:
        out.append(f"- Parameters: {num_params:,}")
    return out


def _input_output_section(classes: list[str], image_size: int | None, tflite_note: str) -> list[str]:
    out = ["", "## Input and output", "",
           "- Input: a batch of RGB images as `uint8` (0-255), shape `(batch, height, width, 3)`; "
           "any height and width.",
           f"- Resizing to {image_size} x {image_size} pixels (bilinear) and the backbone's own preprocessing "
           "happen **inside** the model." if image_size else
           "- Resizing and the backbone's own preprocessing happen **inside** the model.",
           f"- Output: `(batch, {len(classes)})` probabilities (softmax) in the order of `{_LABELS}`.",
           "- The app (tlcore) resizes a photo with the same arithmetic as the model's own resize layer "
           "(`tlcore.images.resize_image`), so the model given the photo at its own size gives the app's answer.",
           ]
    if tflite_note:
        out.append(f"- TensorFlow Lite: {tflite_note}")
    return out


def _classes_section(classes: list[str]) -> list[str]:
    return ["", "## Classes", "", *_table(["index", "class"], list(enumerate(classes))), ""]


def _data_section(report: dict, classes: list[str]) -> list[str]:
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
                       ("leakage", "Images found in more than one split")):
        if report.get(key):
            out.append(f"- {label}: {len(report[key])}")
    if report.get("warnings"):
        out += ["- Warnings:", *[f"  - {_warning_text(w)}" for w in report["warnings"]]]
    return out + [""]


def _metrics_section(evaluation: dict, title: str) -> list[str]:
    classes = evaluation.get("classes") or list((evaluation.get("report") or {}).keys())
    out = [f"### {title}", ""]
    n = evaluation.get("num_images")
    acc = evaluation.get("accuracy")
    out.append(f"- Accuracy: **{acc:.1%}**" + (f" on {n} images" if n else "") if isinstance(acc, (int, float))
               else "- Accuracy: not recorded")
    if evaluation.get("macro_f1") is not None:
        out.append(f"- Macro-averaged F1: {evaluation['macro_f1']:.3f}")
    if evaluation.get("sensitivity") is not None:
        out.append(f"- Sensitivity (recall of '{evaluation.get('positive_class', classes[-1] if classes else '?')}'): "
                   f"{evaluation['sensitivity']:.3f}; specificity: {evaluation.get('specificity', float('nan')):.3f}")
    if "misclassified" in evaluation:
        out.append(f"- Misclassified images: {len(evaluation['misclassified'])}")
    report = evaluation.get("report") or {}
    if report:
        rows = []
        for name, values in report.items():
            if not isinstance(values, dict):
                continue
            f1 = values.get("f1", values.get("f1-score"))
            rows.append([name, values.get("precision"), values.get("recall"), f1, values.get("support")])
        out += ["", *_table(["class", "precision", "recall", "F1", "support"], rows)]
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


def _evaluation_section(evaluation: dict | None, int8_accuracy: dict | None) -> list[str]:
    out = ["## Evaluation", ""]
    if evaluation:
        split = evaluation.get("split", "val")
        out += _metrics_section(evaluation, "Validation split" if split == "val" else f"{split} split")
        if isinstance(evaluation.get("test"), dict):
            out += _metrics_section(evaluation["test"], "Test split (never used for training or model selection)")
    else:
        out += ["No evaluation was recorded for this model.", ""]
    if int8_accuracy is not None:
        out += [f"### 8-bit TensorFlow Lite (`{_QUANT}`)", "", _accuracy_line(int8_accuracy), ""]
    return out


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


def _files_section(files: dict[str, Path]) -> list[str]:
    out = ["## Files", ""]
    out += [f"- `{p.name}{'/' if p.is_dir() else ''}`: {EXPORT_FORMATS[k].detail}" for k, p in files.items()
            if k in EXPORT_FORMATS]
    return out + [f"- `{_LABELS}`: the class names, in output order", ""]


def _usage_section(tflite_note: str, files: dict[str, Path]) -> list[str]:
    out = ["## How to use it", "",
           "Every format takes `uint8` RGB pixels (0-255) and returns probabilities in the order of "
           f"`{_LABELS}`. Do **not** rescale or normalise the pixels yourself.", ""]
    load = (
        f'classes = json.load(open("{_LABELS}"))\n'
        'image = np.asarray(Image.open("photo.jpg").convert("RGB"))  # at its own size: the model resizes it\n'
        "batch = image[np.newaxis]  # shape (1, height, width, 3), dtype uint8\n"
    )
    imports = "import json\n\nimport numpy as np\nfrom PIL import Image\n"
    if "keras" in files:
        out += [f"### Keras (`{_KERAS}`)", "", "```python", imports + "import keras\n", load,
                f'model = keras.saving.load_model("{_KERAS}")',
                "probs = model.predict(batch)[0]",
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", ""]
    if "savedmodel" in files:
        out += [f"### TensorFlow SavedModel (`{_SAVED_MODEL}/`, also as `{_SAVED_MODEL_ZIP}`)", "",
                "```python", imports + "import tensorflow as tf\n", load,
                f'model = tf.saved_model.load("{_SAVED_MODEL}")',
                "probs = model.serve(tf.constant(batch)).numpy()[0]",
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", "",
                "TensorFlow Serving uses the `serving_default` signature (input `image`, output `output_0`).", ""]
    tflite_files = [f for f in ("tflite", "tflite-quant") if f in files]
    if tflite_files:
        name = files[tflite_files[0]].name
        out += [f"### TensorFlow Lite (`{'`, `'.join(files[f].name for f in tflite_files)}`)", "",
                tflite_note, "",
                "```python", imports
                + "from ai_edge_litert.interpreter import Interpreter  # or: from tensorflow.lite import Interpreter\n",
                load,
                f'interpreter = Interpreter(model_path="{name}")',
                "inp = interpreter.get_input_details()[0]",
                'interpreter.resize_tensor_input(inp["index"], batch.shape)',
                "interpreter.allocate_tensors()",
                'interpreter.set_tensor(inp["index"], batch)',
                "interpreter.invoke()",
                'probs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]',
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", ""]
    out += ["### With tlcore", "", "```python", "from tlcore.predict import load_predictor", "",
            f'predictor = load_predictor("{_KERAS}")  # or the run folder, {_SAVED_MODEL}/, {_TFLITE}',
            'print(predictor.predict(["photo.jpg"], top_k=3))', "```", "",
            f"or on the command line: `tlcore predict {_KERAS} photo.jpg`.", ""]
    return out


def _limitations_section() -> list[str]:
    return ["## Limitations", "",
            "- The model only knows the classes above; an image of anything else still gets one of them.",
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
    files: dict[str, Path] | None = None,
    name: str | None = None,
    int8_accuracy: dict | None = None,
) -> str:
    """The Markdown model card: what the model is, what it was trained on, how well it does, how to use it.

    The card is made to be shared: give it settings from :func:`shareable_config` and a data
    report without server folders (as :func:`export_model` does). ``int8_accuracy`` is what
    :func:`measure_int8_accuracy` measured (or why it could not).
    """
    config = dict(config or {})
    files = dict(files or {})
    classes = [str(c) for c in classes]
    backbone = Path(config["backbone_file"]).name if config.get("backbone_file") else config.get("backbone", "unknown")
    layer = layer or config.get("layer") or "the backbone's default"
    tflite_note = tflite_input or ""
    out = _title_section(classes, backbone, name)
    out += _model_section(config, classes, backbone, layer, evaluation, num_params)
    out += _input_output_section(classes, image_size, tflite_note)
    out += _classes_section(classes)
    if data_report:
        out += _data_section(data_report, classes)
    out += _evaluation_section(evaluation, int8_accuracy)
    if config:
        out += _settings_section(config)
    if files:
        out += _files_section(files)
    out += _usage_section(tflite_note, files)
    out += _limitations_section()
    return "\n".join(out)


__all__ = ["build_model_card"]
