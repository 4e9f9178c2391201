"""One ``fit`` of a training stage: optimizer, loss, class weights, callbacks, and the feed.

The stages call :func:`fit_arrays` (on cached features or activations) or :func:`fit_images`
(on decoded images); both recompile first, since ``trainable`` may have changed, and both
train with the progress, cancel and best-weights callbacks of :mod:`tlcore.callbacks`.
"""

from __future__ import annotations

import numpy as np

from ..config import TrainConfig
from .feeds import array_feed, image_batches, one_hot, view_cycle
from .state import Predictor, TrainingRun


def _optimizer(name: str, learning_rate: float):
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    return keras.optimizers.RMSprop(learning_rate)


def compile_model(model, config: TrainConfig, learning_rate: float) -> None:
    """Compile ``model`` with the run's optimizer and label-smoothed cross-entropy."""
    import keras

    model.compile(
        optimizer=_optimizer(config.optimizer, learning_rate),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )


def class_weights(labels: np.ndarray, num_classes: int, setting: str) -> dict[int, float] | None:
    """Balanced class weights when classes are imbalanced (largest/smallest > 1.5) and setting is "auto"."""
    if setting == "none" or len(labels) == 0:
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(float)
    present = counts[counts > 0]
    if present.max() / present.min() <= 1.5:
        return None
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    return {i: float(w) for i, w in enumerate(weights)}


def _callbacks(run: TrainingRun, target, stage: str, epochs: int, batches: int, n_images: int, checkpoint):
    import keras

    from ..callbacks import BestWeights, ProgressEvents, StopWhen

    cbs = [ProgressEvents(run.emit, stage, epochs, batches, run.batch, n_images), StopWhen(run.stop),
           BestWeights(target, "val_loss", checkpoint)]
    if run.config.early_stopping:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=run.config.patience))
    return cbs + run.extra_callbacks


def fit_arrays(run: TrainingRun, trainable, stage: str, x_fit, y_fit, x_val, epochs: int, learning_rate: float,
               target, checkpoint) -> None:
    """Fit ``trainable`` on cached outputs; ``x_fit`` is one array, or a list of views cycled by epoch.

    ``target`` is the model whose best weights are kept (it shares ``trainable``'s layers).
    """
    compile_model(trainable, run.config, learning_rate)
    y_val = one_hot(run.y_val, run.num_classes)
    if isinstance(x_fit, list):
        feed = {"x": view_cycle(x_fit, one_hot(y_fit, run.num_classes), run.batch, run.config.seed),
                "validation_data": (x_val, y_val)}
        x_fit = x_fit[0]
    else:
        feed = array_feed(x_fit, one_hot(y_fit, run.num_classes), x_val, y_val, run.batch, run.config.seed)
    steps = int(np.ceil(len(x_fit) / run.batch))
    trainable.fit(**feed, epochs=epochs, class_weight=run.class_weight, verbose=0,
                  callbacks=_callbacks(run, target, stage, epochs, steps, len(x_fit), checkpoint))


def fit_images(run: TrainingRun, model, stage: str, epochs: int, learning_rate: float) -> None:
    """Fit ``model`` on the images themselves (augmentation, or layers that change below the cut)."""
    train_batches = image_batches(run.train_samples, run.size, run.batch, run.num_classes, shuffle=True,
                                  seed=run.config.seed)
    val_batches = image_batches(run.val_samples, run.size, run.batch, run.num_classes)
    compile_model(model, run.config, learning_rate)
    model.fit(train_batches, validation_data=val_batches, epochs=epochs, class_weight=run.class_weight,
              verbose=0, callbacks=_callbacks(run, run.parts.model, stage, epochs, len(train_batches),
                                              len(run.train_samples), run.checkpoint()))


def image_predictor(run: TrainingRun) -> Predictor:
    """Score a split by running the whole model on its images (a text run: on its texts' tokens)."""
    from ..data import ImageBatches

    if run.parts.batcher is not None:
        from ..text.batches import predict_batches

        return lambda split_name, samples: predict_batches(run.parts.model, run.parts.batcher(samples, run.batch))
    return lambda split_name, samples: run.parts.model.predict(
        ImageBatches(samples, run.size, batch_size=run.batch), verbose=0)
