"""Exporting a classifier, or a finished run, in the chosen formats: the export stage in order.

:func:`export_model` writes the model files (:mod:`.savedmodel`, :mod:`.tflite_convert`,
:mod:`.onnx_export`), measures the 8-bit model (:mod:`.accuracy`), then the labels, ``model_info.json``, the
shareable settings (:mod:`.share`) and the model card (:mod:`.card`), each file under its
name in :mod:`.formats`, and last the web page that runs the ONNX model in a browser
(:mod:`.web_bundle`). :func:`export_run` gathers those facts from a run folder
(:class:`tlcore.runs.RunFolder`) and exports into its ``export/`` folder.

A run with trust settings is exported as its trusted model (:func:`tlcore.trust.graph.trusted_model`):
every format then carries the threshold and "I don't know" as extra named outputs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import TLCoreError
from ..model_info import model_bottleneck_layer, model_image_size, model_num_outputs, model_outputs
from ..runfiles import write_bytes_atomic
from ..runs import LABELS, RunFolder
from ..safety import load_model_safely
from ..trust.run import load_trust
from .accuracy import int8_accuracy, validation_images
from .card import build_model_card
from .formats import FILE_NAMES, FORMATS, normalize_formats, text_formats
from .onnx_export import export_onnx
from .savedmodel import export_saved_model, replace_dir, require_tensorflow_backend, save_keras, zip_dir
from .share import (CONFIG_PATHS, REPORT_PATHS, redact, session_secrets, shareable_config, shareable_report, shared_json,
                    write_sidecars)
from .tflite_convert import export_tflite
from .web_bundle import write_web_bundle
from .web_runtime import require_runtime

_NEEDS_SAVED_MODEL = ("savedmodel", "tflite", "tflite-quant")
_TFLITE_FORMATS = ("tflite", "tflite-quant")
_NEEDS_ONNX = ("onnx", "web")  # the web page runs the ONNX model


def _outputs_info(model) -> dict | None:
    """Each named output's shape and meaning (None: one output, the probabilities)."""
    from ..trust.graph import OUTPUT_MEANINGS

    outputs = model_outputs(model)
    if outputs is None:
        return None
    return {name: {"shape": shape, "meaning": OUTPUT_MEANINGS.get(name, "")} for name, shape in outputs.items()}


