"""A run's trust, read and changed after training: the figures at a threshold, and saving a new one.

Training writes ``trust.json``, ``prototypes.npy`` and ``predictions.json`` (see
:class:`tlcore.runs.RunFolder`); everything here works from those files alone, with numpy,
so the Evaluate page can move a threshold live and :func:`set_operating_point` can change
what the run answers without loading its model. ``evaluation.json`` always describes the
model as it answers now: its figures are recomputed at the saved threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TLCoreError
from ..runs import RunFolder
from .operating import RULES, choose_threshold, curves, figures_at
from .settings import Trust
from .unknown import STRICTNESS, limits_of

SPLITS = ("val", "test")


def load_trust(run_dir: str | Path) -> tuple[Trust | None, np.ndarray | None]:
    """The run's :class:`Trust` and prototypes (None, None for a run trained before they existed)."""
    folder = RunFolder(run_dir)
    data = folder.trust()
    if data is None:
        return None, None
    try:
        trust = Trust.from_dict(data)
    except (TypeError, ValueError) as err:
        raise TLCoreError(f"The run file {folder.run_id}/trust.json is damaged ({err}).",
                          "train the run again.") from None
    prototypes = folder.prototypes()
    if prototypes is None or prototypes.ndim != 2:
        # Without them "I don't know" would silently never be said.
        raise TLCoreError(f"The run file {folder.run_id}/prototypes.npy is missing or damaged.",
                          "train the run again (it writes the file with the model).")
    return trust, prototypes


def _split_arrays(predictions: dict, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str]]:
    part = predictions.get(split) or {}
    probs = np.asarray(part.get("probabilities") or [], dtype=np.float32)
    labels = np.asarray(part.get("labels") or [], dtype=int)
    sims = part.get("similarity")
    return labels, probs, (None if sims is None else np.asarray(sims, dtype=np.float32)), list(part.get("paths") or [])


def unknown_figures(trust: Trust, labels, probs, similarity) -> dict:
    """How many pictures of a split are answered "I don't know", and the accuracy on the rest."""
    if not len(labels):
        return {"share": 0.0, "count": 0, "unlike": 0, "unsure": 0, "accuracy_known": None, "num_images": 0}
    unlike, unsure = trust.unknown_mask(probs, similarity)
    unknown = unlike | unsure
    known = ~unknown
    picks = trust.picks(probs)
    return {"share": float(unknown.mean()), "count": int(unknown.sum()), "unlike": int(unlike.sum()),
            "unsure": int((unsure & ~unlike).sum()),
            "accuracy_known": float((picks[known] == labels[known]).mean()) if known.any() else None,
            "num_images": int(len(labels))}


def evaluate_with_trust(predictions: dict, trust: Trust) -> dict:
    """``evaluation.json``'s figures from the saved predictions at the run's threshold and limits."""
    from ..evaluate import evaluate_predictions

    classes = list(predictions.get("classes") or trust.classes)
    threshold = trust.cut if len(classes) == 2 else None
    evaluation: dict = {}
    for split in SPLITS:
        labels, probs, sims, paths = _split_arrays(predictions, split)
        if split == "test" and not len(labels):
            continue
        figures = evaluate_predictions(labels, probs.reshape(len(labels), len(classes)), classes, paths,
                                       threshold=threshold)
        figures["split"] = split
        figures["unknown"] = unknown_figures(trust, labels, probs, sims)
        if split == "val":
            evaluation.update(figures)
        else:
            evaluation["test"] = figures
    if len(classes) == 2:
        evaluation["operating_point"] = operating_point(predictions, trust)
    evaluation["trust"] = trust.to_dict()
    return evaluation


def operating_point(predictions: dict, trust: Trust) -> dict:
    """The threshold, how it was chosen, the areas under the curves, and the figures at it."""
    classes = list(predictions.get("classes") or trust.classes)
    labels, probs, _, _ = _split_arrays(predictions, "val")
    areas = curves(labels, probs[:, 1]) if len(labels) else {"roc": None, "pr": None}
    out = {"positive_class": classes[1], "threshold": trust.cut, "rule": trust.rule, "target": trust.target,
           "roc_auc": (areas["roc"] or {}).get("auc"), "pr_auc": (areas["pr"] or {}).get("auc")}
    for split in SPLITS:
        labels, probs, _, _ = _split_arrays(predictions, split)
        if len(labels):
            out[split] = figures_at(labels, probs[:, 1], trust.cut, classes)
    return out


