"""Learning what the trained model can be trusted with: calibration, "I don't know", the threshold.

Run by :func:`tlcore.train.finish.save_and_evaluate` once the weights to keep are known:
the temperature is fitted on the validation split and folded into the model before it is
saved; the training pictures' bottleneck features become the prototypes that "I don't
know" measures against; two-class runs get the threshold their settings ask for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import events as ev
from ..trust.calibration import apply_temperature, cross_fitted, expected_calibration_error, fit_temperature, \
    reliability
from ..trust.operating import choose_threshold
from ..trust.settings import Trust
from ..trust.unknown import choose_prototypes, fit_unknown, nearest_similarity
from .state import TrainingRun


@dataclass
class LearnedTrust:
    trust: Trust
    prototypes: np.ndarray
    predictions: dict  # predictions.json's content
    calibration: dict  # evaluation.json's "calibration"


PROTOTYPE_SPLIT = "train (prototypes)"  # the training pictures kept as prototypes, when not all of them


def prototype_indices(y_train: np.ndarray, seed: int) -> np.ndarray:
    """Which training pictures become the "I don't know" prototypes (all, or a stratified sample)."""
    return choose_prototypes(np.zeros(len(y_train)), y_train, seed=seed)


def _features(run: TrainingRun, split: str, samples) -> np.ndarray:
    """Bottleneck features of ``samples`` under the kept weights: cached while the base is as
    pretrained; else one pass through the model (the cache holds the pretrained base's)."""
    from ..data import ImageBatches
    from .stages import cached_outputs

    if not samples:
        return np.zeros((0, run.parts.feature_shape[0]), np.float32)
    base_unchanged = not run.scratch and (run.fine_tune_report or {}).get("kept", "frozen") == "frozen"
    if base_unchanged and run.config.feature_cache:
        return np.asarray(cached_outputs(run, run.parts.extractor, run.cache, split, samples), np.float32)
    if run.parts.batcher is not None:
        from ..text.batches import predict_batches

        return predict_batches(run.parts.extractor, run.parts.batcher(samples, run.batch))
    return np.asarray(run.parts.extractor.predict(ImageBatches(samples, run.size, batch_size=run.batch), verbose=0),
                      np.float32)


def _calibration(temperature: float, raw: dict, labels: dict) -> dict:
    val, y = raw["val"], labels["val"]
    after = cross_fitted(val, y)
    out = {"temperature": temperature, "method": "temperature scaling fitted on the validation split",
           "ece_before": expected_calibration_error(val, y), "ece_after": expected_calibration_error(after, y),
           "ece_after_note": "cross-fitted: each half of the validation pictures calibrated on the other half",
           "reliability_before": reliability(val, y), "reliability_after": reliability(after, y)}
    if len(labels.get("test", [])):
        test = apply_temperature(raw["test"], temperature)
        out.update(test_ece_before=expected_calibration_error(raw["test"], labels["test"]),
                   test_ece_after=expected_calibration_error(test, labels["test"]),
                   test_reliability_before=reliability(raw["test"], labels["test"]),
                   test_reliability_after=reliability(test, labels["test"]))
    return out


def learn_trust(run: TrainingRun, raw: dict) -> LearnedTrust:
    """Calibrate the model (in place) and learn its limits from ``raw``: uncalibrated
    probabilities per split ("val", and "test" when there is one)."""
    from ..model import fold_temperature

    config, classes = run.config, run.classes
    samples = {"val": run.val_samples, "test": run.test_samples}
    labels = {split: np.array([s.label for s in samples[split]], dtype=int) for split in raw}
    temperature = fit_temperature(raw["val"], labels["val"])
    fold_temperature(run.parts.model, temperature)
    calibrated = {split: apply_temperature(probs, temperature) for split, probs in raw.items()}

    run.emit(ev.stage_event(ev.STAGE_EVALUATE, "Learning what the training pictures look like (for \"I don't know\")"))
    keep = prototype_indices(run.y_train, config.seed)
    # a sample of the training pictures is a split of its own: the cache keys (and the content
    # hashes kept per split) of the whole training split would not be its own
    kept = PROTOTYPE_SPLIT if len(keep) < len(run.train_samples) else "train"
    train_features = _features(run, kept, [run.train_samples[i] for i in keep])
    of = run.dataset.subjects  # a patient's or a recording's pictures are compared with other subjects only
    subjects = [of.get(run.train_samples[i].path, run.train_samples[i].path) for i in keep] if of else None
    prototypes, limits = fit_unknown(train_features, run.y_train[keep], len(classes), config.unknown_strictness,
                                     seed=config.seed, subjects=subjects)
    trust = Trust(classes=list(classes), temperature=temperature, strictness=config.unknown_strictness,
                  similarity_limit=limits["similarity_limit"], confidence_limit=limits["confidence_limit"],
                  num_prototypes=len(prototypes), prototype_subjects=limits["prototype_subjects"],
                  item="text" if run.dataset.is_text else "picture")
    if len(classes) == 2:
        trust.positive_class, trust.rule, trust.target = classes[1], config.threshold_rule, config.threshold_target
        trust.threshold = choose_threshold(labels["val"], calibrated["val"][:, 1], config.threshold_rule,
                                           config.threshold_target, config.threshold_value)
    predictions: dict = {"classes": list(classes)}
    for split, probs in calibrated.items():
        sims = nearest_similarity(_features(run, split, samples[split]), prototypes)
        predictions[split] = {"paths": [s.path for s in samples[split]], "labels": labels[split].tolist(),
                              "probabilities": np.round(probs, 6).tolist(), "similarity": np.round(sims, 6).tolist()}
        if run.dataset.is_text:  # the Evaluate page shows the texts of the mistakes
            predictions[split]["texts"] = [run.dataset.text_of(s.path) for s in samples[split]]
    return LearnedTrust(trust, prototypes, predictions, _calibration(temperature, raw, labels))
