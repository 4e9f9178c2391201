"""The text classifier: a registry text encoder (frozen) with the same head as a picture classifier.

``model`` takes the tokenizer's arrays (``token_ids``, and for MiniLM ``padding_mask`` and
``segment_ids``) and gives calibrated probabilities; its layers are the encoder (named
``text_encoder``) and the ``head`` sub-model with its ``predictions`` layer, so temperature
folding, the trust graph and every export treat it as they treat a picture classifier.
"""

from __future__ import annotations

import numpy as np

from ..config import TrainConfig
from ..errors import TLCoreError
from ..model import ClassifierParts, build_head
from .batches import text_batcher
from .encoders import ENCODER_LAYER, WORDPIECE, build_text_encoder

FEATURE_SCALE = "feature_scale"  # the layer that scales unit sentence features (see scaled_features)


def check_text_settings(config: TrainConfig) -> None:
    """Refuse the picture-only settings on text data, saying what to do instead."""
    if config.backbone_file:
        raise TLCoreError("A backbone file is a picture model; this dataset holds texts.",
                          "leave --backbone-file out and choose a text encoder with --backbone.")
    if config.augment:
        raise TLCoreError("Augmentation changes pictures; this dataset holds texts.",
                          "turn augmentation off (leave --augment out).")
    if not config.feature_cache:
        raise TLCoreError("Text runs always cache their sentence features (the head trains on them).",
                          "leave --no-feature-cache out.")
    if config.features:
        raise TLCoreError("A features table holds picture features; this dataset holds texts.",
                          "leave --features out: text features are cached by themselves.")


def token_inputs(names, sequence_length: int) -> dict:
    import keras

    return {name: keras.Input((sequence_length,), dtype="int32", name=name) for name in names}


def build_text_classifier(config: TrainConfig, num_classes: int, dataset=None) -> ClassifierParts:
    """The classifier ``config`` describes on text: encoder (frozen) -> head.

    Args:
        config: The run's settings (``backbone`` names a text encoder; ``sequence_length``).
        num_classes: Classes of the dataset.
        dataset: The text :class:`~tlcore.data.Dataset` the feature pass reads texts from.
    """
    import keras

    check_text_settings(config)
    built = build_text_encoder(config.backbone, sequence_length=config.sequence_length, weights=config.weights)
    encoder, tokenizer = built.encoder, built.tokenizer
    encoder.trainable = False
    head = build_head(built.feature_dim, num_classes, config.dropout, seed=config.seed)
    inputs = token_inputs(tokenizer.input_names, tokenizer.sequence_length)
    features = scaled_features(encoder(inputs, training=False), built)
    model = keras.Model(inputs, head(features), name="text_classifier")
    extractor = keras.Model(inputs, features, name="feature_extractor")
    batcher = text_batcher(dataset, tokenizer) if dataset is not None else None
    # the features' name keys their cache: scaled features are not the plain encoder's
    layer = f"{ENCODER_LAYER}+{FEATURE_SCALE}" if tokenizer.kind == WORDPIECE else ENCODER_LAYER
    return ClassifierParts(model, model, encoder, head, None, extractor, tokenizer.sequence_length,
                           (built.feature_dim,), layer, inputs=inputs, tokenizer=tokenizer, batcher=batcher)


def scaled_features(features, built):
    """Unit-length sentence features (MiniLM's) times sqrt(width): each number then varies about as
    much as a picture feature does, so the head's learning rate and epochs suit both.

    Without it a unit vector of 384 numbers (each about 0.05) trains a softmax head slowly: on 48
    training sentences, 40 epochs at the default rate left validation loss at 0.5.
    """
    import keras

    if built.tokenizer.kind != WORDPIECE:  # averaged word vectors already have numbers of about 0.3
        return features
    return keras.layers.Rescaling(float(np.sqrt(built.feature_dim)), name=FEATURE_SCALE)(features)


def features_of(model, inputs):
    """A text classifier's sentence features of ``inputs``: its encoder (and scale) called again."""
    features = model.get_layer(ENCODER_LAYER)(inputs, training=False)
    names = {layer.name for layer in model.layers}
    return model.get_layer(FEATURE_SCALE)(features) if FEATURE_SCALE in names else features


def is_text_classifier(model) -> bool:
    """A model built by :func:`build_text_classifier` (or its ``model.keras``)."""
    return any(layer.name == ENCODER_LAYER for layer in getattr(model, "layers", []))
