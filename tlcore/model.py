"""The classifier: raw RGB in, class probabilities out, preprocessing inside.

Layout of the saved (inference) model::

    image (uint8, any size) -> resize -> preprocess -> base(training=False) -> pool -> head

``preprocess`` is a frozen per-pixel affine map (a built-in ``Dense`` layer) that
reproduces the backbone's own ``preprocess_input``; being a built-in layer, the saved
file loads with plain ``keras.saving.load_model`` under ``safe_mode`` and cannot
disagree with the app. The training model shares every layer and adds augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .backbones import build_base, get_backbone
from .config import TrainConfig

_IMAGENET_MEAN_RGB = np.array([123.68, 116.779, 103.939])  # caffe-style means, RGB order
_TORCH_MEAN = np.array([0.485, 0.456, 0.406])
_TORCH_STD = np.array([0.229, 0.224, 0.225])


def preprocess_affine(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Kernel (3x3) and bias (3) so that ``x @ kernel + bias`` equals the backbone's preprocess_input."""
    if mode == "tf":
        return np.eye(3) / 127.5, -np.ones(3)
    if mode == "torch":
        return np.diag(1.0 / (255.0 * _TORCH_STD)), -_TORCH_MEAN / _TORCH_STD
    if mode == "caffe":
        flip = np.eye(3)[:, ::-1]  # RGB -> BGR
        return flip, -_IMAGENET_MEAN_RGB[::-1]
    if mode == "raw":
        return np.eye(3), np.zeros(3)
    raise ValueError(f"unknown preprocess mode {mode!r}")


def preprocess_layer(mode: str):
    import keras

    kernel, bias = preprocess_affine(mode)
    layer = keras.layers.Dense(3, trainable=False, name=f"preprocess_{mode}", dtype="float32")
    layer.build((None, None, None, 3))
    layer.set_weights([kernel.astype("float32"), bias.astype("float32")])
    return layer


def resolve_image_size(config: TrainConfig) -> int:
    if config.image_size:
        return int(config.image_size)
    if config.backbone_file:
        return 224
    return get_backbone(config.backbone).native_size


def preprocess_mode(config: TrainConfig) -> str:
    return "raw" if config.backbone_file else get_backbone(config.backbone).preprocess


@dataclass
class ClassifierParts:
    """The pieces of a classifier; ``model`` and ``train_model`` share all weights."""

    model: Any  # inference model, what gets saved and exported
    train_model: Any  # same layers plus augmentation
    base: Any  # the cut backbone
    head: Any  # pooled features -> probabilities (trained alone on cached features)
    pool: Any
    extractor: Any  # image -> pooled bottleneck features (the feature-cache producer)
    image_size: int
    feature_shape: tuple
    layer: str
    resize: Any = None
    prep: Any = None
    inputs: Any = None


def _pool_layer(pooling: str):
    import keras

    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="pool")
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="pool")
    return keras.layers.Flatten(name="pool")


def build_head(feature_dim: int, num_classes: int, dropout: float, seed: int = 0):
    """Dropout + softmax Dense over a pooled feature vector."""
    import keras

    inputs = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, seed=seed, name="head_dropout")(inputs) if dropout > 0 else inputs
    # float32 output keeps softmax stable under mixed precision
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="head")


def build_classifier(config: TrainConfig, num_classes: int, base=None) -> ClassifierParts:
    """Build the end-to-end classifier described by ``config`` (base frozen)."""
    import keras

    from .augment import augmentation_layers

    size = resolve_image_size(config)
    if base is None:
        base = build_base(
            config.backbone,
            weights=config.weights,
            image_size=size,
            layer=config.layer,
            backbone_file=config.backbone_file,
        )
    base.trainable = False
    feature_map_shape = tuple(base.output.shape[1:])
    pool = _pool_layer(config.pooling) if len(feature_map_shape) == 3 else keras.layers.Identity(name="pool")
    if len(feature_map_shape) == 3:
        dim = int(np.prod(feature_map_shape)) if config.pooling == "flatten" else int(feature_map_shape[-1])
    else:
        dim = int(feature_map_shape[-1])
    head = build_head(dim, num_classes, config.dropout, seed=config.seed)

    resize = keras.layers.Resizing(size, size, name="resize")
    prep = preprocess_layer(preprocess_mode(config))
    inputs = keras.Input((None, None, 3), dtype="uint8", name="image")

    def tail(x):
        x = prep(x)
        # training=False keeps BatchNormalization in inference mode even when unfrozen.
        x = base(x, training=False)
        return head(pool(x))

    resized = resize(inputs)
    model = keras.Model(inputs, tail(resized), name="classifier")
    extractor = keras.Model(inputs, pool(base(prep(resized), training=False)), name="feature_extractor")
    if config.augment and config.augmentation.enabled:
        augmented = augmentation_layers(config.augmentation, seed=config.seed)(resized)
        train_model = keras.Model(inputs, tail(augmented), name="classifier_train")
    else:
        train_model = model
    layer_name = base.layers[-1].name if base.layers else ""
    if config.layer:
        layer_name = config.layer
    return ClassifierParts(model, train_model, base, head, pool, extractor, size, (dim,), layer_name,
                           resize, prep, inputs)


