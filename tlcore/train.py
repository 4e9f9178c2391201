"""Training: feature extraction (with the cached-feature fast path) and fine-tuning.

``train(config)`` runs in the calling process and reports through events (see
docs/ARCHITECTURE.md); :mod:`tlcore.jobs` runs it in a process of its own for the app.
"""

from __future__ import annotations

import errno
import functools
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


@functools.cache  # one class, built on first use: importing keras is not free
def _view_cycle_class():
    import keras

    class ViewCycle(keras.utils.PyDataset):
        """Batches of cached outputs where epoch k uses view ``k % len(views)``, reshuffled each epoch."""

        def __init__(self, views: list, labels: np.ndarray, batch_size: int, seed: int):
            super().__init__()
            self.views, self.labels, self.batch_size, self.seed = views, labels, batch_size, seed
            # Counted where Keras begins each epoch (it may also call on_epoch_end when peeking).
            self.epoch = -1
            self.order = np.random.default_rng([seed, 0]).permutation(len(labels))

        def __len__(self) -> int:
            return int(np.ceil(len(self.labels) / self.batch_size))

        def __getitem__(self, index: int):
            picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            return self.views[max(self.epoch, 0) % len(self.views)][picked], self.labels[picked]

        def on_epoch_begin(self) -> None:
            self.epoch += 1
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

        def on_epoch_end(self) -> None:
            pass

    return ViewCycle


def _ViewCycle(views: list, labels: np.ndarray, batch_size: int, seed: int):
    return _view_cycle_class()(views, labels, batch_size, seed)


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

    from .callbacks import EventLog
    from .data import load_dataset
    from .device import choose_precision_policy
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

    emit({"type": "status", "status": "running", "message": "Preparing data"})
    keras.utils.set_random_seed(config.seed)
    keras.config.set_dtype_policy(choose_precision_policy(config.mixed_precision))

    if dataset is None:
        if not config.data:
            raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip (setting 'data').")
        dataset = load_dataset(config.data, val_fraction=config.val_fraction, seed=config.seed,
                               workspace=workspace, progress=_throttled_data_progress(emit))
    run = _Run(config, dataset, run_dir, emit, should_stop or (lambda: False), workspace, extra_callbacks)
    try:
        run.train_head()
        if config.mode == "fine-tune" and config.fine_tune_epochs > 0 and not run.stop():
            run.fine_tune()
    except KeyboardInterrupt:
        run.cancelled = True  # cancelled while computing features
    evaluation = run.save_and_evaluate()
    seconds = time.perf_counter() - started
    status = "cancelled" if run.cancelled else "finished"
    evaluation["seconds"] = seconds
    if run_dir is not None:
        write_json_atomic(run_dir / "evaluation.json", evaluation)
    emit({"type": "status", "status": status, "accuracy": evaluation.get("accuracy"),
          "test_accuracy": evaluation.get("test", {}).get("accuracy"), "seconds": seconds})
    return TrainResult(status, run.classes, evaluation, emit.history, seconds, run_dir, run.parts.model,
                       sum(c.hits for c in run.caches), sum(c.misses for c in run.caches))


def _throttled_data_progress(emit: Emit):
    last = [0.0]

    def data_progress(done, total, message=""):
        now = time.perf_counter()
        if now - last[0] < 0.5 and done < total:
            return  # a few events a second is plenty for a progress bar
        last[0] = now
        emit({"type": "stage", "stage": "data", "done": done, "total": total, "message": message or "Checking images"})

    return data_progress


