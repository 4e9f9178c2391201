"""Run settings as data.

A :class:`TrainConfig` fully describes one training run. Its ``to_dict()`` is saved as
``config.json`` in the run folder, and :func:`load_config` reads it back, so any run —
started from a page, the command line or Python — can be replayed from that file alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TLCoreError

MODES = ("feature-extraction", "fine-tune")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
POOLINGS = ("avg", "max", "flatten")


@dataclass
class Augmentation:
    """Random augmentations, active only while training (0 turns one off)."""

    flip: str = "horizontal"  # "none", "horizontal", "vertical", "horizontal_and_vertical"
    rotation: float = 0.05  # fraction of a full turn
    zoom: float = 0.1  # fraction of the image size
    translation: float = 0.1  # fraction of the image size
    contrast: float = 0.1
    brightness: float = 0.1

    @property
    def enabled(self) -> bool:
        return self.flip != "none" or any(
            v > 0 for v in (self.rotation, self.zoom, self.translation, self.contrast, self.brightness)
        )

    @classmethod
    def off(cls) -> "Augmentation":
        return cls(flip="none", rotation=0.0, zoom=0.0, translation=0.0, contrast=0.0, brightness=0.0)


@dataclass
class TrainConfig:
    """Every setting of one run. Defaults give a good run with nothing touched."""

    data: str = ""  # folder or .zip
    data_name: str | None = None  # the dataset's name as the user gave it (shown in shared files)
    backbone: str = "MobileNetV2"
    layer: str | None = None  # bottleneck layer; None = the backbone's recommended cut
    weights: str = "imagenet"  # "imagenet", "none", or a path to a weights file
    backbone_file: str | None = None  # a user's own .keras/.h5 model used as the backbone
    image_size: int | None = None  # None = the backbone's native size
    mode: str = "feature-extraction"
    pooling: str = "avg"
    dropout: float = 0.2
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    early_stopping: bool = True
    patience: int = 5
    class_weight: str = "auto"  # "auto" = balance when classes are imbalanced, "none"
    label_smoothing: float = 0.0
    seed: int = 42
    val_fraction: float = 0.2
    # Fine-tuning: after the head is trained, unfreeze the top layers and train again.
    # Only layers with weights are counted (BatchNormalization stays frozen and is not counted).
    fine_tune_layers: int = 30  # how many layers with weights (from the top of the cut base) to unfreeze
    fine_tune_from: str | None = None  # or: unfreeze from this named layer upwards
    fine_tune_learning_rate: float = 1e-4
    fine_tune_epochs: int = 10
    # Fine-tuning learns from augmented copies of the training images even when `augment`
    # is off: a head that already fits the plain images leaves fine-tuning nothing to learn.
    fine_tune_augment: bool = True
    fine_tune_views: int = 3  # augmented copies per image cached at the fine-tuning boundary
    augment: bool = False
    augmentation: Augmentation = field(default_factory=Augmentation)
    feature_cache: bool = True  # feature extraction fast path (bottleneck features cached on disk)
    # With augmentation on and the cache in use: cache this many augmented views of every
    # training image beside the original, so the head sees augmented data at cache speed.
    feature_views: int = 0
    mixed_precision: str = "auto"  # "auto" (on for GPUs that support it), "on", "off"

    @property
    def from_scratch(self) -> bool:
        """A random start: with no pretrained weights the whole network is trained.

        A frozen random backbone gives features no head can use (it predicts the majority
        class), so "no pretraining" means the honest baseline: every layer learns from the data.
        """
        return (self.weights or "none") == "none" and not self.backbone_file

    # How each stage runs follows from the settings alone; training and the Model page's
    # estimate both read these, so the two cannot describe different runs.
    @property
    def head_views(self) -> int:
        """Augmented copies of each training image the head trains on (0: none)."""
        return self.feature_views if (self.augment and self.augmentation.enabled) else 0

    @property
    def head_on_cached_features(self) -> bool:
        """The head trains on cached bottleneck features (else on images, every epoch)."""
        augmented = self.augment and self.augmentation.enabled
        return not self.from_scratch and self.feature_cache and (not augmented or self.feature_views > 0)

    @property
    def fine_tune_augmented(self) -> bool:
        """Fine-tuning learns from augmented images."""
        return (self.fine_tune_augment or self.augment) and self.augmentation.enabled

    @property
    def fine_tune_views_used(self) -> int:
        """Augmented copies of each training image cached for fine-tuning (0: none)."""
        return self.fine_tune_views if self.fine_tune_augmented else 0

    def validate(self) -> "TrainConfig":
        """Check every setting, raising TLCoreError that names the setting and the allowed values."""
        def bad(name: str, allowed: str) -> TLCoreError:
            return TLCoreError(
                f"Setting '{name}' is {getattr(self, name)!r}, which is not allowed.",
                f"use {allowed}.",
            )

        if self.mode not in MODES:
            raise bad("mode", " or ".join(MODES))
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", ", ".join(OPTIMIZERS))
        if self.pooling not in POOLINGS:
            raise bad("pooling", ", ".join(POOLINGS))
        if self.class_weight not in ("auto", "none"):
            raise bad("class_weight", "'auto' or 'none'")
        if self.mixed_precision not in ("auto", "on", "off"):
            raise bad("mixed_precision", "'auto', 'on' or 'off'")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "a whole number of at least 1")
        if not isinstance(self.fine_tune_epochs, int) or self.fine_tune_epochs < 0:
            raise bad("fine_tune_epochs", "a whole number of at least 0")
        if self.image_size is not None and not (32 <= int(self.image_size) <= 1024):
            raise bad("image_size", "a size in pixels between 32 and 1024")
        for name in ("learning_rate", "fine_tune_learning_rate"):
            if not (0 < float(getattr(self, name)) < 10):
                raise bad(name, "a positive number such as 1e-3")
        for name, hi in (("dropout", 0.95), ("label_smoothing", 0.5), ("val_fraction", 0.9)):
            if not (0 <= float(getattr(self, name)) <= hi):
                raise bad(name, f"a number from 0 to {hi}")
        for name in ("feature_views", "fine_tune_views"):
            if not isinstance(getattr(self, name), int) or not 0 <= getattr(self, name) <= 32:
                raise bad(name, "a whole number from 0 to 32")
        if self.fine_tune_layers < 0:
            raise bad("fine_tune_layers", "a whole number of at least 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TLCoreError(
                f"Unknown setting(s) in config: {', '.join(unknown)}.",
                f"remove them; known settings are: {', '.join(sorted(known))}.",
            )
        values = dict(values)
        aug = values.get("augmentation")
        if isinstance(aug, dict):
            aug_known = {f.name for f in dataclasses.fields(Augmentation)}
            bad_aug = sorted(set(aug) - aug_known)
            if bad_aug:
                raise TLCoreError(
                    f"Unknown augmentation setting(s): {', '.join(bad_aug)}.",
                    f"use only: {', '.join(sorted(aug_known))}.",
                )
            values["augmentation"] = Augmentation(**aug)
        return cls(**values)


def save_config(config: TrainConfig, path: str | Path) -> None:
    from .runfiles import write_json_atomic

    write_json_atomic(path, config.to_dict())


def load_config(path: str | Path) -> TrainConfig:
    """Read a config.json (as saved beside every run) into a TrainConfig."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TLCoreError(f"Config file {path} does not exist.", "give the path to a run's config.json.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TLCoreError(f"Config file {path} is not valid JSON ({err}).", "fix the file or save it again from a run.") from None
    if not isinstance(values, dict):
        raise TLCoreError(f"Config file {path} does not hold a settings object.", "it must be a JSON object like a run's config.json.")
    return TrainConfig.from_dict(values).validate()
