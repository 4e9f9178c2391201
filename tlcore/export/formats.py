"""The one table of what a run offers for download: export formats and the files beside them.

Each entry says once what a file is called, how a page labels its download button and
explains it, its MIME type, and a one-line description for the command line and the model
card. The CLI's ``--format`` choices, :func:`normalize_formats`, the export itself and the
Runs page's download buttons all read this table. It imports neither TensorFlow nor Keras,
so a page can read it without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from ..errors import TLCoreError
from ..runs import CONFIG, FEATURES_TABLE, LABELS, MODEL, TOKENIZER


@dataclass(frozen=True)
class ExportFormat:
    """One file (or folder) a run offers.

    Attributes:
        name: The key, as ``export_model`` returns paths and the CLI's ``--format`` takes it.
        file_name: Its name in the export folder (or the run folder, for the model, labels, settings).
        label: The download button's words.
        help: The download button's explanation, for someone who never wrote code.
        mime: The MIME type to download it as.
        detail: What the file is, in one line, for the command line and the model card.
        text_refusal: Why a text classifier cannot be exported so ("" when it can).
        text_help: The download button's explanation for a text run ("" when ``help`` fits).
    """

    name: str
    file_name: str
    label: str
    help: str
    mime: str
    detail: str
    text_refusal: str = ""
    text_help: str = ""

    def help_for(self, modality: str = "image") -> str:
        """The download button's explanation for a run of ``modality`` ("image" or "text")."""
        return self.text_help if modality == "text" and self.text_help else self.help


_BINARY, _JSON = "application/octet-stream", "application/json"
# A text model's tokenizer (WordPiece, or a word lookup) is TensorFlow string operations, which
# TensorFlow Lite and ONNX have no equivalent of; its SavedModel keeps them in one graph.
_STRING_OPS = "its tokenizer's string operations do not convert to {}"

# The model formats, in the order they are made and listed. The .keras file keeps the run
# folder's name, so a copy found anywhere loads like the run's own.
EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("keras", MODEL, "Keras model (.keras)",
                 "The whole model: give it RGB pictures of any size, get class probabilities. "
                 "Load with keras.saving.load_model.",
                 _BINARY, "Keras 3 model (load with keras.saving.load_model)",
                 text_help="The model, taking the token arrays its tokenizer (in tokenizer/, beside it) makes. "
                           "Load with keras.saving.load_model after import keras_hub."),
    ExportFormat("savedmodel", "saved_model", "TensorFlow SavedModel (folder)",
                 "For TensorFlow Serving and tf.saved_model.load.", _BINARY,
                 "TensorFlow SavedModel folder, also zipped as saved_model.zip (TF Serving, tf.saved_model.load)",
                 text_help="One graph from raw sentences to answers, tokenizer inside. For TensorFlow Serving and "
                           "tf.saved_model.load (with import tensorflow_text)."),
    ExportFormat("tflite", "model.tflite", "TensorFlow Lite", "For phones and small devices (float32).",
                 _BINARY, "TensorFlow Lite, float32 (phones, Raspberry Pi)",
                 text_refusal=_STRING_OPS.format("TensorFlow Lite")),
    ExportFormat("tflite-quant", "model_quant.tflite", "TensorFlow Lite, 8-bit",
                 "About 4× smaller. Its accuracy is measured on the validation images when it is made.",
                 _BINARY, "TensorFlow Lite with 8-bit weights (dynamic-range quantized, about 4x smaller)",
                 text_refusal=_STRING_OPS.format("TensorFlow Lite")),
    ExportFormat("onnx", "model.onnx", "ONNX model (.onnx)",
                 "For ONNX Runtime (Python, C++, C#, Java, JavaScript) and other ONNX tools. Checked against "
                 "the Keras model when it is made.", _BINARY,
                 "ONNX model (ONNX Runtime and other ONNX tools), checked against the Keras model",
                 text_refusal=_STRING_OPS.format("ONNX")),
    ExportFormat("web", "web", "Web page (folder)",
                 "A page that runs the model in the browser, offline: open index.html.", "text/html",
                 "web page folder: open index.html in a browser to classify pictures or the camera, offline "
                 "(ONNX Runtime Web inside); also zipped as web.zip",
                 text_refusal="the web page runs the ONNX model, and " + _STRING_OPS.format("ONNX")),
)}
FORMATS: tuple[str, ...] = tuple(EXPORT_FORMATS)
FORMAT_CHOICES: tuple[str, ...] = (*FORMATS, "all")  # what the CLI's --format accepts

