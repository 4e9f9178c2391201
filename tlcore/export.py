"""Export a trained classifier: Keras, SavedModel, TFLite (float and quantized), labels, card.

Every exported model takes what the app takes: ``uint8`` RGB images, resized and
preprocessed *inside* the model, and returns class probabilities in ``labels.json`` order.
Nothing outside the model has to be reproduced by the person who downloads it, and nothing
exported names a folder on the server or a workspace (see :func:`shareable_config`).

TensorFlow and Keras are imported inside the functions, so ``import tlcore`` stays light.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import TLCoreError
from .runfiles import write_bytes_atomic

log = logging.getLogger(__name__)

FORMATS = ("keras", "savedmodel", "tflite", "tflite-quant")
FORMAT_HELP = {
    "keras": "Keras 3 model (load with keras.saving.load_model)",
    "savedmodel": "TensorFlow SavedModel folder, also zipped as saved_model.zip (TF Serving, tf.saved_model.load)",
    "tflite": "TensorFlow Lite, float32 (phones, Raspberry Pi)",
    "tflite-quant": "TensorFlow Lite with 8-bit weights (dynamic-range quantized, about 4x smaller)",
}
FILE_NAMES = {
    "keras": "model.keras",
    "savedmodel": "saved_model",
    "savedmodel-zip": "saved_model.zip",
    "tflite": "model.tflite",
    "tflite-quant": "model_quant.tflite",
    "labels": "labels.json",
    "info": "model_info.json",
    "card": "model_card.md",
    "config": "config.json",
}


def normalize_formats(formats: str | Iterable[str] | None) -> tuple[str, ...]:
    """Check export format names; ``"all"`` (or None) means every format, in a fixed order."""
    if formats is None:
        return FORMATS
    if isinstance(formats, str):
        formats = [formats]
    wanted: set[str] = set()
    for name in formats:
        key = str(name).strip().lower().replace("_", "-")
        key = {"saved-model": "savedmodel", "tflite-quantized": "tflite-quant", "quant": "tflite-quant"}.get(key, key)
        if key == "all":
            wanted.update(FORMATS)
        elif key in FORMATS:
            wanted.add(key)
        else:
            raise TLCoreError(
                f"Unknown export format {name!r}.",
                f"use one or more of: {', '.join(FORMATS)}, or 'all'.",
            )
    if not wanted:
        raise TLCoreError("No export format was chosen.", f"choose one or more of: {', '.join(FORMATS)}.")
    return tuple(f for f in FORMATS if f in wanted)


# ---------------------------------------------------------------- helpers


def _require_tensorflow_backend(fmt: str) -> None:
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise TLCoreError(
            f"Export format {fmt!r} needs Keras's TensorFlow backend, but Keras is running on {backend!r}.",
            "set the environment variable KERAS_BACKEND=tensorflow and start again, "
            "or export only the 'keras' format.",
        )


def model_image_size(model) -> int | None:
    """The training image size, read from the classifier's ``resize`` layer (None if absent)."""
    try:
        layer = model.get_layer("resize")
    except (ValueError, AttributeError):
        return None
    height = getattr(layer, "height", None)
    return int(height) if height else None


def model_bottleneck_layer(model) -> str | None:
    """The name of the layer the backbone was cut at (the last layer of the nested base)."""
    for layer in getattr(model, "layers", []):
        inner = getattr(layer, "layers", None)
        if inner and layer.name not in ("head", "augmentation"):
            return inner[-1].name
    return None


def _num_outputs(model) -> int | None:
    try:
        return int(model.output.shape[-1])
    except (AttributeError, TypeError, ValueError):
        return None