def _val_score(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy and cross-entropy of predicted probabilities (how kept weights are chosen)."""
    picked = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return {"accuracy": float(np.mean(np.argmax(probs, axis=1) == labels)), "loss": float(-np.mean(np.log(picked)))}


def fine_tune_verdict(frozen: dict, tuned: dict, num_val: int) -> tuple[bool, str]:
    """Keep the fine-tuned weights only when they are at least as good on validation.

    Better means higher validation accuracy, or the same accuracy with a lower loss.
    Returns ``(keep_fine_tuned, plain sentence for the user)``.
    """
    keep = tuned["accuracy"] > frozen["accuracy"] or (
        tuned["accuracy"] == frozen["accuracy"] and tuned["loss"] < frozen["loss"])
    fa, ta = frozen["accuracy"], tuned["accuracy"]
    if keep and ta > fa:
        text = f"Fine-tuning raised validation accuracy from {fa:.1%} to {ta:.1%}; the fine-tuned model was kept."
    elif keep:
        text = (f"Fine-tuning kept validation accuracy at {ta:.1%} with a lower loss (more confident right "
                "answers); the fine-tuned model was kept.")
    else:
        text = (f"Fine-tuning did not beat the frozen model ({ta:.1%} vs {fa:.1%} validation accuracy); "
                "the frozen model was kept.")
    if num_val and num_val < 300:
        text += (f" With {num_val} validation images one image is {100 / num_val:.1f} points, so a difference "
                 "of a few points can be chance.")
    return keep, text


class _Run:
    """One training run's state, trained stage by stage (head, fine-tuning, evaluation)."""

    def __init__(self, config, dataset, run_dir, emit, should_stop, workspace, extra_callbacks):
        from .features import FeatureCache, model_key
        from .model import build_classifier, count_params

        self.config, self.dataset, self.run_dir, self.emit = config, dataset, run_dir, emit
        self.workspace, self.extra_callbacks = workspace, extra_callbacks
        self._should_stop, self.cancelled = should_stop, False
        self.classes = list(dataset.classes)
        self.num_classes = len(self.classes)
        self.train_samples, self.val_samples = dataset.split("train"), dataset.split("val")
        self.test_samples = dataset.split("test")
        if not self.val_samples:
            raise TLCoreError("The dataset has no validation images.", "add a val/ folder or raise the validation fraction.")
        if run_dir is not None:
            write_json_atomic(run_dir / "data_report.json", dataset.report.to_dict())
            write_json_atomic(run_dir / "labels.json", self.classes)
        self.y_train = np.array([s.label for s in self.train_samples], dtype=int)
        self.y_val = np.array([s.label for s in self.val_samples], dtype=int)
        self.class_weight = class_weights(self.y_train, self.num_classes, config.class_weight)

        emit({"type": "stage", "stage": "model", "message": f"Building {config.backbone_file or config.backbone}"})
        self.scratch = config.from_scratch
        self.parts = build_classifier(config, self.num_classes)
        trainable, frozen = count_params(self.parts.model)
        emit({"type": "stage", "stage": "model", "message": "Model ready", "trainable_params": trainable,
              "frozen_params": frozen, "image_size": self.parts.image_size, "layer": self.parts.layer,
              "class_weight": self.class_weight, "from_scratch": self.scratch})
        self.size, self.batch = self.parts.image_size, config.batch_size
        self.cache = FeatureCache(workspace.cache_dir, model_key(config, self.size, self.parts.layer))
        self.caches = [self.cache]
        self.head_views = config.head_views
        self.use_cache = config.head_on_cached_features
        self.hashes: dict[str, list[str]] = {}
        self.predict_split = None  # how the kept weights score a split, cheapest way available
        self.fine_tune_report: dict | None = None

    # ---- helpers shared by the stages
    def stop(self) -> bool:
        if not self.cancelled and self._should_stop():
            self.cancelled = True
        return self.cancelled

    def _checkpoint(self, name: str):
        return self.run_dir / name if self.run_dir else None

    def _callbacks(self, target, stage, epochs, batches, n_images, checkpoint):
        import keras

        from .callbacks import BestWeights, ProgressEvents, StopWhen

        cbs = [ProgressEvents(self.emit, stage, epochs, batches, self.batch, n_images), StopWhen(self.stop),
               BestWeights(target, "val_loss", checkpoint)]
        if self.config.early_stopping:
            cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.config.patience))
        return cbs + self.extra_callbacks

    def _cached(self, extractor, feature_cache, split_name, samples, view=0):
        """Outputs of ``extractor`` for one split (view k>0: the k-th augmented copy), cached."""
        from .features import cached_features

        if split_name not in self.hashes:
            self.hashes[split_name] = [self.dataset.content_hash(s.path) for s in samples]
        label = "Computing features" + (f" (augmented view {view})" if view else "") + f" for {split_name}"
        total_images = len(samples)

        def on_batch(done, total):
            self.emit({"type": "batch", "stage": "features", "split": split_name, "view": view,
                       "batch": done, "batches": total, "images_done": min(done * self.batch, total_images),
                       "images_total": total_images, "message": label})

        augmenter = None
        if view:
            from .augment import augmentation_layers

            augmenter = augmentation_layers(self.config.augmentation, seed=self.config.seed + view)
        return cached_features(extractor, feature_cache, samples, self.hashes[split_name], self.size, self.batch,
                               view=view, augmenter=augmenter, seed=self.config.seed, on_batch=on_batch,
                               should_stop=self.stop)

    def _fit_arrays(self, trainable, stage, x_fit, y_fit, x_val, epochs, learning_rate, target, checkpoint):
        """Fit on cached outputs; ``x_fit`` is one array, or a list of views cycled by epoch."""
        _compile(trainable, self.config, learning_rate)
        y_val = _one_hot(self.y_val, self.num_classes)
        if isinstance(x_fit, list):
            feed = {"x": _ViewCycle(x_fit, _one_hot(y_fit, self.num_classes), self.batch, self.config.seed),
                    "validation_data": (x_val, y_val)}
            x_fit = x_fit[0]
        else:
            feed = _array_feed(x_fit, _one_hot(y_fit, self.num_classes), x_val, y_val, self.batch, self.config.seed)
        steps = int(np.ceil(len(x_fit) / self.batch))
        trainable.fit(**feed, epochs=epochs, class_weight=self.class_weight, verbose=0,
                      callbacks=self._callbacks(target, stage, epochs, steps, len(x_fit), checkpoint))

    def _cached_views(self, extractor, feature_cache, views):
        """Training outputs (original + ``views`` augmented copies) and validation outputs."""
        x_fit = np.concatenate([self._cached(extractor, feature_cache, "train", self.train_samples, v)
                                for v in range(views + 1)], axis=0)
        x_val = self._cached(extractor, feature_cache, "val", self.val_samples)
        return x_fit, np.tile(self.y_train, views + 1), x_val

    def _predict_cached(self, trainable, extractor, feature_cache):
        return lambda split_name, samples: trainable.predict(
            self._cached(extractor, feature_cache, split_name, samples), batch_size=256, verbose=0)

    def _fit_images(self, model, stage, epochs, learning_rate):
        from .data import ImageBatches

        train_batches = _batches(self.train_samples, self.size, self.batch, self.num_classes, shuffle=True,
                                 seed=self.config.seed)
        val_batches = _batches(self.val_samples, self.size, self.batch, self.num_classes)
        _compile(model, self.config, learning_rate)
        model.fit(train_batches, validation_data=val_batches, epochs=epochs, class_weight=self.class_weight,
                  verbose=0, callbacks=self._callbacks(self.parts.model, stage, epochs, len(train_batches),
                                                       len(self.train_samples),
                                                       self._checkpoint("checkpoint.weights.h5")))
        self.predict_split = lambda split_name, samples: self.parts.model.predict(
            ImageBatches(samples, self.size, batch_size=self.batch), verbose=0)

    # ---- stage 1: the head on a frozen base (or, from a random start, the whole network)
    def train_head(self) -> None:
        config, parts = self.config, self.parts
        if self.scratch:
            self.emit({"type": "stage", "stage": "head",
                       "message": "Training the whole network from scratch (random start, no pretrained weights)"})
            self._fit_images(parts.train_model, "head", config.epochs, config.learning_rate)
        elif self.use_cache:
            self.emit({"type": "stage", "stage": "features",
                       "message": "Computing bottleneck features (cached for next time)"})
            x_fit, y_fit, x_val = self._cached_views(parts.extractor, self.cache, self.head_views)
            self.emit({"type": "stage", "stage": "head", "message": "Training the classifier head"})
            self._fit_arrays(parts.head, "head", x_fit, y_fit, x_val, config.epochs, config.learning_rate,
                             parts.head, self._checkpoint("checkpoint_head.weights.h5"))
            self.predict_split = self._predict_cached(parts.head, parts.extractor, self.cache)
        else:
            self.emit({"type": "stage", "stage": "head", "message": "Training the classifier head on images"})
            self._fit_images(parts.train_model, "head", config.epochs, config.learning_rate)

    # ---- stage 2: fine-tune the top of the base, keep it only if it beats the frozen model
    def fine_tune(self) -> None:
        import keras

        from .features import FeatureCache, model_key
        from .model import count_params, split_for_fine_tuning, unfreeze_top

        config, parts = self.config, self.parts
        if self.scratch:
            return  # a random start already trained every layer
        frozen_predict = self.predict_split
        frozen_score = _val_score(frozen_predict("val", self.val_samples), self.y_val)
        frozen_weights = parts.model.get_weights()
        unfrozen = unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
        trainable, frozen = count_params(parts.model)
        augment, views = config.fine_tune_augmented, config.fine_tune_views_used
        self.emit({"type": "stage", "stage": "fine-tune",
                   "message": f"Fine-tuning the top {unfrozen} layers" + (" on augmented images" if augment else ""),
                   "layers": unfrozen, "trainable_params": trainable, "frozen_params": frozen})
        split = split_for_fine_tuning(parts.base) if config.feature_cache else None
        if split is not None and _fits_in_memory(split.shape, len(self.train_samples) * (views + 1)):
            # The frozen bottom's output never changes: compute it once per (augmented) view,
            # cached like bottleneck features, and train only the top, the same weights as
            # in the model. Augmented views are augmented images pushed through the bottom.
            bottom = keras.Model(parts.inputs, split.bottom(parts.prep(parts.resize(parts.inputs)), training=False))
            boundary_input = keras.Input(split.shape)
            top_model = keras.Model(boundary_input, parts.head(parts.pool(split.top(boundary_input, training=False))))
            boundary_cache = FeatureCache(self.workspace.cache_dir,
                                          model_key(config, self.size, f"{parts.layer}@{split.boundary}"))
            self.caches.append(boundary_cache)
            # Each epoch sees every image once, as the next cached view (original, then the
            # augmented copies): fresh augmentation per epoch at the cost of one plain epoch.
            x_fit = [self._cached(bottom, boundary_cache, "train", self.train_samples, v) for v in range(views + 1)]
            x_val = self._cached(bottom, boundary_cache, "val", self.val_samples)
            self._fit_arrays(top_model, "fine-tune", x_fit, self.y_train, x_val, config.fine_tune_epochs,
                             config.fine_tune_learning_rate, parts.model, self._checkpoint("checkpoint.weights.h5"))
            del x_fit
            tuned_predict = self._predict_cached(top_model, bottom, boundary_cache)
        else:
            model = parts.augmented_model if augment else parts.train_model
            self._fit_images(model, "fine-tune", config.fine_tune_epochs, config.fine_tune_learning_rate)
            tuned_predict = self.predict_split
        tuned_score = _val_score(tuned_predict("val", self.val_samples), self.y_val)
        keep, text = fine_tune_verdict(frozen_score, tuned_score, len(self.val_samples))
        if keep:
            self.predict_split = tuned_predict
        else:
            parts.model.set_weights(frozen_weights)
            self.predict_split = frozen_predict
        parts.base.trainable = False
        self.fine_tune_report = {"kept": "fine-tuned" if keep else "frozen", "message": text, "layers": unfrozen,
                                 "augmented_views": views, "learning_rate": config.fine_tune_learning_rate,
                                 "frozen_val_accuracy": frozen_score["accuracy"], "frozen_val_loss": frozen_score["loss"],
                                 "fine_tuned_val_accuracy": tuned_score["accuracy"],
                                 "fine_tuned_val_loss": tuned_score["loss"]}
        self.emit({"type": "fine_tune_result", "stage": "fine-tune", **self.fine_tune_report})

    # ---- save and evaluate the kept weights
    def save_and_evaluate(self) -> dict:
        from .data import ImageBatches
        from .evaluate import evaluate_predictions

        parts = self.parts
        self.emit({"type": "stage", "stage": "evaluate", "message": "Evaluating"})
        if self.run_dir is not None:
            tmp = self.run_dir / ".model.tmp.keras"
            try:
                parts.model.save(tmp)
                tmp.replace(self.run_dir / "model.keras")  # a reader never sees half a model
            finally:
                tmp.unlink(missing_ok=True)
        predict_split = self.predict_split
        if predict_split is None:  # cancelled before any training: score the model as it is
            predict_split = lambda split_name, samples: parts.model.predict(  # noqa: E731
                ImageBatches(samples, self.size, batch_size=self.batch), verbose=0)
        # A cancelled run is evaluated too: it keeps its best weights and is still a usable model.
        evaluation = evaluate_predictions(self.y_val, predict_split("val", self.val_samples), self.classes,
                                          [s.path for s in self.val_samples])
        evaluation["split"] = "val"
        if self.test_samples:
            y_test = np.array([s.label for s in self.test_samples], dtype=int)
            evaluation["test"] = evaluate_predictions(y_test, predict_split("test", self.test_samples),
                                                      self.classes, [s.path for s in self.test_samples])
            evaluation["test"]["split"] = "test"
        if self.fine_tune_report is not None:
            evaluation["fine_tune"] = self.fine_tune_report
        if self.scratch:
            evaluation["from_scratch"] = True
        return evaluation
