"""The first stages of a run: prepare the data, build the model, compute features, train the head.

Each stage is one function of a :class:`~tlcore.train.state.TrainingRun`, announced by a
``stage`` event. Bottleneck features (and, for fine-tuning, the frozen bottom's activations)
come from :func:`cached_outputs`: computed once per image and view, cached on disk.
"""

from __future__ import annotations


import numpy as np

from .. import events as ev
from ..config import TrainConfig
from ..errors import TLCoreError
from .fitting import class_weights, fit_arrays, fit_images, image_predictor
from .state import EventStream, Predictor, TrainingRun


def load_data(config: TrainConfig, workspace, emit: EventStream):
    """Check and split ``config.data``, reporting progress a few times a second."""
    if not config.data:
        raise TLCoreError("No dataset was given.", "give a folder of class subfolders or a .zip (setting 'data').")
    from ..data.any_source import load_any

    return load_any(config.data, text_column=config.text_column, label_column=config.label_column,
                    sequence_length=config.sequence_length, val_fraction=config.val_fraction, seed=config.seed, workspace=workspace,
                    progress=ev.data_progress(emit), group_by=config.group_by, edits=config.edits)


def prefer_text_encoder(config: TrainConfig) -> bool:
    """Before a run folder is named: text data with the picture default (nothing chosen) gets the default
    text encoder. True when the backbone was changed (the caller says so)."""
    from ..backbones import DEFAULT_BACKBONE, DEFAULT_TEXT_ENCODER
    from ..data.any_source import is_text_data

    if config.backbone != DEFAULT_BACKBONE or config.backbone_file or not config.data:
        return False
    if not is_text_data(config.data, text_column=config.text_column, label_column=config.label_column):
        return False
    config.backbone = DEFAULT_TEXT_ENCODER
    return True


def match_backbone(config: TrainConfig, dataset, emit: EventStream) -> bool:
    """Make the backbone fit the data; True when it was changed for the user (the config is then saved again).

    Text data with the picture default (nothing chosen) gets the default text encoder, and the run
    says so; a picture backbone chosen for texts, or a text encoder for pictures, is refused.
    """
    from ..backbones import DEFAULT_BACKBONE, DEFAULT_TEXT_ENCODER, get_backbone

    modality = "text" if dataset.is_text else "image"
    chosen = "image" if config.backbone_file else get_backbone(config.backbone).modality
    if chosen == modality:
        return False
    if modality == "text" and config.backbone == DEFAULT_BACKBONE and not config.backbone_file:
        config.backbone = DEFAULT_TEXT_ENCODER
        emit(ev.stage_event(ev.STAGE_MODEL, f"The data holds texts, so the run uses the {DEFAULT_TEXT_ENCODER} "
                                            "text encoder (choose another with --backbone)"))
        return True
    if modality == "text":
        from ..text.encoders import text_spec

        text_spec(config.backbone)  # raises: a picture backbone for texts
    raise TLCoreError(f"{config.backbone} is a text encoder; this dataset holds pictures.",
                      "choose a picture backbone (e.g. --backbone MobileNetV2).")


def prepare_data(run: TrainingRun) -> None:
    """Take the splits and labels from the dataset; record the labels and the data check."""
    dataset, config = run.dataset, run.config
    run.classes = list(dataset.classes)
    run.train_samples, run.val_samples = dataset.split("train"), dataset.split("val")
    run.test_samples = dataset.split("test")
    if not run.val_samples:
        raise TLCoreError("The dataset has no validation images.", "add a val/ folder or raise the validation fraction.")
    if run.folder is not None:
        run.folder.write_data_report(dataset.report.to_dict())
        run.folder.write_labels(run.classes)
    run.y_train = np.array([s.label for s in run.train_samples], dtype=int)
    run.y_val = np.array([s.label for s in run.val_samples], dtype=int)
    run.class_weight = class_weights(run.y_train, run.num_classes, config.class_weight)