def _tmp_sibling(path: Path, suffix: str = "") -> Path:
    """A fresh, unused temporary name in the same folder (so a rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def _replace_dir(tmp_dir: Path, final: Path) -> None:
    """Move a finished folder into place; a reader sees the old or the new one, never half."""
    old = None
    if final.exists():
        old = _tmp_sibling(final, ".old")
        os.replace(final, old)
    os.replace(tmp_dir, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _save_keras(model, source: Path | None, dest: Path) -> Path:
    tmp = _tmp_sibling(dest, ".keras")  # Keras insists on the .keras suffix
    try:
        if source is not None:
            shutil.copyfile(source, tmp)
        else:
            model.save(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _export_saved_model(model, dest: Path, input_size: int | None = None) -> None:
    """Write the model's inference pass as a SavedModel into ``dest`` (``serve``, ``serving_default``).

    ``training=False`` is spelled out: ``model.export`` traces a bare ``model(x)``, which runs
    dropout (and BatchNormalization of a network trained from scratch) in training mode, so
    the export would be random and TFLite refuses its random ops. With ``input_size`` the
    input is fixed to that square size.
    """
    import keras

    size = input_size or None
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda image: model(image, training=False),
                         input_signature=[keras.InputSpec(shape=(None, size, size, 3), dtype="uint8")])
    try:
        archive.write_out(str(dest), verbose=False)
    except TypeError:  # older Keras without verbose=
        archive.write_out(str(dest))


def _zip_dir(folder: Path, dest: Path) -> Path:
    tmp = _tmp_sibling(dest)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, Path(folder.name) / path.relative_to(folder))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _convert_tflite(saved_model_dir: Path, quantize: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if quantize:
        # No representative dataset: dynamic-range quantization (int8 weights, float activations).
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _tflite_check(content: bytes, model, image_size: int | None, dynamic: bool, quantized: bool) -> None:
    """Run the converted model once (at an odd size when dynamic) and compare with Keras.

    Raises when it does not run or, for the float model, disagrees with Keras; the caller
    then falls back to a fixed input size.
    """
    from .predict import run_tflite, tflite_interpreter

    size = image_size or 224
    shape = (1, size + 13, size + 7, 3) if dynamic else (1, size, size, 3)
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    got = run_tflite(tflite_interpreter(model_content=content), image)
    want = np.asarray(model(image, training=False))
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        raise ValueError(f"TFLite output {got.shape} does not match Keras output {want.shape}")
    if not quantized and float(np.max(np.abs(got - want))) > 1e-3:
        raise ValueError(f"TFLite float output differs from Keras by {np.max(np.abs(got - want)):.2g}")


# ---------------------------------------------------------------- what may be shared

# Settings whose value is a file or folder on this server (a file name is kept, the folders are not).
_PATH_SETTINGS = ("backbone_file", "weights")
_WEIGHT_WORDS = ("imagenet", "none")


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or os.path.isabs(text)


def _file_name(text: str) -> str:
    """The last component of a path (either slash), e.g. ``my_model.keras``."""
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _strip_paths(value: Any) -> Any:
    """``value`` with every path-looking string reduced to its file name (dicts and lists too)."""
    if isinstance(value, str):
        return _file_name(value) if _looks_like_path(value) else value
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strip_paths(v) for v in value]
    return value


def shareable_config(config: Any) -> dict:
    """A run's settings fit to share: no server path and no workspace code in them.

    ``data`` becomes the dataset's name as the user gave it (``data_name``, else the zip's or
    folder's name, see :func:`tlcore.data.dataset_name`); ``backbone_file``, a weights file and
    any other path become bare file names. Everything else is kept, so the file still says
    how the run was made; to repeat it, point ``data`` at your own copy of the dataset.

    Args:
        config: A :class:`~tlcore.config.TrainConfig` or its ``to_dict()`` (a run's ``config.json``).

    Returns:
        A new dict; ``config`` is not changed.
    """
    from .data import dataset_name

    values = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
    name = dataset_name(values.get("data"), values.get("data_name"))
    shared = _strip_paths({k: v for k, v in values.items() if k not in ("data", "data_name")})
    for key in _PATH_SETTINGS:
        value = values.get(key)
        if isinstance(value, str) and value.lower() not in _WEIGHT_WORDS:
            shared[key] = _file_name(value)
    shared = {"data": name, **({"data_name": name} if "data_name" in values else {}), **shared}
    return {k: shared[k] for k in values if k in shared}  # the original order of the settings


def shareable_run_config(run_dir: str | Path) -> bytes:
    """A run's ``config.json`` as :func:`shareable_config` makes it, ready to download."""
    config = _read_json(Path(run_dir) / "config.json")
    if not isinstance(config, dict):
        raise TLCoreError(f"Run {Path(run_dir).name} has no readable config.json.", "train the run again.")
    secrets = _session_secrets(*(config.get(k) for k in ("data", "backbone_file", "weights")),
                               str(Path(run_dir).resolve()))
    return _shared_json(shareable_config(config), secrets)


def _without_folders(value: Any, folders: Sequence[str]) -> Any:
    """``value`` with each of ``folders`` cut out of every string in it (dicts and lists too)."""
    if isinstance(value, str):
        for folder in folders:
            value = value.replace(folder + "/", "").replace(folder, _file_name(folder))
        return value
    if isinstance(value, dict):
        return {k: _without_folders(v, folders) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_folders(v, folders) for v in value]
    return value


def _session_secrets(*paths: Any) -> list[str]:
    """Session workspace folders and codes named in any of ``paths`` (longest first)."""
    from .workspace import session_code

    secrets: set[str] = set()
    for path in paths:
        code = session_code(path) if isinstance(path, str) and path else None
        if code:
            parts = Path(path).parts
            at = next(i for i in range(1, len(parts)) if parts[i] == code and parts[i - 1] == "sessions")
            secrets.update({str(Path(*parts[: at + 1])), code})
    return sorted(secrets, key=len, reverse=True)


def _redact(text: str, secrets: Sequence[str]) -> str:
    """Last line of defence for a shared text file: cut any workspace folder or code still in it."""
    for secret in secrets:
        text = text.replace(secret + "/", "").replace(secret, "…")
    return text


def _shared_json(value: Any, secrets: Sequence[str]) -> bytes:
    """A JSON file to share: indented, UTF-8, with :func:`_redact` applied."""
    return _redact(json.dumps(value, indent=2, ensure_ascii=False, default=str), secrets).encode("utf-8")


def _shareable_report(report: dict | None, data_name: str | None) -> dict | None:
    """A data report for the model card: the dataset's name instead of server folders.

    Its paths are relative to the dataset already; any that is not (and any sentence naming a
    folder) loses the dataset's folders, so ``val/cats/1.png`` stays but no server path does.
    """
    if not report:
        return report
    from .data import dataset_name

    folders = {str(report[k]).rstrip("/") for k in ("root", "source") if report.get(k)}
    folders |= {str(Path(f).parent) for f in folders if Path(f).is_absolute() and str(Path(f).parent) != "/"}
    shared = _without_folders({k: v for k, v in report.items() if k not in ("source", "root")},
                              sorted(folders, key=len, reverse=True))
    shared["source"] = data_name or dataset_name(report.get("source"))
    return shared


# ---------------------------------------------------------------- the model card


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
        out += ["- Warnings:", *[f"  - {w}" for w in report["warnings"]]]
    return out + [""]


def _usage_section(classes_file: str, size: int | None, tflite_note: str, files: dict[str, Path]) -> list[str]:
    out = ["## How to use it", "",
           "Every format takes `uint8` RGB pixels (0-255) and returns probabilities in the order of "
           f"`{classes_file}`. Do **not** rescale or normalise the pixels yourself.", ""]
    load = (
        f'classes = json.load(open("{classes_file}"))\n'
        'image = np.asarray(Image.open("photo.jpg").convert("RGB"))  # at its own size: the model resizes it\n'
        "batch = image[np.newaxis]  # shape (1, height, width, 3), dtype uint8\n"
    )
    imports = "import json\n\nimport numpy as np\nfrom PIL import Image\n"
    if "keras" in files:
        out += ["### Keras (`model.keras`)", "", "```python", imports + "import keras\n", load,
                'model = keras.saving.load_model("model.keras")',
                "probs = model.predict(batch)[0]",
                "print(classes[int(probs.argmax())], float(probs.max()))", "```", ""]
    if "savedmodel" in files:
        out += ["### TensorFlow SavedModel (`saved_model/`, also as `saved_model.zip`)", "",
                "```python", imports + "import tensorflow as tf\n", load,
                'model = tf.saved_model.load("saved_model")',
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
            'predictor = load_predictor("model.keras")  # or the run folder, saved_model/, model.tflite',
            'print(predictor.predict(["photo.jpg"], top_k=3))', "```", "",
            "or on the command line: `tlcore predict model.keras photo.jpg`.", ""]
    return out


def _mode_note(config: dict, mode: str, evaluation: dict | None = None) -> str:
    """What the mode did to the backbone, in words (a random start trains every layer;
    fine-tuning says which weights were kept and why)."""
    from .config import TrainConfig

    if config and TrainConfig(weights=config.get("weights") or "none",
                              backbone_file=config.get("backbone_file")).from_scratch:
        return " (no pretrained weights: every layer was trained from scratch)"
    verdict = ((evaluation or {}).get("fine_tune") or {}).get("message")
    if mode == "fine-tune" and verdict:
        return f" (the top of the backbone was unfrozen and trained at a low learning rate). {verdict}"
    if mode == "fine-tune":
        return " (the top of the backbone was unfrozen and trained at a low learning rate)"
    return " (the backbone is frozen; only the head was trained)"


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
    backbone = Path(config["backbone_file"]).name if config.get("backbone_file") else config.get("backbone", "unknown")
    layer = layer or config.get("layer") or "the backbone's default"
    mode = config.get("mode", "unknown")
    classes = [str(c) for c in classes]
    title = f"# Model card: {backbone} image classifier" + (f" ({name})" if name else "")
    out = [title, "",
           f"A {len(classes)}-class image classifier made with Transfer Studio (tlcore) "
           f"on {time.strftime('%Y-%m-%d')}.", "",
           "## Model", "",
           f"- Backbone: **{backbone}**"
           + (" (the user's own model)" if config.get("backbone_file")
              else f" (pretrained weights: {config.get('weights')})"),
           f"- Bottleneck layer (where the backbone is cut): **{layer}**",
           f"- Mode: **{mode}**" + _mode_note(config, mode, evaluation),
           f"- Head: {config.get('pooling', 'avg')} pooling, dropout {config.get('dropout', '?')}, "
           f"dense softmax over {len(classes)} classes"]
    if num_params:
        out.append(f"- Parameters: {num_params:,}")
    tflite_note = tflite_input or ""
    out += ["", "## Input and output", "",
            "- Input: a batch of RGB images as `uint8` (0-255), shape `(batch, height, width, 3)`; "
            "any height and width.",
            f"- Resizing to {image_size} x {image_size} pixels (bilinear) and the backbone's own preprocessing "
            "happen **inside** the model." if image_size else
            "- Resizing and the backbone's own preprocessing happen **inside** the model.",
            f"- Output: `(batch, {len(classes)})` probabilities (softmax) in the order of `labels.json`.",
            "- The app (tlcore) resizes a photo with the same arithmetic as the model's own resize layer "
            "(`tlcore.images.resize_image`), so the model given the photo at its own size gives the app's answer.",
            ]
    if tflite_note:
        out.append(f"- TensorFlow Lite: {tflite_note}")
    out += ["", "## Classes", "", *_table(["index", "class"], list(enumerate(classes))), ""]
    if data_report:
        out += _data_section(data_report, classes)
    out += ["## Evaluation", ""]
    if evaluation:
        split = evaluation.get("split", "val")
        out += _metrics_section(evaluation, "Validation split" if split == "val" else f"{split} split")
        if isinstance(evaluation.get("test"), dict):
            out += _metrics_section(evaluation["test"], "Test split (never used for training or model selection)")
    else:
        out += ["No evaluation was recorded for this model.", ""]
    if int8_accuracy is not None:
        out += ["### 8-bit TensorFlow Lite (`model_quant.tflite`)", "", _accuracy_line(int8_accuracy), ""]
    if config:
        rows = []
        for key, value in config.items():
            if isinstance(value, dict):
                rows += [[f"{key}.{k}", v] for k, v in value.items()]
            else:
                rows.append([key, value])
        out += ["## Settings", "",
                "Every setting of the run (`config.json`, beside the model). To repeat the run, set `data` to "
                "your copy of the dataset and run `tlcore train --config config.json`.", "",
                *_table(["setting", "value"], rows), ""]
    if files:
        out += ["## Files", ""]
        out += [f"- `{p.name}{'/' if p.is_dir() else ''}`: {FORMAT_HELP.get(k, k)}" for k, p in files.items()
                if k in FORMAT_HELP]
        out += ["- `labels.json`: the class names, in output order", ""]
    out += _usage_section("labels.json", image_size, tflite_note, files)
    out += ["## Limitations", "",
            "- The model only knows the classes above; an image of anything else still gets one of them.",
            "- The metrics come from the held-out images of the same dataset; images from another camera, "
            "hospital, lighting or population may score lower. Check on your own images before relying on it.",
            ""]
    return "\n".join(out)


# ---------------------------------------------------------------- the 8-bit model, measured

_MEASURE_BATCH = 32  # images decoded and run at a time: bounded memory for any validation set


def measure_int8_accuracy(model, int8_content: bytes, paths: Sequence[str], labels: Sequence[int],
                          image_size: int, split: str = "val") -> dict:
    """Accuracy of the float Keras model and of the 8-bit TFLite model on the same labelled images.

    Images are decoded as in training and in the app (:func:`tlcore.images.load_image` at the
    training size, through :func:`tlcore.data.decode_all`), a batch at a time.

    Args:
        model: The float Keras classifier.
        int8_content: The quantized ``.tflite`` file's bytes.
        paths: Image files.
        labels: Their true class indices.
        image_size: The training image size.
        split: Which split the images are, for the record ("val").

    Returns:
        ``{"float", "tflite_int8"}`` (accuracies from 0 to 1), ``"split"``, ``"images"`` and
        ``"disagree"`` (images the two models give different answers for).
    """
    from .data import decode_all
    from .predict import run_tflite, tflite_interpreter

    interpreter = tflite_interpreter(model_content=int8_content)
    float_answers, int8_answers = [], []
    for start in range(0, len(paths), _MEASURE_BATCH):
        batch = decode_all(list(paths[start:start + _MEASURE_BATCH]), image_size)
        float_answers.append(np.asarray(model(batch, training=False)).argmax(axis=1))
        int8_answers.append(run_tflite(interpreter, batch).argmax(axis=1))
    truth = np.asarray(labels, dtype=int)
    float_answers, int8_answers = np.concatenate(float_answers), np.concatenate(int8_answers)
    return {"float": float(np.mean(float_answers == truth)), "tflite_int8": float(np.mean(int8_answers == truth)),
            "split": split, "images": int(len(truth)), "disagree": int(np.sum(float_answers != int8_answers))}


def _int8_accuracy(model, content: bytes, validation: dict | None, image_size: int | None) -> dict:
    """What goes into ``model_info.json["accuracy"]``: measured numbers, or why there are none."""
    validation = validation or {"reason": "no labelled validation images were given to the export"}
    split = validation.get("split", "val")
    not_measured = {"float": None, "tflite_int8": None, "split": split, "images": 0}
    if not validation.get("paths"):
        return {**not_measured, "not_measured": validation.get("reason") or "there are no validation images"}
    if not image_size:
        return {**not_measured, "not_measured": "the model's training image size is unknown"}
    return measure_int8_accuracy(model, content, validation["paths"], validation["labels"], image_size, split)


def _accuracy_line(accuracy: dict) -> str:
    """One line of the model card about the 8-bit model's accuracy (measured, or why not)."""
    if accuracy.get("tflite_int8") is None:
        return (f"- The 8-bit model's accuracy was not measured: {accuracy.get('not_measured', 'unknown reason')}. "
                "Compare it with `model.tflite` on your own images before relying on it.")
    split = {"val": "validation", "test": "test"}.get(accuracy["split"], accuracy["split"])
    n, differ = accuracy["images"], accuracy.get("disagree", 0)
    return (f"- Measured at export: float: {100 * accuracy['float']:.1f} %, 8-bit TFLite: "
            f"{100 * accuracy['tflite_int8']:.1f} % on {n} {split} images; the two give a different answer "
            f"for {differ} of the {n} images." + (" With so few images, one image moves the accuracy by "
                                                  f"{100 / n:.1f} points." if n < 200 else ""))


# ---------------------------------------------------------------- export


def _export_tflite(model, fmt: str, work: Path, saved_dir: Path | None, image_size: int | None,
                   fixed_dir: list) -> tuple[bytes, str]:
    """Convert to TFLite with a dynamic input size, or at the fixed training size when that fails.

    Returns the file's bytes and the card's note on its input size. ``fixed_dir`` holds the
    fixed-size SavedModel once made, so the second TFLite format reuses it.
    """
    quantized = fmt == "tflite-quant"
    if not fixed_dir:
        try:
            content = _convert_tflite(saved_dir, quantized)
            _tflite_check(content, model, image_size, dynamic=True, quantized=quantized)
            return content, ("any input size (dynamic height and width); resize the input tensor "
                             "to your batch's shape before allocating tensors.")
        except Exception as err:  # conversion or runtime problem with dynamic shapes
            log.info("TFLite with dynamic input size failed (%s); using the fixed training size", err)
    if not image_size:
        raise TLCoreError(
            "TFLite export needs a fixed input size, and the model's training size is unknown.",
            "export from the run folder (its config.json has the image size).",
        )
    if not fixed_dir:
        fixed_dir.append(work / "saved_model_fixed")
        _export_saved_model(model, fixed_dir[0], input_size=image_size)
    content = _convert_tflite(fixed_dir[0], quantized)
    _tflite_check(content, model, image_size, dynamic=False, quantized=quantized)
    return content, (f"fixed input size {image_size} x {image_size} (the training size): resize "
                     "your images to exactly that size first (dynamic sizes did not convert cleanly).")


def export_model(
    model,
    out_dir: str | Path,
    classes: Sequence[str],
    *,
    formats: str | Iterable[str] = FORMATS,
    card: dict | None = None,
) -> dict[str, Path]:
    """Export a classifier (uint8 RGB in, probabilities out) in the chosen formats.

    Nothing written names a server folder or a workspace: the settings (``config.json``, the
    card) go through :func:`shareable_config`, the data report shows the dataset's name.

    Args:
        model: The end-to-end Keras model (``build_classifier(...).model`` or a trained
            ``model.keras`` loaded back), or the path of a ``.keras`` file (copied as is).
        out_dir: Folder to write into (created if missing; existing exports are replaced).
        classes: Class names in output order (written to ``labels.json``).
        formats: Any of ``"keras"``, ``"savedmodel"``, ``"tflite"``, ``"tflite-quant"``, or ``"all"``.
        card: Facts for the model card: ``config`` (dict), ``evaluation`` (dict),
            ``data_report`` (dict), ``name`` (str), and ``validation``: ``{"paths", "labels",
            "split"}`` of labelled images to measure the 8-bit TFLite model on (or
            ``{"reason"}`` why there are none). None writes a card from the model alone.

    Returns:
        Paths of what was written, keyed by ``"keras"``, ``"savedmodel"``,
        ``"savedmodel-zip"``, ``"tflite"``, ``"tflite-quant"``, ``"labels"``, ``"info"``,
        ``"config"`` (when settings were given) and ``"card"``.

    Raises:
        TLCoreError: Unknown format, classes that do not match the model, or a format that
            needs TensorFlow on another Keras backend.
    """
    formats = normalize_formats(formats)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = [str(c) for c in classes]
    card = dict(card or {})

    source = None
    if isinstance(model, (str, os.PathLike)):
        from .safety import load_model_safely

        source = Path(model)
        model = load_model_safely(source)
    outputs = _num_outputs(model)
    if outputs is not None and outputs != len(classes):
        raise TLCoreError(
            f"The model has {outputs} outputs but {len(classes)} class names were given.",
            "pass the labels.json that was saved with this model.",
        )
    raw_config, raw_report = card.get("config") or {}, card.get("data_report") or {}
    secrets = _session_secrets(*(raw_config.get(k) for k in ("data", "backbone_file", "weights")),
                               *(raw_report.get(k) for k in ("source", "root")), str(out_dir.resolve()))
    config = shareable_config(raw_config) if raw_config else {}
    image_size = model_image_size(model) or (int(config["image_size"]) if config.get("image_size") else None)
    for fmt in formats:
        if fmt != "keras":
            _require_tensorflow_backend(fmt)

    paths: dict[str, Path] = {}
    if "keras" in formats:
        paths["keras"] = _save_keras(model, source, out_dir / FILE_NAMES["keras"])

    labels_bytes = json.dumps(classes, indent=2, ensure_ascii=False).encode("utf-8")
    tflite_input = None
    accuracy = None
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as work:
        work = Path(work)
        saved_dir = None
        if any(f in formats for f in ("savedmodel", "tflite", "tflite-quant")):
            saved_dir = work / FILE_NAMES["savedmodel"]
            _export_saved_model(model, saved_dir)

        fixed_dir: list[Path] = []
        for fmt in (f for f in ("tflite", "tflite-quant") if f in formats):
            content, tflite_input = _export_tflite(model, fmt, work, saved_dir, image_size, fixed_dir)
            if fmt == "tflite-quant":
                accuracy = _int8_accuracy(model, content, card.get("validation"), image_size)
            write_bytes_atomic(out_dir / FILE_NAMES[fmt], content)
            paths[fmt] = out_dir / FILE_NAMES[fmt]

        info = {
            "classes": classes,
            "image_size": image_size,
            "input": {"dtype": "uint8", "channels": "RGB", "shape": [None, None, None, 3],
                      "resized_inside": image_size, "preprocessing_inside": True},
            "output": "softmax probabilities in the order of classes",
            "tflite_input": "dynamic" if tflite_input and tflite_input.startswith("any") else
                            ("fixed" if tflite_input else None),
            "backbone": config.get("backbone_file") or config.get("backbone"),
            "layer": model_bottleneck_layer(model) or config.get("layer"),
            "mode": config.get("mode"),
            "data": config.get("data"),
            "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if accuracy is not None:
            info["accuracy"] = accuracy
        if "savedmodel" in formats:
            # labels and sizes travel inside the folder (and the zip) too, so a download is self-contained
            (saved_dir / FILE_NAMES["labels"]).write_bytes(labels_bytes)
            (saved_dir / FILE_NAMES["info"]).write_bytes(_shared_json(info, secrets))
            final = out_dir / FILE_NAMES["savedmodel"]
            _replace_dir(saved_dir, final)
            paths["savedmodel"] = final
            paths["savedmodel-zip"] = _zip_dir(final, out_dir / FILE_NAMES["savedmodel-zip"])

    write_bytes_atomic(out_dir / FILE_NAMES["labels"], labels_bytes)
    paths["labels"] = out_dir / FILE_NAMES["labels"]
    write_bytes_atomic(out_dir / FILE_NAMES["info"], _shared_json(info, secrets))
    paths["info"] = out_dir / FILE_NAMES["info"]
    if config:
        write_bytes_atomic(out_dir / FILE_NAMES["config"], _shared_json(config, secrets))
        paths["config"] = out_dir / FILE_NAMES["config"]
    text = build_model_card(
        classes,
        config=config,
        evaluation=card.get("evaluation"),
        data_report=_shareable_report(card.get("data_report"), config.get("data")),
        image_size=image_size,
        layer=info["layer"],
        num_params=int(model.count_params()) if hasattr(model, "count_params") else None,
        tflite_input=tflite_input,
        files=paths,
        name=card.get("name"),
        int8_accuracy=accuracy,
    )
    write_bytes_atomic(out_dir / FILE_NAMES["card"], _redact(text, secrets).encode("utf-8"))
    paths["card"] = out_dir / FILE_NAMES["card"]
    return paths


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TLCoreError(f"The run file {path.parent.name}/{path.name} is damaged.",
                          "train the run again or restore the file.") from None


def _run_workspace(run_dir: Path):
    """The workspace a run folder lives in (``<workspace>/runs/<run>``), else the default one."""
    from .workspace import Workspace, default_workspace

    root = run_dir.resolve().parent.parent
    if run_dir.resolve().parent.name == "runs" and (root / "datasets").is_dir():
        return Workspace(root)
    return default_workspace()


def _validation_images(run_dir: Path, config: dict | None, classes: Sequence[str],
                       evaluation: dict | None) -> dict:
    """The run's validation images and labels, found again from its settings, or why not.

    The dataset is read again exactly as training read it (same folder or zip, validation
    fraction and seed), and used only when it still gives the classes and the number of
    validation images the run was evaluated on.
    """
    from .data import load_dataset

    data = (config or {}).get("data")
    if not data:
        return {"reason": "the run's settings do not name its dataset"}
    if not Path(data).exists():
        return {"reason": "its dataset is no longer on this server"}
    try:
        dataset = load_dataset(data, val_fraction=float(config.get("val_fraction", 0.2)),
                               seed=int(config.get("seed", 42)), workspace=_run_workspace(run_dir))
    except (TLCoreError, OSError):
        return {"reason": "its dataset could not be read again"}
    if [str(c) for c in dataset.classes] != [str(c) for c in classes]:
        return {"reason": "its dataset's classes have changed since training"}
    val = dataset.split("val")
    expected = (evaluation or {}).get("num_images")
    if not val:
        return {"reason": "its dataset has no validation images"}
    if expected and int(expected) != len(val):
        return {"reason": f"its dataset has changed since training ({len(val)} validation images now, "
                          f"{expected} then)"}
    return {"paths": [s.path for s in val], "labels": [s.label for s in val], "split": "val"}


def export_run(
    run_dir: str | Path,
    formats: str | Iterable[str] = FORMATS,
    *,
    out_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Export a finished run's ``model.keras`` (default folder: ``<run>/export/``).

    Reads ``labels.json``, ``config.json``, ``evaluation.json`` and ``data_report.json``
    from the run folder for the labels and the model card; with ``"tflite-quant"`` the run's
    validation images are read again to measure the 8-bit model against the float one
    (see :func:`export_accuracy`). Returns what :func:`export_model` returns.
    """
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise TLCoreError(f"Run folder {run_dir} does not exist.", "give the folder printed at the end of training.")
    model_path = run_dir / "model.keras"
    if not model_path.is_file():
        raise TLCoreError(
            f"Run {run_dir.name} has no model.keras yet.",
            "wait for the run to finish (a cancelled run also saves its model), or pick another run.",
        )
    classes = _read_json(run_dir / "labels.json")
    if not isinstance(classes, list):
        raise TLCoreError(f"Run {run_dir.name} has no labels.json.", "train the run again; it writes the class names.")
    formats = normalize_formats(formats)
    config = _read_json(run_dir / "config.json")
    evaluation = _read_json(run_dir / "evaluation.json")
    card = {
        "config": config,
        "evaluation": evaluation,
        "data_report": _read_json(run_dir / "data_report.json"),
        "name": run_dir.name,
    }
    if "tflite-quant" in formats:
        card["validation"] = _validation_images(run_dir, config, classes, evaluation)
    target = Path(out_dir).expanduser() if out_dir else run_dir / "export"
    return export_model(model_path, target, classes, formats=formats, card=card)


def export_accuracy(run_dir: str | Path) -> dict | None:
    """The accuracies measured when the run was exported with the 8-bit TFLite format.

    Args:
        run_dir: The run folder (or an export folder, e.g. one written with ``out_dir``).

    Returns:
        e.g. ``{"float": 0.954, "tflite_int8": 0.948, "split": "val", "images": 153,
        "disagree": 2}``, read from ``<run>/export/model_info.json``; None when the run was
        never exported with ``"tflite-quant"`` or its accuracy could not be measured.
    """
    export_dir = Path(run_dir) / "export"
    if not export_dir.is_dir():
        export_dir = Path(run_dir)
    if not (export_dir / FILE_NAMES["tflite-quant"]).is_file():
        return None
    try:
        info = _read_json(export_dir / FILE_NAMES["info"])
    except TLCoreError:
        return None
    accuracy = info.get("accuracy") if isinstance(info, dict) else None
    if not isinstance(accuracy, dict) or accuracy.get("tflite_int8") is None:
        return None
    return dict(accuracy)


__all__ = ["FORMATS", "build_model_card", "export_accuracy", "export_model", "export_run",
           "measure_int8_accuracy", "normalize_formats", "shareable_config", "shareable_run_config"]