# The other files a run offers. labels, config and the features table keep the run folder's
# names, so a predictor finds labels.json beside an export as beside a run.
DOWNLOADS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("savedmodel-zip", "saved_model.zip", "TensorFlow SavedModel (.zip)",
                 "For TensorFlow Serving and tf.saved_model.load.", "application/zip",
                 "the SavedModel as one zip file for downloading"),
    ExportFormat("web-zip", "web.zip", "Web page (.zip)",
                 "Unzip it and open index.html in Chrome, Edge, Firefox or Safari: the model runs in the browser, "
                 "offline (a USB stick will do), on pictures or the camera.", "application/zip",
                 "the web page folder as one zip file for downloading"),
    ExportFormat("keras-text-zip", "model_keras.zip", "Keras model + tokenizer (.zip)",
                 "Text models: model.keras with its tokenizer/ folder and labels.json. Unzip, then load it as the "
                 "model card says (keras, keras-hub and tensorflow-text installed).", "application/zip",
                 "a text run's model.keras with its tokenizer/ folder and labels.json, as one zip"),
    ExportFormat("labels", LABELS, "Class names (labels.json)", "The class of each model output, in order.",
                 _JSON, "class names in output order"),
    ExportFormat("config", CONFIG, "Settings (config.json)",
                 "Every setting of this run; point `data` at your copy of the images and "
                 "`tlcore train --config config.json` trains it again.",
                 _JSON, "the run's settings, with the dataset named but no server folders"),
    ExportFormat("card", "model_card.md", "Model card (.md)",
                 "A plain description: data, settings, scores, how to use, limits.", "text/markdown",
                 "model card: what the model is, its data, metrics and how to use it"),
    ExportFormat("info", "model_info.json", "Model info (.json)", "Input size and format, for developers.",
                 _JSON, "input size and format (and the 8-bit model's accuracy), for tools"),
    ExportFormat("features", FEATURES_TABLE, "Features table (Parquet)",
                 "The bottleneck features of every picture, for your own analysis.", _BINARY,
                 "bottleneck features of every image (path, label, split, features), for your own analysis"),
    ExportFormat("features-info", FEATURES_TABLE + ".json", "How the features were made (.json)",
                 "Backbone, layer, size and splits of the features table; keep it beside the table for "
                 "`tlcore train --features features.parquet`.", _JSON,
                 "the features table's sidecar: how its features were made, for tlcore train --features"),
)}

FILES: dict[str, ExportFormat] = {**EXPORT_FORMATS, **DOWNLOADS}  # every entry, by key
FILE_NAMES: dict[str, str] = {key: f.file_name for key, f in FILES.items()}
TOKENIZER_DIR = TOKENIZER  # a text model's tokenizer folder, beside its model.keras (as in a run)
TOKENIZER_DETAIL = "the text model's tokenizer (tokenizer.json, vocab.txt): model.keras takes the token arrays it makes"
SAVED_MODEL_PB = "saved_model.pb"  # what marks a folder as a SavedModel (TensorFlow's name)

_ALIASES = {"saved-model": "savedmodel", "tflite-quantized": "tflite-quant", "quant": "tflite-quant"}


def formats_for(modality: str = "image") -> tuple[str, ...]:
    """The export formats a run of ``modality`` ("image" or "text") can be exported in, in order."""
    return tuple(f for f in FORMATS if modality != "text" or not EXPORT_FORMATS[f].text_refusal)


def text_formats(formats: Sequence[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The checked ``formats`` a text run is exported in, and the ones skipped with the reason.

    Every format asked for (``"all"``) gives the text formats and says why the others were
    skipped; asking for a format that cannot take a text model by name is refused.

    Raises:
        TLCoreError: A format that cannot hold a text model was asked for by name.
    """
    refused = {f: EXPORT_FORMATS[f].text_refusal for f in formats if EXPORT_FORMATS[f].text_refusal}
    if not refused:
        return tuple(formats), {}
    if set(formats) == set(FORMATS):  # "all": every format that applies
        return formats_for("text"), refused
    names = ", ".join(refused)
    reasons = "; ".join(dict.fromkeys(f"{f}: {why}" for f, why in refused.items()))
    raise TLCoreError(
        f"A text model cannot be exported as {names} ({reasons}).",
        f"export it as {' or '.join(repr(f) for f in formats_for('text'))}: the SavedModel is one graph that "
        "takes raw strings (tokenizer inside), the Keras model comes with its tokenizer/ folder.",
    )


def normalize_formats(formats: str | Iterable[str] | None) -> tuple[str, ...]:
    """Check export format names; ``"all"`` (or None) means every format, in a fixed order."""
    if formats is None:
        return FORMATS
    if isinstance(formats, str):
        formats = [formats]
    wanted: set[str] = set()
    for name in formats:
        key = str(name).strip().lower().replace("_", "-")
        key = _ALIASES.get(key, key)
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


__all__ = ["DOWNLOADS", "EXPORT_FORMATS", "FILES", "FILE_NAMES", "FORMATS", "FORMAT_CHOICES", "SAVED_MODEL_PB",
           "TOKENIZER_DETAIL", "TOKENIZER_DIR", "ExportFormat", "formats_for", "normalize_formats", "text_formats"]