def _model_info(model, classes: list[str], config: dict, image_size: int | None, tflite_input: str | None,
                accuracy: dict | None, trust=None, onnx: dict | None = None) -> dict:
    """``model_info.json``: what a tool needs to feed the model, and where it came from."""
    outputs = _outputs_info(model)
    info = {
        "classes": classes,
        "image_size": image_size,
        "input": {"dtype": "uint8", "channels": "RGB", "shape": [None, None, None, 3],
                  "resized_inside": image_size, "preprocessing_inside": True},
        "output": ("a dict of named outputs (see outputs); probabilities in the order of classes" if outputs
                   else "softmax probabilities in the order of classes"),
        "tflite_input": "dynamic" if tflite_input and tflite_input.startswith("any") else
                        ("fixed" if tflite_input else None),
        "onnx_input": onnx["input"] if onnx else None,
        "backbone": config.get("backbone_file") or config.get("backbone"),
        "layer": model_bottleneck_layer(model) or config.get("layer"),
        "mode": config.get("mode"),
        "data": config.get("data"),
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if outputs:
        info["outputs"] = outputs
    if trust is not None:  # threshold, positive class, limits, strictness, temperature: nothing secret
        info["trust"] = trust.to_dict()
    if accuracy is not None:
        info["accuracy"] = accuracy
    return info


def export_model(
    model,
    out_dir: str | Path,
    classes: Sequence[str],
    *,
    formats: str | Iterable[str] = FORMATS,
    card: dict | None = None,
    trust=None,
    prototypes=None,
    tokenizer=None,
) -> dict[str, Path]:
    """Export a classifier (uint8 RGB in, probabilities out; or a text classifier) in the chosen formats.

    Nothing written names a server folder or a workspace: the settings (``config.json``, the
    card) go through :func:`shareable_config`, the data report shows the dataset's name.

    Args:
        model: The end-to-end Keras model (``build_classifier(...).model`` or a trained
            ``model.keras`` loaded back), or the path of a ``.keras`` file (copied as is).
        out_dir: Folder to write into (created if missing; existing exports are replaced).
        classes: Class names in output order (written to ``labels.json``).
        formats: Any of ``"keras"``, ``"savedmodel"``, ``"tflite"``, ``"tflite-quant"``, ``"onnx"``,
            ``"web"`` (the web page folder, with its zip), or ``"all"``.
        card: Facts for the model card: ``config`` (dict), ``evaluation`` (dict),
            ``data_report`` (dict), ``name`` (str), and ``validation``: ``{"paths", "labels",
            "split"}`` of labelled images to measure the 8-bit TFLite model on (or
            ``{"reason"}`` why there are none). None writes a card from the model alone.
        trust: The run's :class:`tlcore.trust.settings.Trust`. With ``prototypes`` the model
            is exported as its trusted model (outputs ``probabilities``, ``similarity``,
            ``unknown`` and, for two classes, ``positive``); the settings go into
            ``model_info.json`` and the card. None exports the model as it is.
        prototypes: The run's ``prototypes.npy`` array (needed with ``trust``).
        tokenizer: A text classifier's tokenizer (:class:`tlcore.text.encoders.Tokenizer`) or its
            ``tokenizer/`` folder. Then ``"keras"`` writes the tokenizer folder beside ``model.keras``
            (key ``"tokenizer"``) and ``"savedmodel"`` is one graph from raw strings
            (:mod:`tlcore.text.export`); every format that cannot hold the tokenizer (TFLite, ONNX, the
            web page) is refused, or, when every format was asked for, skipped with the reason
            (``model_info.json``'s ``"not_exported"``, :func:`tlcore.text.export.skipped_formats`).

    Returns:
        Paths of what was written, keyed by ``"keras"``, ``"savedmodel"``,
        ``"savedmodel-zip"``, ``"tflite"``, ``"tflite-quant"``, ``"onnx"``, ``"web"``, ``"web-zip"``,
        ``"labels"``, ``"info"``,
        ``"config"`` (when settings were given) and ``"card"``.

    Raises:
        TLCoreError: Unknown format, classes that do not match the model, trust settings
            without prototypes, a text classifier without its tokenizer (or asked for a format that
            cannot take text), a format that needs TensorFlow on another Keras backend, an ONNX
            conversion that does not answer like Keras, or (``"web"``) no web page runtime.
    """
    formats = normalize_formats(formats)
    skipped: dict[str, str] = {}
    if tokenizer is not None:
        formats, skipped = text_formats(formats)  # at the door, before anything is written
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = [str(c) for c in classes]
    card = dict(card or {})

    source = None
    if isinstance(model, (str, os.PathLike)):
        source = Path(model)
        model = load_model_safely(source)
    _check_tokenizer(model, tokenizer)
    model, source = _with_trust(model, source, trust, prototypes)
    outputs = model_num_outputs(model)
    if outputs is not None and outputs != len(classes):
        raise TLCoreError(
            f"The model has {outputs} outputs but {len(classes)} class names were given.",
            f"pass the {LABELS} that was saved with this model.",
        )
    raw_config, raw_report = card.get("config") or {}, card.get("data_report") or {}
    secrets = session_secrets(*(raw_config.get(k) for k in CONFIG_PATHS),
                              *(raw_report.get(k) for k in REPORT_PATHS), str(out_dir.resolve()))
    config = shareable_config(raw_config) if raw_config else {}
    image_size = model_image_size(model) or (int(config["image_size"]) if config.get("image_size") else None)
    for fmt in formats:
        if fmt != "keras":
            require_tensorflow_backend(fmt)
    if tokenizer is not None:
        from ..text.export import export_text_model

        return export_text_model(model, out_dir, classes, formats, tokenizer=tokenizer, config=config, card=card,
                                 trust=trust, secrets=secrets, source=source, skipped=skipped)
    if "web" in formats:
        require_runtime()  # at the door: downloads it once, or says how, before any slow conversion

    def target(key: str) -> Path:
        return out_dir / FILE_NAMES[key]

    paths: dict[str, Path] = {}
    if "keras" in formats:
        paths["keras"] = save_keras(model, source, target("keras"))

    labels_bytes = json.dumps(classes, indent=2, ensure_ascii=False).encode("utf-8")
    tflite_input = None
    accuracy = None
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as work:
        work = Path(work)
        saved_dir = None
        if any(f in formats for f in _NEEDS_SAVED_MODEL):
            saved_dir = work / FILE_NAMES["savedmodel"]
            export_saved_model(model, saved_dir)

        fixed_dir: list[Path] = []
        for fmt in (f for f in _TFLITE_FORMATS if f in formats):
            content, tflite_input = export_tflite(model, fmt, work, saved_dir, image_size, fixed_dir)
            if fmt == "tflite-quant":
                accuracy = int8_accuracy(model, content, card.get("validation"), image_size)
            write_bytes_atomic(target(fmt), content)
            paths[fmt] = target(fmt)

        onnx_content, onnx = None, None
        if any(f in formats for f in _NEEDS_ONNX):
            onnx_content, onnx = export_onnx(model, image_size)
            if "onnx" in formats:
                write_bytes_atomic(target("onnx"), onnx_content)
                paths["onnx"] = target("onnx")

        info = _model_info(model, classes, config, image_size, tflite_input, accuracy, trust, onnx)
        if "savedmodel" in formats:
            # labels and sizes travel inside the folder (and the zip) too, so a download is self-contained
            (saved_dir / FILE_NAMES["labels"]).write_bytes(labels_bytes)
            (saved_dir / FILE_NAMES["info"]).write_bytes(shared_json(info, secrets))
            replace_dir(saved_dir, target("savedmodel"))
            paths["savedmodel"] = target("savedmodel")
            paths["savedmodel-zip"] = zip_dir(target("savedmodel"), target("savedmodel-zip"))

    if "web" in formats:
        paths["web"], paths["web-zip"] = write_web_bundle(
            onnx_content, target("web"), target("web-zip"), classes=classes, name=card.get("name"),
            image_size=image_size, onnx_input=onnx["input"], trust=trust, secrets=secrets)
    paths.update(write_sidecars(target, labels_bytes, info, config, secrets))
    text = build_model_card(
        classes,
        config=config,
        evaluation=card.get("evaluation"),
        data_report=shareable_report(card.get("data_report"), config.get("data")),
        image_size=image_size,
        layer=info["layer"],
        num_params=int(model.count_params()) if hasattr(model, "count_params") else None,
        tflite_input=tflite_input,
        onnx_input=onnx["note"] if onnx else None,
        files=paths,
        name=card.get("name"),
        int8_accuracy=accuracy,
        trust=trust.to_dict() if trust is not None else None,
    )
    write_bytes_atomic(target("card"), redact(text, secrets).encode("utf-8"))
    paths["card"] = target("card")
    return paths


def _with_trust(model, source: Path | None, trust, prototypes) -> tuple[Any, Path | None]:
    """The model to export: the trusted model when trust settings are given (then the
    ``.keras`` file is written anew, not copied from ``source``)."""
    from ..trust.graph import is_trusted, trusted_model

    if trust is None or is_trusted(model):
        return model, source
    if prototypes is None:
        raise TLCoreError("Trust settings were given to the export without the run's prototypes.",
                          "pass prototypes= (the run's prototypes.npy) with trust=, or neither.")
    return trusted_model(model, trust, prototypes), None


def _check_tokenizer(model, tokenizer) -> None:
    """A text classifier is exported with its tokenizer, a picture classifier without one."""
    from ..text.model import is_text_classifier

    text = is_text_classifier(model)
    if text and tokenizer is None:
        raise TLCoreError("This is a text classifier, but no tokenizer was given to the export.",
                          "pass tokenizer= (the run's tokenizer/ folder), or export the run folder with export_run.")
    if tokenizer is not None and not text:
        raise TLCoreError("A tokenizer was given to the export of a picture classifier.",
                          "leave tokenizer= out for a picture model.")


def _readable(value: Any, path: Path) -> Any:
    """``value`` as a run folder's reader gave it; a file that is there but gave nothing is damaged."""
    if value is None and path.is_file():
        raise TLCoreError(f"The run file {path.parent.name}/{path.name} is damaged.",
                          "train the run again or restore the file.")
    return value


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
    (see :func:`export_accuracy`). A run with ``trust.json`` and ``prototypes.npy`` is
    exported as its trusted model. A text run (its ``tokenizer/`` folder) is exported with its
    tokenizer: every format asked for ("all") gives ``keras`` and ``savedmodel`` and skips the
    others with the reason. Returns what :func:`export_model` returns.
    """
    folder = RunFolder(Path(run_dir).expanduser())
    model_path = folder.require_model()
    classes = _readable(folder.labels(), folder.labels_path)
    if classes is None:
        raise TLCoreError(f"Run {folder.run_id} has no {LABELS}.", "train the run again; it writes the class names.")
    formats = normalize_formats(formats)
    config = _readable(folder.config_dict() or None, folder.config_path)
    evaluation = _readable(folder.evaluation(), folder.evaluation_path)
    card = {
        "config": config,
        "evaluation": evaluation,
        "data_report": _readable(folder.data_report(), folder.data_report_path),
        "name": folder.run_id,
    }
    tokenizer = folder.tokenizer_path if folder.tokenizer_path.is_dir() else None
    if tokenizer is None and "tflite-quant" in formats:
        card["validation"] = validation_images(folder.path, config, classes, evaluation)
    trust, prototypes = load_trust(folder.path)  # both, or neither for a run trained before them
    target = Path(out_dir).expanduser() if out_dir else folder.export_dir
    return export_model(model_path, target, classes, formats=formats, card=card, trust=trust, prototypes=prototypes,
                        tokenizer=tokenizer)


__all__ = ["export_model", "export_run"]