def operating_figures(run_dir: str | Path, split: str = "val", threshold: float | None = None) -> dict:
    """What the Evaluate page draws for a two-class run: curves, and the figures at ``threshold``
    (None: the saved one) on ``split``."""
    folder = RunFolder(run_dir)
    predictions, trust = folder.predictions(), load_trust(run_dir)[0]
    if predictions is None or trust is None:
        raise TLCoreError(f"Run {folder.run_id} was trained before thresholds could be chosen.",
                          "train it again to choose its threshold.")
    if len(trust.classes) != 2:
        raise TLCoreError("A threshold is chosen only for two classes.", "pick a run with two classes.")
    labels, probs, _, _ = _split_arrays(predictions, split)
    if not len(labels):
        raise TLCoreError(f"Run {folder.run_id} has no {split} pictures.", "look at the validation pictures.")
    t = trust.cut if threshold is None else float(threshold)
    return {"split": split, "curves": curves(labels, probs[:, 1]),
            **figures_at(labels, probs[:, 1], t, trust.classes)}


def unknown_preview(run_dir: str | Path, strictness: str) -> dict:
    """What ``strictness`` would do, without saving it: ``{"val": unknown_figures, "test": …}``
    and the limits it would set."""
    if strictness not in STRICTNESS:
        raise TLCoreError(f"Unknown strictness {strictness!r}.", f"use one of: {', '.join(STRICTNESS)}.")
    trust, prototypes = load_trust(run_dir)
    predictions = RunFolder(run_dir).predictions()
    if trust is None or predictions is None:
        raise TLCoreError("This run was trained before \"I don't know\" existed.", "train it again to get it.")
    trust.strictness = strictness
    trust.similarity_limit, trust.confidence_limit = limits_of(prototypes, strictness, len(trust.classes),
                                                                  subjects=trust.prototype_subjects)
    out: dict = {"similarity_limit": trust.similarity_limit, "confidence_limit": trust.confidence_limit}
    for split in SPLITS:
        labels, probs, sims, _ = _split_arrays(predictions, split)
        if len(labels):
            out[split] = unknown_figures(trust, labels, probs, sims)
    return out


def threshold_for(run_dir: str | Path, rule: str, target: float = 0.95, value: float | None = None) -> float:
    """The threshold ``rule`` picks on the run's validation pictures."""
    predictions = RunFolder(run_dir).predictions() or {}
    labels, probs, _, _ = _split_arrays(predictions, "val")
    if not len(labels):
        raise TLCoreError("The run has no saved validation predictions.", "train it again.")
    return choose_threshold(labels, probs[:, 1], rule, target, value)


def set_operating_point(run_dir: str | Path, *, rule: str | None = None, target: float | None = None,
                        threshold: float | None = None, strictness: str | None = None) -> Trust:
    """Change how a run answers: the two-class threshold (by ``rule`` and ``target``, or an
    exact ``threshold``) and/or the "I don't know" ``strictness``.

    Rewrites ``trust.json``, the matching settings in ``config.json`` (so a replay answers the
    same) and ``evaluation.json``'s figures. Exports made before keep their old settings;
    export again to carry the new ones.
    """
    folder = RunFolder(run_dir).require()
    trust, prototypes = load_trust(run_dir)
    predictions = folder.predictions()
    if trust is None or predictions is None:
        raise TLCoreError(f"Run {folder.run_id} was trained before thresholds and \"I don't know\" existed.",
                          "train it again (same settings) to get them.")
    if rule is not None and rule not in RULES:
        raise TLCoreError(f"Unknown threshold rule {rule!r}.", f"use one of: {', '.join(RULES)}.")
    if strictness is not None and strictness not in STRICTNESS:
        raise TLCoreError(f"Unknown strictness {strictness!r}.", f"use one of: {', '.join(STRICTNESS)}.")
    if target is not None and not 0.5 <= float(target) <= 0.999:
        raise TLCoreError(f"The target {target!r} is out of range.", "use a share from 0.5 to 0.999, e.g. 0.95.")
    if (rule is not None or threshold is not None or target is not None) and len(trust.classes) != 2:
        raise TLCoreError("A threshold is chosen only for two classes.",
                          "with more classes each picture gets its most likely class; set only the strictness.")
    if threshold is not None:
        rule = "manual"
    if rule is not None or target is not None:
        trust.rule = rule or trust.rule
        trust.target = float(target) if target is not None else trust.target
        trust.threshold = threshold_for(run_dir, trust.rule, trust.target, threshold)
    if strictness is not None:
        trust.strictness = strictness
        trust.similarity_limit, trust.confidence_limit = limits_of(prototypes, strictness, len(trust.classes),
                                                                  subjects=trust.prototype_subjects)
    folder.write_trust(trust.to_dict())
    config = folder.config()
    if len(trust.classes) == 2:
        config.threshold_rule, config.threshold_target = trust.rule, trust.target
        config.threshold_value = trust.threshold if trust.rule == "manual" else None
    config.unknown_strictness = trust.strictness
    folder.write_config(config)
    evaluation = folder.evaluation() or {}
    for key in ("test", "operating_point", "trust"):
        evaluation.pop(key, None)
    evaluation.update(evaluate_with_trust(predictions, trust))
    folder.write_evaluation(evaluation)
    return trust


__all__ = ["evaluate_with_trust", "load_trust", "operating_figures", "operating_point", "set_operating_point",
           "threshold_for", "unknown_figures", "unknown_preview"]
