"""The model card's sections for a text classifier: its encoder, its raw-string input, how to load each format.

``facts`` is what :func:`tlcore.text.export.text_facts` says of the model: ``encoder``,
``sequence_length``, ``tokenizer`` ("wordpiece" or "words"), ``lowercase``, ``inputs`` (the token
arrays ``model.keras`` takes) and ``skipped`` (formats left out, with the reason). Every snippet
here runs as written in the export folder (tests/test_text_export.py runs them in a fresh Python).
"""

from __future__ import annotations

from pathlib import Path

from ..trust.settings import Trust
from .card_usage import _read_outputs
from .formats import DOWNLOADS, EXPORT_FORMATS, TOKENIZER_DIR

_LABELS = DOWNLOADS["labels"].file_name
_KERAS = EXPORT_FORMATS["keras"].file_name
_SAVED_MODEL = EXPORT_FORMATS["savedmodel"].file_name
_SAVED_MODEL_ZIP = DOWNLOADS["savedmodel-zip"].file_name
_VOCABULARY = f"{TOKENIZER_DIR}/vocab.txt"
WORDPIECE = "wordpiece"  # tlcore.text.encoders.WORDPIECE (not imported: that module loads keras-hub's helpers)
EXAMPLE_TEXTS = 'texts = ["What a wonderful day", "This was a waste of money"]'


def _wordpiece(facts: dict) -> bool:
    return facts.get("tokenizer") == WORDPIECE


def text_model_lines(config: dict, facts: dict) -> list[str]:
    """The Model section's first lines: the encoder and what it does to a text."""
    length = facts.get("sequence_length")
    how = ("sentence embedding: WordPiece tokens through a small transformer, averaged over the tokens"
           if _wordpiece(facts) else "the average of the words' GloVe vectors")
    return [f"- Text encoder: **{facts.get('encoder') or config.get('backbone', 'unknown')}** (pretrained; {how})",
            f"- Sequence length: **{length} tokens**; longer texts are cut, shorter ones padded"
            + (" (lowercased first)" if facts.get("lowercase") else "")]


def text_input_section(classes: list[str], facts: dict, output_lines: list[str]) -> list[str]:
    """Input and output: raw strings in (SavedModel), or the tokenizer's arrays (Keras)."""
    length = facts.get("sequence_length")
    inputs = ", ".join(f"`{name}`" for name in facts.get("inputs") or ())
    return ["", "## Input and output", "",
            "- Input: **raw strings**, a batch of texts (`tf.string`, shape `(batch,)`). The SavedModel "
            "tokenizes them **inside**; do not lowercase, clean or cut the texts yourself.",
            f"- `{_KERAS}` takes the token arrays its tokenizer makes ({inputs}: `int32`, shape `(batch, {length})`); "
            f"the tokenizer's vocabulary is `{_VOCABULARY}`, beside the model.",
            *(line.replace("an image's", "a text's").replace("the image", "the text").replace("picture", "text")
              for line in output_lines)]


def skipped_lines(skipped: dict[str, str]) -> list[str]:
    """Formats not exported for a text model, and why."""
    if not skipped:
        return []
    return ["- Not exported: " + "; ".join(f"{EXPORT_FORMATS[f].label} ({why})" for f, why in skipped.items())
            + ". Use the SavedModel or the Keras model.", ""]


def _keras_lines(facts: dict, read: list[str]) -> list[str]:
    length = facts.get("sequence_length")
    if _wordpiece(facts):
        lowercase = bool(facts.get("lowercase", True))
        names = tuple(facts.get("inputs") or ("token_ids", "padding_mask", "segment_ids"))
        install = "pip install keras keras-hub tensorflow-text"
        code = ["import json", "", "import keras", "import keras_hub  # the encoder's layers and the tokenizer", "",
                f'classes = json.load(open("{_LABELS}"))',
                f'model = keras.saving.load_model("{_KERAS}")',
                f'tokenizer = keras_hub.models.BertTokenizer(vocabulary="{_VOCABULARY}", lowercase={lowercase})',
                f"preprocess = keras_hub.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length={length})",
                EXAMPLE_TEXTS,
                "tokens = preprocess(texts)",
                f"out = model.predict({{name: tokens[name] for name in {names!r}}}, verbose=0)"]
    else:
        install = "pip install keras tensorflow"
        code = ["import json", "", "import keras", "",
                f'classes = json.load(open("{_LABELS}"))',
                f'model = keras.saving.load_model("{_KERAS}")',
                'words = keras.layers.TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace", '
                f'output_sequence_length={length}, vocabulary="{_VOCABULARY}")',
                EXAMPLE_TEXTS,
                'out = model.predict({"token_ids": words(texts)}, verbose=0)']
    return [f"### Keras (`{_KERAS}` with `{TOKENIZER_DIR}/`)", "",
            f"Needs `{install}` and the `{TOKENIZER_DIR}/` folder beside `{_KERAS}`:", "",
            "```python", *code, *read, "```", ""]


