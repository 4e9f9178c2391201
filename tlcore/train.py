"""Training: feature extraction (with the cached-feature fast path) and fine-tuning.

``train(config)`` runs in the calling process and reports through events (see
docs/ARCHITECTURE.md); :mod:`tlcore.jobs` runs it in a process of its own for the app.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .config import TrainConfig, save_config
from .errors import TLCoreError
from .runfiles import write_json_atomic

Emit = Callable[[dict], None]


@dataclass
class TrainResult:
    """What a finished (or cancelled) run produced."""

    status: str  # "finished" | "cancelled"
    classes: list[str]
    evaluation: dict
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    run_dir: Path | None = None
    model: Any = None
    feature_cache_hits: int = 0
    feature_cache_misses: int = 0


def _optimizer(name: str, learning_rate: float):
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    return keras.optimizers.RMSprop(learning_rate)


def _compile(model, config: TrainConfig, learning_rate: float):
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


def _one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype="float32")[labels]


def _batches(samples, size: int, batch_size: int, num_classes: int, shuffle: bool = False, seed: int = 0):
    """Image batches with one-hot labels (label smoothing needs them)."""
    from .data import ImageBatches

    class OneHotBatches(ImageBatches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return x, _one_hot(y, num_classes)

    return OneHotBatches(samples, size, batch_size=batch_size, shuffle=shuffle, seed=seed, num_classes=num_classes)


class _Listeners:
    def __init__(self, listeners: Iterable[Emit]):
        self.listeners = [l for l in listeners if l is not None]
        self.history: list[dict] = []

    def __call__(self, event: dict) -> None:
        event.setdefault("t", time.time())
        if event.get("type") == "epoch":
            self.history.append(event)
        for listener in self.listeners:
            listener(event)


_CACHE_RAM_BYTES = 2 * 1024**3  # above this, fine-tuning streams images instead of cached activations


def _array_feed(x, y, x_val, y_val, batch_size: int, seed: int) -> dict:
    """``fit`` arguments for in-memory arrays (cached features or activations).

    On TensorFlow, ``fit`` on numpy arrays builds new input iterators every epoch, which costs
    more than an epoch of a small head; one repeated ``tf.data`` pipeline (and a cached
    validation one) halves a head's training time. Large arrays stay numpy: the pipeline would
    hold a second copy of them.
    """
    import keras

    if keras.backend.backend() == "tensorflow" and x.nbytes + x_val.nbytes < 256 * 1024**2:
        import tensorflow as tf

        train_ds = (tf.data.Dataset.from_tensor_slices((x, y))
                    .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
                    .batch(batch_size).repeat().prefetch(2))
        val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256).cache()
        return {"x": train_ds, "steps_per_epoch": int(np.ceil(len(x) / batch_size)), "validation_data": val_ds,
                "shuffle": False}  # shuffled in the pipeline; Keras warns otherwise
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "validation_data": (x_val, y_val)}


def _fits_in_memory(shape: tuple, count: int) -> bool:
    return int(np.prod(shape)) * 4 * count <= _CACHE_RAM_BYTES


def _memory_error(err: Exception, batch_size: int) -> TLCoreError | None:
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, MemoryError) or "ResourceExhausted" in text or "OOM" in text or "out of memory" in text.lower():
        smaller = max(1, batch_size // 2)
        return TLCoreError(
            f"Training ran out of memory with batch size {batch_size}.",
            f"use a smaller batch size (try {smaller}) or a smaller image size.",
        )
    return None


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def _disk_error(err: Exception, run_dir) -> TLCoreError | None:
    """A failed write (disk full, read-only, no permission) as a plain message."""
    cause = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if not isinstance(cause, OSError) or cause.errno not in _DISK_ERRNOS:
        return None
    where = f" in {run_dir}" if run_dir else ""
    return TLCoreError(
        f"Training stopped because a file could not be written{where}: {cause.strerror or cause}.",
        "free some disk space (or fix the folder's permissions) and start the run again; "
        "files already saved were written whole and are unchanged.",
    )


def train(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    on_event: Emit | None = None,
    should_stop: Callable[[], bool] | None = None,
    workspace=None,
    callbacks: Iterable = (),
    dataset=None,
) -> TrainResult:
    """Train the classifier ``config`` describes and evaluate it.

    Args:
        config: the run's settings; saved as ``config.json`` in ``run_dir``.
        run_dir: where ``events.jsonl``, checkpoints, ``model.keras`` and ``evaluation.json`` go;
            None keeps everything in memory.
        on_event: receives every progress event (dicts, see docs/ARCHITECTURE.md).
        should_stop: polled after every batch; when it returns True the run stops, keeps its
            best weights, is evaluated and ends as "cancelled".
        workspace: where datasets are extracted and features cached (default: ``default_workspace()``).
        callbacks: extra Keras callbacks for every ``fit``.
        dataset: an already loaded :class:`tlcore.data.Dataset` (skips loading ``config.data``).
    """
    try:
        return _train(config, run_dir, on_event, should_stop, workspace, list(callbacks), dataset)
    except TLCoreError:
        raise
    except Exception as err:
        friendly = _memory_error(err, config.batch_size) or _disk_error(err, run_dir)
        if friendly is not None:
            raise friendly from None
        raise


def _train(config, run_dir, on_event, should_stop, workspace, extra_callbacks, dataset) -> TrainResult:
    import keras

    from .callbacks import BestWeights, EventLog, ProgressEvents, StopWhen
    from .data import ImageBatches, load_dataset
    from .device import choose_precision_policy
    from .evaluate import evaluate_predictions
    from .features import FeatureCache, cached_features, model_key
    from .model import build_classifier, count_params, split_for_fine_tuning, unfreeze_top
    from .workspace import default_workspace

    started = time.perf_counter()
    config.validate()
    workspace = workspace or default_workspace()
    run_dir = Path(run_dir) if run_dir else None
    listeners = [on_event]
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.json")
        listeners.insert(0, EventLog(run_dir))
    emit = _Listeners(listeners)
    stop_flag = should_stop or (lambda: False)
    stopper_state = {"cancelled": False}

    def stop() -> bool:
        if not stopper_state["cancelled"] and stop_flag():
            stopper_state["cancelled"] = True
        return stopper_state["cancelled"]

    emit({"type": "status", "status": "running", "message": "Preparing data"})
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(choose_precision_policy(config.mixed_precision))

    # ---- data
    if dataset is None:
        if not config.data:
            raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip (setting 'data').")

        last = [0.0]

        def data_progress(done, total, message=""):
            now = time.perf_counter()
            if now - last[0] < 0.5 and done < total:
                return  # a few events a second is plenty for a progress bar
            last[0] = now
            emit({"type": "stage", "stage": "data", "done": done, "total": total, "message": message or "Checking images"})

        dataset = load_dataset(config.data, val_fraction=config.val_fraction, seed=config.seed,
                               workspace=workspace, progress=data_progress)
    classes = list(dataset.classes)
    num_classes = len(classes)
    train_samples, val_samples, test_samples = dataset.split("train"), dataset.split("val"), dataset.split("test")
    if not val_samples:
        raise TLCoreError("The dataset has no validation images.", "add a val/ folder or raise the validation fraction.")
    if run_dir is not None:
        write_json_atomic(run_dir / "data_report.json", dataset.report.to_dict())
        write_json_atomic(run_dir / "labels.json", classes)
    y_train = np.array([s.label for s in train_samples], dtype=int)
    y_val = np.array([s.label for s in val_samples], dtype=int)
    weights_by_class = class_weights(y_train, num_classes, config.class_weight)

    # ---- model
    emit({"type": "stage", "stage": "model", "message": f"Building {config.backbone_file or config.backbone}"})
    parts = build_classifier(config, num_classes)
    trainable, frozen = count_params(parts.model)
    emit({"type": "stage", "stage": "model", "message": "Model ready", "trainable_params": trainable,
          "frozen_params": frozen, "image_size": parts.image_size, "layer": parts.layer,
          "class_weight": weights_by_class})
    size, batch = parts.image_size, config.batch_size
    cache = FeatureCache(workspace.cache_dir, model_key(config, size, parts.layer))
    use_cache = config.feature_cache and (not config.augment or not config.augmentation.enabled
                                          or config.feature_views > 0)

    best_by_stage: dict[str, BestWeights] = {}

    def fit_callbacks(target, stage, epochs, batches, n_images, checkpoint):
        # Fine-tuning must beat the head it starts from, or the head's weights are kept:
        # on a small set a few epochs of fine-tuning can make the model worse.
        head = best_by_stage.get("head")
        keeper = BestWeights(target, "val_loss", checkpoint,
                             baseline=head.best if stage == "fine-tune" and head is not None else None)
        best_by_stage[stage] = keeper
        cbs = [ProgressEvents(emit, stage, epochs, batches, batch, n_images), StopWhen(stop), keeper]
        if config.early_stopping:
            cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience))
        return cbs + extra_callbacks

    hashes: dict[str, list[str]] = {}
    views = config.feature_views if (config.augment and config.augmentation.enabled) else 0

    def cached(extractor, feature_cache, split_name, samples, view=0):
        """Outputs of ``extractor`` for one split (view k>0: the k-th augmented copy), cached."""
        if split_name not in hashes:
            hashes[split_name] = [dataset.content_hash(s.path) for s in samples]
        label = "Computing features" + (f" (augmented view {view})" if view else "") + f" for {split_name}"

        def on_batch(done, total):
            emit({"type": "batch", "stage": "features", "split": split_name, "view": view,
                  "batch": done, "batches": total, "message": label})

        augmenter = None
        if view:
            from .augment import augmentation_layers

            augmenter = augmentation_layers(config.augmentation, seed=config.seed + view)
        return cached_features(extractor, feature_cache, samples, hashes[split_name], size, batch, view=view,
                               augmenter=augmenter, seed=config.seed, on_batch=on_batch, should_stop=stop)

    def fit_on_cache(trainable, extractor, feature_cache, stage, epochs, learning_rate, target, checkpoint):
        """Train ``trainable`` on cached extractor outputs (original + augmented views)."""
        x_fit = np.concatenate([cached(extractor, feature_cache, "train", train_samples, v)
                                for v in range(views + 1)], axis=0)
        y_fit = np.tile(y_train, views + 1)
        x_val = cached(extractor, feature_cache, "val", val_samples)
        _compile(trainable, config, learning_rate)
        steps = int(np.ceil(len(x_fit) / batch))
        feed = _array_feed(x_fit, _one_hot(y_fit, num_classes), x_val, _one_hot(y_val, num_classes), batch,
                           config.seed)
        trainable.fit(
            **feed, epochs=epochs, class_weight=weights_by_class, verbose=0,
            callbacks=fit_callbacks(target, stage, epochs, steps, len(x_fit), checkpoint),
        )
        del x_fit
        return lambda split_name, samples: trainable.predict(
            cached(extractor, feature_cache, split_name, samples), batch_size=256, verbose=0)

    def fit_on_images(stage, epochs, learning_rate):
        train_batches = _batches(train_samples, size, batch, num_classes, shuffle=True, seed=config.seed)
        val_batches = _batches(val_samples, size, batch, num_classes)
        _compile(parts.train_model, config, learning_rate)
        parts.train_model.fit(
            train_batches, validation_data=val_batches, epochs=epochs, class_weight=weights_by_class, verbose=0,
            callbacks=fit_callbacks(parts.model, stage, epochs, len(train_batches), len(train_samples),
                                    run_dir / "checkpoint.weights.h5" if run_dir else None),
        )
        return lambda split_name, samples: parts.model.predict(
            ImageBatches(samples, size, batch_size=batch), verbose=0)

    predict_split = None  # how the final weights score a split, cheapest way available
    caches = [cache]
    try:
        # ---- stage 1: the head on a frozen base
        if use_cache:
            emit({"type": "stage", "stage": "features", "message": "Computing bottleneck features (cached for next time)"})
            emit({"type": "stage", "stage": "head", "message": "Training the classifier head"})
            predict_split = fit_on_cache(parts.head, parts.extractor, cache, "head", config.epochs,
                                         config.learning_rate, parts.head,
                                         run_dir / "checkpoint_head.weights.h5" if run_dir else None)
        else:
            emit({"type": "stage", "stage": "head", "message": "Training the classifier head on images"})
            predict_split = fit_on_images("head", config.epochs, config.learning_rate)

        # ---- stage 2: fine-tune the top of the base
        if config.mode == "fine-tune" and config.fine_tune_epochs > 0 and not stop():
            unfrozen = unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
            trainable, frozen = count_params(parts.model)
            emit({"type": "stage", "stage": "fine-tune", "message": f"Fine-tuning the top {unfrozen} layers",
                  "trainable_params": trainable, "frozen_params": frozen})
            split = split_for_fine_tuning(parts.base) if use_cache else None
            if split is not None and _fits_in_memory(split.shape, len(train_samples) * (views + 1)):
                # The frozen bottom's output never changes: compute it once (cached like
                # bottleneck features) and train only the top, the same weights as in the model.
                # `trainable` changes take effect on compile (inside fit_on_cache); the low
                # learning rate keeps the pretrained features from being wrecked.
                bottom = keras.Model(parts.inputs, split.bottom(parts.prep(parts.resize(parts.inputs)),
                                                                training=False))
                boundary_input = keras.Input(split.shape)
                top_model = keras.Model(boundary_input,
                                        parts.head(parts.pool(split.top(boundary_input, training=False))))
                boundary_cache = FeatureCache(workspace.cache_dir,
                                              model_key(config, size, f"{parts.layer}@{split.boundary}"))
                caches.append(boundary_cache)
                predict_split = fit_on_cache(top_model, bottom, boundary_cache, "fine-tune", config.fine_tune_epochs,
                                             config.fine_tune_learning_rate, parts.model,
                                             run_dir / "checkpoint.weights.h5" if run_dir else None)
            else:
                predict_split = fit_on_images("fine-tune", config.fine_tune_epochs, config.fine_tune_learning_rate)
    except KeyboardInterrupt:
        stopper_state["cancelled"] = True  # cancelled while computing features

    # ---- save and evaluate
    emit({"type": "stage", "stage": "evaluate", "message": "Evaluating"})
    if run_dir is not None:
        tmp = run_dir / ".model.tmp.keras"
        try:
            parts.model.save(tmp)
            tmp.replace(run_dir / "model.keras")  # a reader never sees half a model
        finally:
            tmp.unlink(missing_ok=True)
    if predict_split is None:  # cancelled before any training: score the model as it is
        predict_split = lambda split_name, samples: parts.model.predict(  # noqa: E731
            ImageBatches(samples, size, batch_size=batch), verbose=0)

    # A cancelled run is evaluated too: it keeps its best weights and is still a usable model.
    evaluation = evaluate_predictions(y_val, predict_split("val", val_samples), classes,
                                      [s.path for s in val_samples])
    evaluation["split"] = "val"
    if test_samples:
        y_test = np.array([s.label for s in test_samples], dtype=int)
        evaluation["test"] = evaluate_predictions(y_test, predict_split("test", test_samples),
                                                  classes, [s.path for s in test_samples])
        evaluation["test"]["split"] = "test"
    seconds = time.perf_counter() - started
    status = "cancelled" if stopper_state["cancelled"] else "finished"
    evaluation["seconds"] = seconds
    if run_dir is not None:
        write_json_atomic(run_dir / "evaluation.json", evaluation)
    emit({"type": "status", "status": status, "accuracy": evaluation.get("accuracy"),
          "test_accuracy": evaluation.get("test", {}).get("accuracy"), "seconds": seconds})
    return TrainResult(status, classes, evaluation, emit.history, seconds, run_dir, parts.model,
                       sum(c.hits for c in caches), sum(c.misses for c in caches))
