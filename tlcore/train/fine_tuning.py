"""Stage 2: fine-tune the top of the base, then keep whichever weights score better on validation.

The frozen bottom's output never changes while fine-tuning (BatchNormalization stays frozen),
so when it fits in memory it is computed once per (augmented) view, cached like bottleneck
features, and only the top trains: the same weights as in the model. Otherwise the whole model
trains on images. :func:`keep_better_weights` then compares both on validation and says why.
"""

from __future__ import annotations

import numpy as np

from .. import events as ev
from .feeds import fits_in_memory
from .fitting import fit_arrays, fit_images, image_predictor
from .stages import cached_outputs, cached_predictor
from .state import Predictor, TrainingRun


def val_score(probs: np.ndarray, labels: np.ndarray) -> dict:
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


def fine_tune(run: TrainingRun) -> None:
    """Unfreeze the top of the base, train it at the fine-tuning rate, keep the better weights."""
    from ..model import count_params, split_for_fine_tuning, unfreeze_top

    config, parts = run.config, run.parts
    if run.scratch:
        return  # a random start already trained every layer
    frozen_predict = run.predict_split
    frozen_score = val_score(frozen_predict("val", run.val_samples), run.y_val)
    frozen_weights = parts.model.get_weights()
    unfrozen = unfreeze_top(parts.base, config.fine_tune_layers, config.fine_tune_from)
    trainable, frozen = count_params(parts.model)
    augment, views = config.fine_tune_augmented, config.fine_tune_views_used
    run.emit(ev.stage_event(ev.STAGE_FINE_TUNE,
                            f"Fine-tuning the top {unfrozen} layers" + (" on augmented images" if augment else ""),
                            layers=unfrozen, trainable_params=trainable, frozen_params=frozen))
    split = split_for_fine_tuning(parts.base) if config.feature_cache else None
    if split is not None and fits_in_memory(split.shape, len(run.train_samples) * (views + 1)):
        tuned_predict = _fine_tune_on_cached_bottom(run, split, views)
    else:
        model = parts.augmented_model if augment else parts.train_model
        fit_images(run, model, ev.STAGE_FINE_TUNE, config.fine_tune_epochs, config.fine_tune_learning_rate)
        tuned_predict = image_predictor(run)
    tuned_score = val_score(tuned_predict("val", run.val_samples), run.y_val)
    keep_better_weights(run, frozen_predict, frozen_score, frozen_weights, tuned_predict, tuned_score,
                        layers=unfrozen, views=views)


def _fine_tune_on_cached_bottom(run: TrainingRun, split, views: int) -> Predictor:
    """Train only the top of the base, on the frozen bottom's cached activations."""
    import keras

    from ..features import FeatureCache, model_key
    from ..model import boundary_classifier

    config, parts = run.config, run.parts
    bottom = keras.Model(parts.inputs, split.bottom(parts.prep(parts.resize(parts.inputs)), training=False))
    top_model = boundary_classifier(parts, split)
    boundary_cache = FeatureCache(run.workspace.cache_dir, model_key(config, run.size, f"{parts.layer}@{split.boundary}"))
    run.caches.append(boundary_cache)
    # Each epoch sees every image once, as the next cached view (original, then the
    # augmented copies): fresh augmentation per epoch at the cost of one plain epoch.
    x_fit = [cached_outputs(run, bottom, boundary_cache, "train", run.train_samples, v) for v in range(views + 1)]
    x_val = cached_outputs(run, bottom, boundary_cache, "val", run.val_samples)
    fit_arrays(run, top_model, ev.STAGE_FINE_TUNE, x_fit, run.y_train, x_val, config.fine_tune_epochs,
               config.fine_tune_learning_rate, parts.model, run.checkpoint())
    del x_fit
    return cached_predictor(run, top_model, bottom, boundary_cache)


def keep_better_weights(run: TrainingRun, frozen_predict: Predictor, frozen_score: dict, frozen_weights: list,
                        tuned_predict: Predictor, tuned_score: dict, *, layers: int, views: int) -> None:
    """Keep the fine-tuned weights only if they beat the frozen ones; record which and why."""
    config, parts = run.config, run.parts
    keep, text = fine_tune_verdict(frozen_score, tuned_score, len(run.val_samples))
    if keep:
        run.predict_split = tuned_predict
    else:
        parts.model.set_weights(frozen_weights)
        run.predict_split = frozen_predict
    parts.base.trainable = False
    run.fine_tune_report = {"kept": "fine-tuned" if keep else "frozen", "message": text, "layers": layers,
                            "augmented_views": views, "learning_rate": config.fine_tune_learning_rate,
                            "frozen_val_accuracy": frozen_score["accuracy"], "frozen_val_loss": frozen_score["loss"],
                            "fine_tuned_val_accuracy": tuned_score["accuracy"],
                            "fine_tuned_val_loss": tuned_score["loss"]}
    run.emit(ev.fine_tune_result_event(**run.fine_tune_report))
