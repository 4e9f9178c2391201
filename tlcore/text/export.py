"""Exporting a text classifier: its ``.keras`` model with the tokenizer beside it, and one SavedModel from raw strings.

A text run's ``model.keras`` takes token arrays, because keras-hub's WordPiece tokenizer keeps its
vocabulary as a file asset that a functional ``.keras`` file cannot rebuild (see
:mod:`tlcore.text.encoders`). So the export writes:

* ``keras``: ``model.keras`` (tokens in) and its ``tokenizer/`` folder (``tokenizer.json`` + ``vocab.txt``)
  beside it; the model card shows the six lines that rebuild the tokenizer with keras-hub.
* ``savedmodel``: ONE graph, :func:`serving_module`, whose ``serve(text)`` runs the tokenizer and then the
  (trusted) classifier, so a user feeds raw sentences and needs only ``tensorflow`` and (WordPiece)
  ``tensorflow_text``, whose import registers the tokenizer's string operations.

TensorFlow Lite, ONNX and the web page are refused for text: the tokenizer's string operations do not
convert to them (:func:`tlcore.export.formats.text_formats`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..errors import TLCoreError
from ..export.card import build_model_card
from ..export.formats import EXPORT_FORMATS, FILE_NAMES, TOKENIZER_DIR
from ..export.savedmodel import replace_dir, save_keras, tmp_sibling, zip_dir
from ..export.share import redact, shareable_report, shared_json, write_sidecars
from ..model_info import model_outputs
from ..runfiles import write_bytes_atomic
from .encoders import TOKENIZER_FILE, VOCABULARY_FILE, WORDPIECE, Tokenizer, load_tokenizer, save_tokenizer

TEXT_INPUT = "text"  # the SavedModel signature's one input: a batch of raw strings
SERVING_SIGNATURE = "serving_default"


def as_tokenizer(tokenizer: Tokenizer | str | Path) -> Tokenizer:
    """A :class:`Tokenizer`, or the ``tokenizer/`` folder one was saved in."""
    return tokenizer if isinstance(tokenizer, Tokenizer) else load_tokenizer(tokenizer)


def serving_module(model, tokenizer: Tokenizer):
    """A ``tf.Module`` whose ``serve(text)`` takes a ``tf.string`` batch and returns the model's named outputs.

    The tokenizer layer (keras-hub's preprocessor, or ``TextVectorization``) and the classifier are
    traced into one graph; its token arrays are cast to the classifier's ``int32`` inputs by name.
    A plain classifier's single output is returned as ``{"probabilities": ...}``.
    """
    import tensorflow as tf

    names = tuple(tokenizer.input_names)

    class TextServing(tf.Module):
        def __init__(self, pre, classifier):
            super().__init__(name="text_classifier")
            self.pre, self.model = pre, classifier

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=TEXT_INPUT)])
        def serve(self, text):
            tokens = self.pre(text)
            if not isinstance(tokens, dict):  # TextVectorization gives the token ids alone
                tokens = {"token_ids": tokens}
            out = self.model({name: tf.cast(tokens[name], tf.int32) for name in names}, training=False)
            return dict(out) if isinstance(out, dict) else {"probabilities": out}

    return TextServing(tokenizer.layer, model)


def export_text_saved_model(model, tokenizer: Tokenizer, dest: Path) -> None:
    """Write :func:`serving_module` as a SavedModel into ``dest`` (``serve`` and ``serving_default``)."""
    import tensorflow as tf

    module = serving_module(model, tokenizer)
    tf.saved_model.save(module, str(dest), signatures={SERVING_SIGNATURE: module.serve})


def write_tokenizer_dir(tokenizer: Tokenizer, dest: Path) -> Path:
    """The tokenizer's folder at ``dest``, replaced whole (a reader sees the old or the new one)."""
    tmp = tmp_sibling(dest)
    save_tokenizer(tokenizer, tmp)
    replace_dir(tmp, dest)
    return dest


def text_facts(tokenizer: Tokenizer, config: dict) -> dict:
    """What the card and ``model_info.json`` say about a text model's input."""
    return {"encoder": config.get("backbone"), "sequence_length": tokenizer.sequence_length,
            "tokenizer": tokenizer.kind, "lowercase": tokenizer.lowercase, "inputs": list(tokenizer.input_names)}


def _how_to_load(facts: dict) -> dict:
    wordpiece = facts["tokenizer"] == WORDPIECE
    return {
        "keras": ("pip install keras keras-hub tensorflow-text; import keras_hub, then "
                  "keras.saving.load_model('model.keras'); make its token arrays with the tokenizer in tokenizer/ "
                  "(see the model card)") if wordpiece else
                 ("pip install keras tensorflow; keras.saving.load_model('model.keras'); make its token_ids with "
                  "keras.layers.TextVectorization(vocabulary='tokenizer/vocab.txt') (see the model card)"),
        "savedmodel": ("pip install tensorflow tensorflow-text; import tensorflow_text; " if wordpiece else
                       "pip install tensorflow; ")
                      + "tf.saved_model.load('saved_model').signatures['serving_default'](text=tf.constant([...]))",
    }


def _model_info(model, classes: list[str], config: dict, facts: dict, trust, skipped: dict[str, str]) -> dict:
    """``model_info.json`` of a text export: the raw-string input, the token inputs, how to load each format."""
    from ..trust.graph import OUTPUT_MEANINGS

    length = facts["sequence_length"]
    outputs = model_outputs(model)
    info = {
        "classes": classes,
        "modality": "text",
        "image_size": None,
        "sequence_length": length,
        "input": {"savedmodel": {"name": TEXT_INPUT, "dtype": "string", "shape": [None],
                                 "tokenized_inside": True},
                  "keras": {name: {"dtype": "int32", "shape": [None, length]} for name in facts["inputs"]}},
        "tokenizer": {"folder": TOKENIZER_DIR, "kind": facts["tokenizer"], "lowercase": facts["lowercase"],
                      "files": [TOKENIZER_FILE, VOCABULARY_FILE], "sequence_length": length},
        "how_to_load": _how_to_load(facts),
        "output": ("a dict of named outputs (see outputs); probabilities in the order of classes" if outputs
                   else "softmax probabilities in the order of classes"),
        "backbone": facts["encoder"],
        "mode": config.get("mode"),
        "data": config.get("data"),
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if outputs:
        info["outputs"] = {name: {"shape": shape, "meaning": OUTPUT_MEANINGS.get(name, "")}
                           for name, shape in outputs.items()}
    if trust is not None:
        info["trust"] = trust.to_dict()
    if skipped:
        info["not_exported"] = skipped
    return info


def export_text_model(model, out_dir: Path, classes: list[str], formats: tuple[str, ...], *,
                      tokenizer: Tokenizer | str | Path, config: dict, card: dict, trust, secrets: list[str],
                      source: Path | None = None, skipped: dict[str, str] | None = None) -> dict[str, Path]:
    """The text half of :func:`tlcore.export.export_model`: files of a text classifier in ``formats``.

    Args:
        model: The (trusted) text classifier, token arrays in.
        out_dir: The export folder (exists).
        classes: Class names in output order.
        formats: Checked formats, each one that takes a text model (``keras``, ``savedmodel``).
        tokenizer: The run's :class:`Tokenizer` or its ``tokenizer/`` folder.
        config: The run's settings, already fit to share.
        card: The card facts :func:`export_model` takes (evaluation, data report, name).
        trust: The run's trust settings (None: a plain classifier).
        secrets: Workspace folders and codes cut from every text file written.
        source: The ``.keras`` file the model came from (copied as is), or None to save it.
        skipped: Formats left out of "all", with the reason (written to model_info.json and the card).
    """
    refused = [f for f in formats if EXPORT_FORMATS[f].text_refusal]
    if refused:  # export_model checks this at the door; a direct caller gets the same answer
        raise TLCoreError(f"A text model cannot be exported as {', '.join(refused)}.",
                          "export it as 'keras' or 'savedmodel'.")
    tokenizer = as_tokenizer(tokenizer)
    skipped = dict(skipped or {})
    facts = text_facts(tokenizer, config)
    info = _model_info(model, classes, config, facts, trust, skipped)
    labels_bytes = shared_json(classes, [])

    def target(key: str) -> Path:
        return out_dir / FILE_NAMES[key]

    paths: dict[str, Path] = {}
    if "keras" in formats:
        paths["keras"] = save_keras(model, source, target("keras"))
        paths["tokenizer"] = write_tokenizer_dir(tokenizer, out_dir / TOKENIZER_DIR)
    if "savedmodel" in formats:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as work:
            saved_dir = Path(work) / FILE_NAMES["savedmodel"]
            export_text_saved_model(model, tokenizer, saved_dir)
            # labels and facts travel inside the folder (and the zip) too, so a download is self-contained
            (saved_dir / FILE_NAMES["labels"]).write_bytes(labels_bytes)
            (saved_dir / FILE_NAMES["info"]).write_bytes(shared_json(info, secrets))
            replace_dir(saved_dir, target("savedmodel"))
        paths["savedmodel"] = target("savedmodel")
        paths["savedmodel-zip"] = zip_dir(target("savedmodel"), target("savedmodel-zip"))

    paths.update(write_sidecars(target, labels_bytes, info, config, secrets))
    text = build_model_card(
        classes, config=config, evaluation=card.get("evaluation"),
        data_report=shareable_report(card.get("data_report"), config.get("data")),
        num_params=int(model.count_params()) if hasattr(model, "count_params") else None,
        files={k: p for k, p in paths.items() if k != "tokenizer"}, name=card.get("name"),
        trust=trust.to_dict() if trust is not None else None, text={**facts, "skipped": skipped},
    )
    write_bytes_atomic(target("card"), redact(text, secrets).encode("utf-8"))
    paths["card"] = target("card")
    return paths


def skipped_formats(export_dir: str | Path) -> dict[str, str]:
    """The formats a text export left out of "all", with the reason (from its ``model_info.json``)."""
    from ..runfiles import read_json

    info = read_json(Path(export_dir) / FILE_NAMES["info"])
    skipped = info.get("not_exported") if isinstance(info, dict) else None
    return {str(k): str(v) for k, v in skipped.items()} if isinstance(skipped, dict) else {}


__all__ = ["SERVING_SIGNATURE", "TEXT_INPUT", "as_tokenizer", "export_text_model", "export_text_saved_model",
           "serving_module", "skipped_formats", "text_facts", "write_tokenizer_dir"]
