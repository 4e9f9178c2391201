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
    train_model: Any  # what the head trains: the model, plus augmentation when `augment` is on
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
    augmented_model: Any = None  # the model with augmentation in front (None: augmentation off)
    tokenizer: Any = None  # text runs: texts -> token arrays (tlcore.text.encoders.Tokenizer)
    batcher: Any = None  # text runs: how features.extract batches samples (tlcore.text.batches)


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


def build_classifier(config: TrainConfig, num_classes: int, base=None, *,
                     from_scratch: bool | None = None) -> ClassifierParts:
    """Build the end-to-end classifier described by ``config``.

    The base is frozen (BatchNormalization in inference mode), except for a random start
    (:attr:`TrainConfig.from_scratch`), where every layer trains and BatchNormalization learns
    its statistics. ``from_scratch`` overrides that choice (None: decided by ``config``).
    """
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
    scratch = config.from_scratch if from_scratch is None else from_scratch
    base.trainable = scratch
    if scratch:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                # Keras applications use momentum 0.999: fine over ImageNet's million steps,
                # but a small set's few hundred steps would leave the moving statistics (what
                # inference uses) near their initial values, and validation at chance.
                layer.momentum = 0.9
    feature_map_shape = tuple(base.output.shape[1:])
    pool = _pool_layer(config.pooling) if len(feature_map_shape) == 3 else keras.layers.Identity(name="pool")
    if len(feature_map_shape) == 3:
        dim = int(np.prod(feature_map_shape)) if config.pooling == "flatten" else int(feature_map_shape[-1])
    else:
        dim = int(feature_map_shape[-1])
    head = build_head(dim, num_classes, config.dropout, seed=config.seed)

    # Plain bilinear (no antialias): the one resize every export format runs; the app
    # resizes with the same arithmetic (tlcore.images.resize_image) before calling the model.
    resize = keras.layers.Resizing(size, size, interpolation="bilinear", antialias=False, name="resize")
    prep = preprocess_layer(preprocess_mode(config))
    inputs = keras.Input((None, None, 3), dtype="uint8", name="image")

    def tail(x):
        x = prep(x)
        # training=False keeps BatchNormalization in inference mode even when unfrozen
        # (pretrained statistics); from scratch there are none yet, so BN follows fit().
        x = base(x) if scratch else base(x, training=False)
        return head(pool(x))

    resized = resize(inputs)
    model = keras.Model(inputs, tail(resized), name="classifier")
    extractor = keras.Model(inputs, pool(base(prep(resized), training=False)), name="feature_extractor")
    augmented_model = None
    # Built only where a stage trains on augmented images: it is another whole graph.
    if config.augment and config.augmentation.enabled or (
            config.mode == "fine-tune" and config.fine_tune_augmented):
        augmented = augmentation_layers(config.augmentation, seed=config.seed)(resized)
        augmented_model = keras.Model(inputs, tail(augmented), name="classifier_train")
    train_model = augmented_model if (config.augment and augmented_model is not None) else model
    layer_name = base.layers[-1].name if base.layers else ""
    if config.layer:
        layer_name = config.layer
    return ClassifierParts(model, train_model, base, head, pool, extractor, size, (dim,), layer_name,
                           resize, prep, inputs, augmented_model)


def _weighted_layers(base) -> list:
    """Layers of ``base`` that fine-tuning can change (:func:`tlcore.backbones.fine_tunable`)."""
    from .backbones import fine_tunable

    return [layer for layer in base.layers if fine_tunable(layer)]


def max_fine_tune_layers(base) -> int:
    """How many layers :func:`unfreeze_top` can unfreeze in ``base``."""
    return len(_weighted_layers(base))