def build_model(run: TrainingRun) -> None:
    """Build the classifier (base, pooling, head) and the head's feature cache."""
    from ..features import FeatureCache, model_key
    from ..model import build_classifier, count_params

    config = run.config
    run.emit(ev.stage_event(ev.STAGE_MODEL, f"Building {config.backbone_file or config.backbone}"))
    if run.dataset.is_text:
        from ..text.model import build_text_classifier

        run.parts = build_text_classifier(config, run.num_classes, run.dataset)
    else:
        run.parts = build_classifier(config, run.num_classes)
    trainable, frozen = count_params(run.parts.model)
    run.emit(ev.stage_event(ev.STAGE_MODEL, "Model ready", trainable_params=trainable, frozen_params=frozen,
                            image_size=run.parts.image_size, layer=run.parts.layer,
                            class_weight=run.class_weight, from_scratch=run.scratch))
    run.cache = FeatureCache(run.workspace.cache_dir, model_key(config, run.size, run.parts.layer))
    run.caches = [run.cache]


def cached_outputs(run: TrainingRun, extractor, feature_cache, split_name: str, samples, view: int = 0):
    """Outputs of ``extractor`` for one split (view k>0: the k-th augmented copy), cached."""
    from ..features import split_features

    if split_name not in run.hashes:
        run.hashes[split_name] = [run.dataset.content_hash(s.path) for s in samples]
    augmenter = None
    if view:
        from ..augment import augmentation_layers

        augmenter = augmentation_layers(run.config.augmentation, seed=run.config.seed + view)
    return split_features(extractor, feature_cache, samples, run.hashes[split_name], run.size, run.batch,
                          split=split_name, view=view, augmenter=augmenter, seed=run.config.seed, emit=run.emit,
                          should_stop=run.stop, batcher=run.parts.batcher)


def cached_predictor(run: TrainingRun, trainable, extractor, feature_cache) -> Predictor:
    """Score a split by running ``trainable`` on the cached outputs of ``extractor``."""
    return lambda split_name, samples: trainable.predict(
        cached_outputs(run, extractor, feature_cache, split_name, samples), batch_size=256, verbose=0)


def compute_features(run: TrainingRun, views: int):
    """Bottleneck features of the training images (original + ``views`` augmented copies) and of
    the validation images: ``(x_fit, y_fit, x_val)``."""
    extractor = run.parts.extractor
    run.emit(ev.stage_event(ev.STAGE_FEATURES, "Computing bottleneck features (cached for next time)"))
    x_fit = np.concatenate([cached_outputs(run, extractor, run.cache, "train", run.train_samples, v)
                            for v in range(views + 1)], axis=0)
    x_val = cached_outputs(run, extractor, run.cache, "val", run.val_samples)
    return x_fit, np.tile(run.y_train, views + 1), x_val


def train_head(run: TrainingRun) -> None:
    """Stage 1: the head on a frozen base (or, from a random start, the whole network)."""
    config, parts = run.config, run.parts
    if run.scratch:
        run.emit(ev.stage_event(
            ev.STAGE_HEAD, "Training the whole network from scratch (random start, no pretrained weights)"))
        fit_images(run, parts.train_model, ev.STAGE_HEAD, config.epochs, config.learning_rate)
        run.predict_split = image_predictor(run)
    elif config.head_on_cached_features:
        x_fit, y_fit, x_val = compute_features(run, config.head_views)
        run.emit(ev.stage_event(ev.STAGE_HEAD, "Training the classifier head"))
        fit_arrays(run, parts.head, ev.STAGE_HEAD, x_fit, y_fit, x_val, config.epochs, config.learning_rate,
                   parts.head, run.checkpoint(head=True))
        run.predict_split = cached_predictor(run, parts.head, parts.extractor, run.cache)
    else:
        run.emit(ev.stage_event(ev.STAGE_HEAD, "Training the classifier head on images"))
        fit_images(run, parts.train_model, ev.STAGE_HEAD, config.epochs, config.learning_rate)
        run.predict_split = image_predictor(run)
