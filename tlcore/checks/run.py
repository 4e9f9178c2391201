"""The data check's entry point: :func:`check_dataset`, from a dataset to a :class:`DataCheck`.

It runs the stages in order: read the dataset (with the user's edits and the subject split),
compute (or read from the cache) the bottleneck features of every image, exactly as a
training run does, so a check after a run, or a run after a check, computes nothing twice,
then run the checks on those features: out-of-fold predictions and suspected label errors
(:mod:`.labels`), near-duplicates (:mod:`.duplicates`), outliers (:mod:`.outliers`), shift
between splits (:mod:`.shift`), the learning curve (:mod:`.curve`) and the map
(:mod:`.embedding`). Every stage is announced on the event stream, so the page and the
command line show the same progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import events as ev
from ..config import TrainConfig
from ..data.discover import relative_path
from ..data.edits import check_edits
from ..errors import TLCoreError
from ..findings import Finding
from ..workspace import Workspace, default_workspace

CHECK_VERSION = 1
STAGE = "check"  # the stage of every step after the feature pass
MAX_LISTED = 50  # suspects and outliers listed (ranked: the rest are rarely worth a look)


@dataclass
class CheckFeatures:
    """The bottleneck features of every image of a dataset, in sample order, and where they came from."""

    dataset: Any
    features: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    paths: list[str]  # relative to the dataset's folder, as its report writes them
    backbone: str
    layer: str
    image_size: int
    cached: bool
    seconds: float
    texts: list[str] = field(default_factory=list)  # text data: each sample's text, in sample order


@dataclass
class DataCheck:
    """What a data check found (see :meth:`to_dict` for the saved shape)."""

    values: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.values, "findings": [f.to_dict() for f in self.findings]}


def _config_of(config: TrainConfig | str | Path) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    return TrainConfig(data=str(config))


def check_features(config: TrainConfig | str | Path, *, workspace: Workspace | None = None,
                   on_event: ev.Emit | None = None, should_stop: Callable[[], bool] | None = None) -> CheckFeatures:
    """Read the dataset of ``config`` and the features of all its images (cached by content).

    The features are those a feature-extraction run of the same settings trains its head on:
    the frozen backbone cut at ``config.layer``, pooled.
    """
    from ..data.any_source import is_text_data, load_any
    from ..features import FeatureCache, model_key, split_features
    from ..model import build_classifier
    from ..train.stages import match_backbone

    config = _config_of(config).validate()
    workspace = workspace or default_workspace()
    emit = on_event or (lambda event: None)
    if not config.data:
        raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip.")
    text = {"text_column": config.text_column, "label_column": config.label_column}
    is_text = is_text_data(config.data, **text)
    emit(ev.stage_event(ev.STAGE_DATA, "Checking texts" if is_text else "Checking images"))
    dataset = load_any(config.data, **text, sequence_length=config.sequence_length, val_fraction=config.val_fraction,
                       seed=config.seed, workspace=workspace, progress=ev.data_progress(emit),
                       edits=config.edits, **({} if is_text else {"group_by": config.group_by}))
    match_backbone(config, dataset, emit)
    emit(ev.stage_event(ev.STAGE_MODEL, f"Building {config.backbone_file or config.backbone}"))
    if dataset.is_text:
        from ..text.model import build_text_classifier

        parts = build_text_classifier(config, dataset.num_classes, dataset)
    else:
        parts = build_classifier(config, dataset.num_classes)
    cache = FeatureCache(workspace.cache_dir, model_key(config, parts.image_size, parts.layer))
    emit(ev.stage_event(ev.STAGE_FEATURES, "Computing bottleneck features (cached for next time)"))
    start, misses = time.perf_counter(), cache.misses
    blocks, samples = [], []
    for split in ("train", "val", "test"):
        part = dataset.split(split)
        if not part:
            continue
        hashes = [dataset.content_hash(s.path) for s in part]
        blocks.append(split_features(parts.extractor, cache, part, hashes, parts.image_size, config.batch_size,
                                     split=split, emit=emit, should_stop=should_stop, batcher=parts.batcher))
        samples += part
    return CheckFeatures(
        dataset=dataset, features=np.concatenate(blocks, axis=0).astype("float32"),
        labels=np.array([s.label for s in samples], dtype=int), splits=np.array([s.split for s in samples]),
        paths=[relative_path(s.path, dataset.root) for s in samples],
        backbone=config.backbone_file and Path(config.backbone_file).name or config.backbone,
        layer=parts.layer, image_size=parts.image_size, cached=cache.misses == misses,
        seconds=time.perf_counter() - start, texts=[dataset.texts[s.path] for s in samples] if dataset.is_text else [],
    )


def check_dataset(config: TrainConfig | str | Path, *, workspace: Workspace | None = None, folds: int | None = None,
                  curve: bool = True, embedding: bool = True, on_event: ev.Emit | None = None,
                  should_stop: Callable[[], bool] | None = None) -> DataCheck:
    """Check a dataset for wrong labels, near-duplicates, leaks, outliers and shifted splits.

    Args:
        config: The settings (dataset, backbone, layer, subject split, edits) or just a dataset
            folder/zip (default settings).
        workspace: Where zips are extracted and features cached (default: ``TLCORE_WORKSPACE``).
        folds: Folds of the out-of-fold predictions (default: 5, fewer for tiny classes).
        curve: Also compute the learning curve ("do I need more images?").
        embedding: Also compute the 2-D map of the features.
        on_event: Called with every progress event (schema: :mod:`tlcore.events`).
        should_stop: Polled between feature batches; True stops the check (KeyboardInterrupt).

    Returns:
        The :class:`DataCheck`; ``to_dict()`` is what the page, ``tlcore check --json`` and
        the check folder's ``check.json`` show.

    Raises:
        TLCoreError: The dataset cannot be used, a setting is wrong, or a class is too small
            for ``folds`` folds; the message says how to fix it.
    """
    from .duplicates import find_near_duplicates
    from .embedding import project
    from .labels import find_label_suspects
    from .outliers import find_outliers
    from .shift import split_shift

    config = _config_of(config)
    emit = on_event or (lambda event: None)
    started = time.perf_counter()
    feats = check_features(config, workspace=workspace, on_event=emit, should_stop=should_stop)
    dataset, x, y, splits = feats.dataset, feats.features, feats.labels, feats.splits
    classes = list(dataset.classes)
    kept = {e.path for e in check_edits(config.edits) if e.action == "keep"}
    items = "texts" if dataset.is_text else "images"
    timings: dict[str, float] = {"features": round(feats.seconds, 2)}

    def step(name: str, message: str, work: Callable[[], Any]) -> Any:
        emit(ev.stage_event(STAGE, message, step=name))
        t0 = time.perf_counter()
        value = work()
        timings[name] = round(time.perf_counter() - t0, 2)
        return value

    labels = step("labels", "Looking for pictures that may be labelled wrong",
                  lambda: find_label_suspects(x, y, classes, folds=folds, seed=config.seed))
    probs = labels.pred_probs
    copies = {}
    if dataset.is_text:  # copies in meaning and in wording (tlcore.text.near_copies)
        from ..text.near_copies import MEANING, wording_filter

        copies = {"threshold": MEANING, "pair_filter": wording_filter(feats.texts)}
    groups = step("duplicates", "Looking for near-duplicates and leaks between splits",
                  lambda: find_near_duplicates(x, y, splits, **copies))
    outliers = step("outliers", "Looking for pictures unlike the others",
                    lambda: find_outliers(x, y, pred_probs=probs))
    shift = step("shift", "Comparing the splits with the training pictures",
                 lambda: split_shift(x, y, splits, classes, seed=config.seed, items=items))
    values: dict[str, Any] = {
        "version": CHECK_VERSION, "data": config.data, "data_name": config.data_name,
        "backbone": feats.backbone, "layer": feats.layer, "image_size": feats.image_size,
        "features_cached": feats.cached, "classes": classes, "num_images": int(len(y)),
        "samples": [{"path": p, "label": classes[int(c)], "split": str(s)} for p, c, s in zip(feats.paths, y, splits)],
        "item": "text" if dataset.is_text else "picture",
        "predicted": [classes[int(i)] for i in np.argmax(probs, axis=1)],
        "labels": _with_samples(labels.to_dict(), "suspects", feats, classes, kept, probs),
        "near_duplicates": [_group(g.to_dict(), feats, classes) for g in groups],
        "outliers": _with_samples({"items": [o.to_dict() for o in outliers if o.is_outlier]}, "items", feats, classes,
                                  kept, probs),
        "shift": [_shift_row(r.to_dict(), feats) for r in shift],
        "subjects": dict(dataset.report.subjects or {}),
        "edits": list(dataset.report.edits or []),
    }
    if curve:
        values["curve"] = step("curve", "Retraining on parts of the training pictures (learning curve)",
                               lambda: _curve(x, y, splits, classes, config.seed, items))
    if embedding:
        values["map"] = step("map", "Drawing the map of your pictures",
                             lambda: project(x, seed=config.seed).to_dict())
    values["timings"] = timings
    values["seconds"] = round(time.perf_counter() - started, 2)
    return DataCheck(values, summarize(values))


def learning_curve_of(config: TrainConfig | str | Path, *, workspace: Workspace | None = None,
                      on_event: ev.Emit | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """"Do I need more images?": the learning curve of ``config``'s dataset alone (see
    :func:`tlcore.checks.curve.learning_curve`), on the same cached features as the check."""
    config = _config_of(config)
    feats = check_features(config, workspace=workspace, on_event=on_event, should_stop=should_stop)
    if on_event is not None:
        on_event(ev.stage_event(STAGE, "Retraining on parts of the training pictures (learning curve)", step="curve"))
    return _curve(feats.features, feats.labels, feats.splits, list(feats.dataset.classes), config.seed)


def _sample(index: int, feats: CheckFeatures, classes: list[str], probs: np.ndarray | None = None) -> dict:
    out = {"index": int(index), "path": feats.paths[index], "split": str(feats.splits[index]),
           "label": classes[int(feats.labels[index])]}
    if feats.dataset.is_text:  # a text is shown, not opened
        out["text"] = feats.texts[index]
    if probs is not None:
        out["predicted"] = classes[int(np.argmax(probs[index]))]
    return out


def _with_samples(values: dict, key: str, feats: CheckFeatures, classes: list[str], kept: set[str],
                  probs: np.ndarray) -> dict:
    """Name each listed item's picture; drop the ones the user decided to keep; list the top ones."""
    items = []
    for item in values.get(key, []):
        item = {**item, **_sample(item["index"], feats, classes, probs)}
        if item["path"] not in kept:
            items.append(item)
    values = {k: v for k, v in values.items() if k != "ranked"}
    values[key] = items[:MAX_LISTED]
    values[f"num_{key}"] = len(items)
    values["kept"] = sorted(kept)
    return values