def _saved_model_lines(facts: dict, read: list[str], names: str) -> list[str]:
    wordpiece = _wordpiece(facts)
    install = "pip install tensorflow tensorflow-text" if wordpiece else "pip install tensorflow"
    code = ["import json", "", "import tensorflow as tf",
            *(["import tensorflow_text  # registers the tokenizer's string ops (WordPiece) the graph uses"]
              if wordpiece else []), "",
            f'classes = json.load(open("{_SAVED_MODEL}/{_LABELS}"))',
            f'model = tf.saved_model.load("{_SAVED_MODEL}")',
            EXAMPLE_TEXTS,
            'out = model.signatures["serving_default"](text=tf.constant(texts))',
            "out = {name: value.numpy() for name, value in out.items()}"]
    return [f"### TensorFlow SavedModel (`{_SAVED_MODEL}/`, also as `{_SAVED_MODEL_ZIP}`)", "",
            f"One graph from raw strings to answers, the tokenizer inside. Needs `{install}`"
            + (" (without `import tensorflow_text` loading fails with \"Op type not registered\")" if wordpiece
               else "") + ":", "",
            "```python", *code, *read, "```", "",
            f"TensorFlow Serving uses the `serving_default` signature: input `text` (strings), outputs {names}.", ""]


def _plain_read() -> list[str]:
    return ['probs = out["probabilities"] if isinstance(out, dict) else out',
            "for text, row in zip(texts, probs):",
            "    print(text, classes[int(row.argmax())], float(row.max()))"]


def _trusted_read(trust: Trust) -> list[str]:
    """The first text's answer from the named outputs, as the app reads it."""
    return ["# the answer for texts[0]:", *_read_outputs(trust)]


def text_usage_section(files: dict[str, Path], trust: Trust | None, facts: dict) -> list[str]:
    """How to use it: Keras (with the tokenizer), the SavedModel (raw strings), and tlcore."""
    read = _trusted_read(trust) if trust is not None else _plain_read()
    if trust is None:
        names = "`probabilities`"
    else:
        names = "`probabilities`, " + ("" if trust.strictness == "off" else "`similarity`, ") + "`unknown`" + (
            ", `positive`" if trust.two_classes else "")
    out = ["## How to use it", "",
           f"Both formats return the same named outputs: {names} (probabilities in the order of `{_LABELS}`)."
           + (" Read the answer from `unknown`" + (" and `positive`" if trust.two_classes else "")
              + " so it is the app's answer." if trust is not None else ""), ""]
    if "keras" in files:
        out += _keras_lines(facts, read)
    if "savedmodel" in files:
        out += _saved_model_lines(facts, read, names)
    out += skipped_lines(dict(facts.get("skipped") or {}))
    target = _SAVED_MODEL if "savedmodel" in files else _KERAS
    out += ["### With tlcore", "", "```python", "from tlcore.predict import load_predictor", "",
            f'predictor = load_predictor("{target}")  # or the run folder',
            'answer = predictor.answer(["What a wonderful day"])[0]',
            "print(answer.label or \"I don't know\", answer.probability, answer.reason)", "```", ""]
    return out


def what_it_knows(trust: Trust | None, one: str, looks_like: str, about: str = "of") -> str:
    """The card's first limitation: the model knows only its classes (and says "I don't know" when it can).

    ``one`` is what the model is given ("image", "text"), ``looks_like`` how such a thing resembles others.
    """
    unknown_on = trust is not None and trust.strictness != "off" and (
        trust.similarity_limit is not None or trust.confidence_limit is not None)
    if unknown_on:
        return (f"- The model knows only the classes above. It answers \"I don't know\" for {one}s unlike its "
                f"training {one}s, but {'an' if one[0] in 'aeiou' else 'a'} {one} {about} something else that "
                f"{looks_like} them still gets a class.")
    return f"- The model only knows the classes above; {'an' if one[0] in 'aeiou' else 'a'} {one} {about} anything else " \
           "still gets one of them."


def text_limitations(trust: Trust | None) -> list[str]:
    return ["## Limitations", "", what_it_knows(trust, "text", "reads like", "about"),
            "- The metrics come from held-out texts of the same dataset; texts from another site, topic, "
            "language or writing style (reviews of films instead of phones, say) may score lower. Check on your "
            "own texts before relying on it.",
            "- Only the first tokens of a long text are read (see the sequence length above).", ""]


__all__ = ["skipped_lines", "text_input_section", "text_limitations", "text_model_lines", "text_usage_section",
           "what_it_knows"]