def unfreeze_top(base, num_layers: int = 0, from_layer: str | None = None) -> int:
    """Unfreeze the top ``num_layers`` layers with weights of ``base`` (or every layer from
    ``from_layer`` up), keeping BatchNormalization frozen.

    Only layers with weights are counted, so the number a user picks is the number of
    layers that learn (activations, additions and BatchNorm are not counted). Returns that
    number. Remember to recompile afterwards.
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
        weighted = _weighted_layers(base)
        count = min(int(num_layers), len(weighted))
        start = layers.index(weighted[-count]) if count > 0 else len(layers)
    count = 0
    for i, layer in enumerate(layers):
        trainable = i >= start and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        count += bool(trainable and layer.weights)  # = fine_tunable(layer) for the trainable ones
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


def boundary_classifier(parts: ClassifierParts, split: BaseSplit):
    """The top of the base and the head, from the boundary's activations: what fine-tuning on a
    cached frozen bottom trains (its weights are those of ``parts.model``)."""
    import keras

    boundary = keras.Input(split.shape)
    return keras.Model(boundary, parts.head(parts.pool(split.top(boundary, training=False))))


def count_params(model) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return trainable, frozen


def _epoch_seconds(model, x: np.ndarray, y: np.ndarray, num_train: int, num_val: int, repeats: int = 3) -> float:
    """Measured seconds of an epoch of ``model`` here: training steps on ``num_train`` samples
    plus the validation pass over ``num_val``, timed on the batch ``(x, y)`` and scaled."""
    import time as _time

    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy")
    model.train_on_batch(x, y)  # warm-up: tracing and compiling the step
    model.predict_on_batch(x)
    t0 = _time.perf_counter()
    for _ in range(repeats):
        model.train_on_batch(x, y)
    t1 = _time.perf_counter()
    for _ in range(repeats):
        model.predict_on_batch(x)
    t2 = _time.perf_counter()
    per_sample_train, per_sample_val = (t1 - t0) / repeats / len(x), (t2 - t1) / repeats / len(x)
    return per_sample_train * num_train + per_sample_val * num_val


def model_summary(config: TrainConfig, num_classes: int, num_train_images: int = 0, *, measure: bool = True) -> dict:
    """What will be trained: parameter counts per stage and an estimated time per epoch here.

    The estimate is measured on this machine with the real model shapes (random weights):
    one forward pass of a small batch for the feature pass, and real training steps of
    exactly what each stage trains — the head on cached features, the unfrozen top on
    cached boundary activations when fine-tuning, or the whole network on images when
    nothing can be cached — scaled to the number of training images.
    """
    import dataclasses
    import time as _time

    scratch = config.from_scratch
    probe = dataclasses.replace(config, weights="none")  # same shapes, no download needed
    parts = build_classifier(probe, num_classes, from_scratch=scratch)
    head_trainable, frozen = count_params(parts.model)
    summary = {
        "image_size": parts.image_size,
        "layer": parts.layer,
        "feature_dim": parts.feature_shape[0],
        "head_trainable_params": head_trainable,
        "frozen_params": frozen,
        "total_params": head_trainable + frozen,
        "from_scratch": scratch,
    }
    fine_tuning = config.mode == "fine-tune" and not scratch
    if fine_tuning:
        unfrozen = unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
        ft_trainable, ft_frozen = count_params(parts.model)
        summary.update(fine_tune_trainable_params=ft_trainable, fine_tune_frozen_params=ft_frozen,
                       fine_tune_layers_unfrozen=unfrozen)
    if not measure:
        return summary
    rng = np.random.default_rng(0)
    n = max(int(num_train_images), 1)
    batch = max(1, min(int(config.batch_size), 16))
    images = rng.integers(0, 255, (batch, parts.image_size, parts.image_size, 3), dtype="uint8")
    labels = np.eye(num_classes, dtype="float32")[rng.integers(0, num_classes, batch)]
    parts.extractor.predict_on_batch(images)  # warm-up (graph tracing)
    t0 = _time.perf_counter()
    parts.extractor.predict_on_batch(images)
    per_image = (_time.perf_counter() - t0) / batch
    head_cached, head_views = config.head_on_cached_features, config.head_views
    # Validation images: the split the run will hold out of these training images.
    n_val = max(1, round(n * config.val_fraction / max(1e-9, 1 - config.val_fraction)))
    if head_cached:
        features = rng.normal(size=(batch, parts.feature_shape[0])).astype("float32")
        head_epoch = _epoch_seconds(parts.head, features, labels, n * (head_views + 1), n_val)
        first_pass = per_image * (n + n_val) * (head_views + 1)
    else:
        parts.base.trainable = scratch
        head_epoch = _epoch_seconds(parts.train_model, images, labels, n, n_val)
        first_pass = 0.0
    summary.update(seconds_per_image_forward=per_image, seconds_per_epoch=head_epoch,
                   first_pass_seconds=first_pass)
    if fine_tuning:
        unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
        ft_augment, views = config.fine_tune_augmented, config.fine_tune_views_used
        # Split only when timing: the two sub-models it builds are not needed for the counts.
        split = split_for_fine_tuning(parts.base) if config.feature_cache else None
        if split is not None:
            top = boundary_classifier(parts, split)
            acts = rng.normal(size=(batch, *split.shape)).astype("float32")
            # each epoch trains on one cached view of every image (views cycle by epoch)
            ft_epoch = _epoch_seconds(top, acts, labels, n, n_val)
            ft_first = per_image * (n * (views + 1) + n_val)  # the frozen bottom once per view (an upper bound)
        else:
            model = parts.augmented_model if (ft_augment and parts.augmented_model is not None) else parts.model
            ft_epoch = _epoch_seconds(model, images, labels, n, n_val)
            ft_first = 0.0
        summary.update(fine_tune_seconds_per_epoch=ft_epoch, fine_tune_first_pass_seconds=ft_first)
        parts.base.trainable = False
    return summary


def fold_temperature(model, temperature: float) -> None:
    """Divide the logits of ``model`` (a classifier or its head) by ``temperature``, in place.

    softmax(Wx + b) becomes softmax((W/T)x + b/T): temperature scaling folded into the last
    Dense layer, so every saved and exported format gives the calibrated probabilities with
    no extra layer.
    """
    head = model.get_layer("head") if any(layer.name == "head" for layer in model.layers) else model
    dense = head.get_layer("predictions")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel / np.float32(temperature), bias / np.float32(temperature)])