def _group(group: dict, feats: CheckFeatures, classes: list[str]) -> dict:
    return {**group, "members": [_sample(i, feats, classes) for i in group["indices"]]}


def _shift_row(row: dict, feats: CheckFeatures) -> dict:
    return {**row, "example_paths": [feats.paths[i] for i in row.get("examples", [])]}


def _curve(x, y, splits, classes, seed, items: str = "images") -> dict:
    from .curve import learning_curve

    train, val = splits == "train", splits == "val"
    if not val.any():
        return {"skipped": f"There are no validation {items} to measure the curve on."}
    return learning_curve(x[train], y[train], x[val], y[val], classes, seed=seed, items=items).to_dict()


def _groups(values: dict, kind: str) -> list[dict]:
    return [g for g in values.get("near_duplicates", []) if g.get("kind") == kind]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summarize(values: dict) -> list[Finding]:
    """The check's findings in plain words, most important first."""
    one = values.get("item", "picture")  # "picture" or "text"
    many, looks = one + "s", "looks" if one == "picture" else "reads"
    findings = [Finding(row["message"].rstrip("."), f"check those {many} (the ones most unlike training are listed); "
                        f"collect training {many} like them, or judge the model on the split it will meet.",
                        row.get("example_paths", []))
                for row in values.get("shift", []) if row.get("flagged")]
    leaks, conflicts, dupes = (_groups(values, kind) for kind in ("leak", "conflict", "duplicate"))
    suspects, outliers = values.get("labels", {}), values.get("outliers", {})
    n_suspects, n_outliers = suspects.get("num_suspects", 0), outliers.get("num_items", 0)
    members = lambda groups: [m["path"] for g in groups for m in g["members"]]  # noqa: E731
    candidates = [
        (leaks, f"{_count(len(leaks), 'group', 'groups')} of near-identical {many} ({len(members(leaks))} {many}) "
                f"sit in more than one split, so the model is scored on {many} it has practically seen (leakage)",
         "exclude the copies from one side (or keep each group in one split).", members(leaks)),
        (conflicts, f"{_count(len(conflicts), 'group', 'groups')} of near-identical {many} carry different labels",
         "relabel or exclude the wrong ones.", members(conflicts)),
        (n_suspects, f"{_count(n_suspects, one, many)} may be labelled wrong (another class fits "
                     f"{'it' if n_suspects == 1 else 'them'} much better)",
         "look at each one: relabel it, exclude it, or keep it as it is.",
         [x["path"] for x in suspects.get("suspects", [])]),
        (n_outliers, f"{_count(n_outliers, f'{one} {looks}', f'{many} {looks[:-1]}')} unlike the others (outliers: "
                     f"a placeholder, a wrong file, or a rare kind of {one})", "exclude the ones that do not belong.",
         [o["path"] for o in outliers.get("items", [])]),
        (dupes, f"{_count(len(dupes), 'group', 'groups')} of near-identical {many} within one class",
         f"copies add no information and weigh those {many} more; exclude all but one.", members(dupes)),
    ]
    return findings + [Finding(problem, fix, paths) for found, problem, fix, paths in candidates if found]