def unfreeze_top(base, num_layers: int = 0, from_layer: str | None = None) -> int:
    """Unfreeze the top of ``base`` for fine-tuning, keeping BatchNormalization frozen.

    Returns the number of layers made trainable. Remember to recompile afterwards.
    """
    import keras

    from .errors import TLCoreError

    base.trainable = True
    layers = base.layers
    if from_layer:
        names = [l.name for l in layers]
        if from_layer not in names:
            raise TLCoreError(
                f"Fine-tuning start layer {from_layer!r} is not in the cut backbone.",
                "pick a layer listed by `tlcore layers`, above the bottleneck.",
            )
        start = names.index(from_layer)
    else:
        start = max(0, len(layers) - int(num_layers))
    count = 0
    for i, layer in enumerate(layers):
        trainable = i >= start and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        count += bool(trainable and layer.weights)
    return count


@dataclass
class BaseSplit:
    """The cut base split where fine-tuning begins: a frozen ``bottom`` and a trainable ``top``."""

    boundary: str  # the layer whose output feeds the whole top
    bottom: Any  # image (preprocessed) -> boundary activations
    top: Any  # boundary activations -> bottleneck features (shares the base's layers)
    shape: tuple


def split_for_fine_tuning(base) -> BaseSplit | None:
    """Split ``base`` at the last layer below its first trainable layer through which every
    path passes (a block end), so the frozen bottom can be computed once and cached.

    With BatchNormalization frozen and the bottom untouched by training, the bottom's output
    for an image never changes while fine-tuning: caching it is exact, not an approximation.
    Returns None when the base has no trainable layer or no such single boundary.
    """
    import keras

    layers = base.layers
    index = {id(layer): i for i, layer in enumerate(layers)}
    trainable = [i for i, layer in enumerate(layers) if layer.trainable and layer.weights]
    if not trainable:
        return None
    first = trainable[0]
    earliest_parent = [len(layers)] * len(layers)  # smallest parent index of any layer after i
    for i, layer in enumerate(layers):
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                op = getattr(tensor, "_keras_history", None)
                parent = index.get(id(op.operation)) if op else None
                if parent is not None:
                    earliest_parent[i] = min(earliest_parent[i], parent)
    # suffix minimum: the earliest layer any layer after i still reads from
    later_min = [len(layers)] * (len(layers) + 1)
    for i in range(len(layers) - 1, -1, -1):
        later_min[i] = min(later_min[i + 1], earliest_parent[i])
    for b in range(first - 1, 0, -1):
        if later_min[b + 1] >= b and len(layers[b].output.shape) == 4:
            boundary = layers[b]
            bottom = keras.Model(base.inputs, boundary.output, name="base_bottom")
            top = keras.Model(boundary.output, base.output, name="base_top")
            return BaseSplit(boundary.name, bottom, top, tuple(boundary.output.shape[1:]))
    return None


def count_params(model) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return trainable, frozen


def model_summary(config: TrainConfig, num_classes: int, num_train_images: int = 0, *, measure: bool = True) -> dict:
    """What will be trained: parameter counts per stage and an estimated time per epoch here.

    The estimate times a real forward pass of a small batch on this machine; a training step
    through unfrozen layers costs about three forward passes (forward, backward, update).
    """
    import time as _time

    import dataclasses

    probe = dataclasses.replace(config, weights="none")  # same shapes, no download needed
    parts = build_classifier(probe, num_classes)
    head_trainable, frozen = count_params(parts.model)
    summary = {
        "image_size": parts.image_size,
        "layer": parts.layer,
        "feature_dim": parts.feature_shape[0],
        "head_trainable_params": head_trainable,
        "frozen_params": frozen,
        "total_params": head_trainable + frozen,
    }
    if config.mode == "fine-tune":
        unfrozen = unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
        ft_trainable, ft_frozen = count_params(parts.model)
        summary.update(fine_tune_trainable_params=ft_trainable, fine_tune_frozen_params=ft_frozen,
                       fine_tune_layers_unfrozen=unfrozen)
        parts.base.trainable = False
    if measure:
        batch = np.random.default_rng(0).integers(0, 255, (8, parts.image_size, parts.image_size, 3), dtype="uint8")
        parts.extractor(batch, training=False)  # warm-up (graph tracing)
        t0 = _time.perf_counter()
        parts.extractor(batch, training=False)
        per_image = (_time.perf_counter() - t0) / len(batch)
        n = max(int(num_train_images), 1)
        summary["seconds_per_image_forward"] = per_image
        summary["first_pass_seconds"] = per_image * n  # computing cached features once
        summary["seconds_per_epoch"] = (
            per_image * n * (3 if config.mode == "fine-tune" else 1)
            if (config.mode == "fine-tune" or not config.feature_cache or (config.augment and config.feature_views == 0))
            else 0.01 * max(1, n // 1000)  # head on cached features: milliseconds
        )
    return summary
