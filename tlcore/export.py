"""Export a trained classifier: Keras, SavedModel, TFLite (float and quantized), labels, card.

Every exported model takes what the app takes: ``uint8`` RGB images, resized and
preprocessed *inside* the model, and returns class probabilities in ``labels.json`` order.
Nothing outside the model has to be reproduced by the person who downloads it.

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
from .runfiles import write_bytes_atomic, write_json_atomic

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
    """``model.export`` into ``dest``; with ``input_size`` the input is fixed to that square size."""
    import keras

    kwargs: dict[str, Any] = {}
    if input_size:
        kwargs["input_signature"] = [keras.InputSpec(shape=(None, input_size, input_size, 3), dtype="uint8")]
    try:
        model.export(str(dest), format="tf_saved_model", verbose=False, **kwargs)
    except TypeError:  # older Keras without verbose=
        model.export(str(dest), format="tf_saved_model", **kwargs)


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
        out.append(f"- Source: `{report['source']}`")
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
    size_text = str(size) if size else "the training size"
    out = ["## How to use it", "",
           "Every format takes `uint8` RGB pixels (0-255) and returns probabilities in the order of "
           f"`{classes_file}`. Do **not** rescale or normalise the pixels yourself.", ""]
    load = (
        f'classes = json.load(open("{classes_file}"))\n'
        'image = Image.open("photo.jpg").convert("RGB")\n'
        f"image = np.asarray(image.resize(({size_text}, {size_text}), Image.BILINEAR))\n"
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
) -> str:
    """The Markdown model card: what the model is, what it was trained on, how well it does, how to use it."""
    config = dict(config or {})
    files = dict(files or {})
    backbone = Path(config["backbone_file"]).name if config.get("backbone_file") else config.get("backbone", "unknown")
    layer = layer or config.get("layer") or "the backbone's default"
    mode = config.get("mode", "unknown")
    classes = [str(c) for c in classes]
    title = f"# Model card: {backbone} image classifier" + (f" ({name})" if name else "")
    out = [title, "",
           f"A {len(classes)}-class image classifier made by transfer learning with Transfer Studio (tlcore) "
           f"on {time.strftime('%Y-%m-%d')}.", "",
           "## Model", "",
           f"- Backbone: **{backbone}**"
           + (" (the user's own model)" if config.get("backbone_file")
              else f" (pretrained weights: {config.get('weights')})"),
           f"- Bottleneck layer (where the backbone is cut): **{layer}**",
           f"- Mode: **{mode}**" + (" (the top of the backbone was unfrozen and trained at a low learning rate)"
                                    if mode == "fine-tune" else " (the backbone is frozen; only the head was trained)"),
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
            f"- tlcore itself resizes with Pillow (bilinear) to {image_size or 'the training size'} pixels before "
            "calling the model, exactly as in training; do the same for identical results.",
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
    if config:
        rows = []
        for key, value in config.items():
            if isinstance(value, dict):
                rows += [[f"{key}.{k}", v] for k, v in value.items()]
            else:
                rows.append([key, value])
        out += ["## Settings", "",
                "Every setting of the run (`config.json`); `tlcore train --config config.json` repeats it.", "",
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


# ---------------------------------------------------------------- export


def export_model(
    model,
    out_dir: str | Path,
    classes: Sequence[str],
    *,
    formats: str | Iterable[str] = FORMATS,
    card: dict | None = None,
) -> dict[str, Path]:
    """Export a classifier (uint8 RGB in, probabilities out) in the chosen formats.

    Args:
        model: The end-to-end Keras model (``build_classifier(...).model`` or a trained
            ``model.keras`` loaded back), or the path of a ``.keras`` file (copied as is).
        out_dir: Folder to write into (created if missing; existing exports are replaced).
        classes: Class names in output order (written to ``labels.json``).
        formats: Any of ``"keras"``, ``"savedmodel"``, ``"tflite"``, ``"tflite-quant"``, or ``"all"``.
        card: Facts for the model card: ``config`` (dict), ``evaluation`` (dict),
            ``data_report`` (dict), ``name`` (str). None writes a card from the model alone.

    Returns:
        Paths of what was written, keyed by ``"keras"``, ``"savedmodel"``,
        ``"savedmodel-zip"``, ``"tflite"``, ``"tflite-quant"``, ``"labels"``, ``"info"`` and ``"card"``.

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
    config = dict(card.get("config") or {})
    image_size = model_image_size(model) or (int(config["image_size"]) if config.get("image_size") else None)
    for fmt in formats:
        if fmt != "keras":
            _require_tensorflow_backend(fmt)

    paths: dict[str, Path] = {}
    if "keras" in formats:
        paths["keras"] = _save_keras(model, source, out_dir / FILE_NAMES["keras"])

    labels_bytes = json.dumps(classes, indent=2, ensure_ascii=False).encode("utf-8")
    tflite_input = None
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as work:
        work = Path(work)
        saved_dir = None
        if any(f in formats for f in ("savedmodel", "tflite", "tflite-quant")):
            saved_dir = work / FILE_NAMES["savedmodel"]
            _export_saved_model(model, saved_dir)

        tflite_wanted = [f for f in ("tflite", "tflite-quant") if f in formats]
        fixed_dir = None
        for fmt in tflite_wanted:
            quantized = fmt == "tflite-quant"
            content = None
            if fixed_dir is None:
                try:
                    content = _convert_tflite(saved_dir, quantized)
                    _tflite_check(content, model, image_size, dynamic=True, quantized=quantized)
                    tflite_input = ("any input size (dynamic height and width); resize the input tensor "
                                    "to your batch's shape before allocating tensors.")
                except Exception as err:  # conversion or runtime problem with dynamic shapes
                    log.info("TFLite with dynamic input size failed (%s); using the fixed training size", err)
                    content = None
            if content is None:
                if not image_size:
                    raise TLCoreError(
                        "TFLite export needs a fixed input size, and the model's training size is unknown.",
                        "export from the run folder (its config.json has the image size).",
                    )
                if fixed_dir is None:
                    fixed_dir = work / "saved_model_fixed"
                    _export_saved_model(model, fixed_dir, input_size=image_size)
                content = _convert_tflite(fixed_dir, quantized)
                _tflite_check(content, model, image_size, dynamic=False, quantized=quantized)
                tflite_input = (f"fixed input size {image_size} x {image_size} (the training size): resize "
                                "your images to exactly that size first (dynamic sizes did not convert cleanly).")
            dest = out_dir / FILE_NAMES[fmt]
            write_bytes_atomic(dest, content)
            paths[fmt] = dest

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
            "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if "savedmodel" in formats:
            # labels and sizes travel inside the folder (and the zip) too, so a download is self-contained
            (saved_dir / FILE_NAMES["labels"]).write_bytes(labels_bytes)
            (saved_dir / FILE_NAMES["info"]).write_text(json.dumps(info, indent=2), encoding="utf-8")
            final = out_dir / FILE_NAMES["savedmodel"]
            _replace_dir(saved_dir, final)
            paths["savedmodel"] = final
            paths["savedmodel-zip"] = _zip_dir(final, out_dir / FILE_NAMES["savedmodel-zip"])

    write_bytes_atomic(out_dir / FILE_NAMES["labels"], labels_bytes)
    paths["labels"] = out_dir / FILE_NAMES["labels"]
    write_json_atomic(out_dir / FILE_NAMES["info"], info)
    paths["info"] = out_dir / FILE_NAMES["info"]
    text = build_model_card(
        classes,
        config=config,
        evaluation=card.get("evaluation"),
        data_report=card.get("data_report"),
        image_size=image_size,
        layer=info["layer"],
        num_params=int(model.count_params()) if hasattr(model, "count_params") else None,
        tflite_input=tflite_input,
        files=paths,
        name=card.get("name"),
    )
    write_bytes_atomic(out_dir / FILE_NAMES["card"], text.encode("utf-8"))
    paths["card"] = out_dir / FILE_NAMES["card"]
    return paths


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TLCoreError(f"{path} is damaged ({err}).", "train the run again or restore the file.") from None


def export_run(
    run_dir: str | Path,
    formats: str | Iterable[str] = FORMATS,
    *,
    out_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Export a finished run's ``model.keras`` (default folder: ``<run>/export/``).

    Reads ``labels.json``, ``config.json``, ``evaluation.json`` and ``data_report.json``
    from the run folder for the labels and the model card. Returns what
    :func:`export_model` returns.
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
    card = {
        "config": _read_json(run_dir / "config.json"),
        "evaluation": _read_json(run_dir / "evaluation.json"),
        "data_report": _read_json(run_dir / "data_report.json"),
        "name": run_dir.name,
    }
    target = Path(out_dir).expanduser() if out_dir else run_dir / "export"
    return export_model(model_path, target, classes, formats=formats, card=card)


__all__ = ["FORMATS", "build_model_card", "export_model", "export_run", "normalize_formats"]
