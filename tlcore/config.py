"""Run settings as data: the settings of a run, and the facts about each setting.

A :class:`TrainConfig` fully describes one training run. Its ``to_dict()`` is saved as
``config.json`` in the run folder, and :func:`load_config` reads it back, so any run —
started from a page, the command line or Python — can be replayed from that file alone.
Each field carries its help text, allowed values and range once, in its
``dataclasses.field(metadata=...)``; :data:`SETTINGS` (and :data:`AUGMENTATION_SETTINGS`)
gathers them as :class:`Setting` objects, which :meth:`TrainConfig.validate`, the command
line's flags and the pages' widgets all read.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TLCoreError
from .trust.operating import RULES
from .trust.unknown import DEFAULT_STRICTNESS, STRICTNESS

MODES = ("feature-extraction", "fine-tune")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
POOLINGS = ("avg", "max", "flatten")
FLIPS = ("none", "horizontal", "vertical", "horizontal_and_vertical")
CLASS_WEIGHTS = ("auto", "none")
MIXED_PRECISIONS = ("auto", "on", "off")

# Where a setting sits (the groups of `tlcore train --help`).
GROUP_DATA, GROUP_MODEL, GROUP_TRAINING, GROUP_FINE_TUNING = "data", "model", "training", "fine-tuning"


@dataclass(frozen=True)
class Setting:
    """The facts about one setting: what it means, and which values it takes.

    Attributes:
        name: The field name (``config.json`` key; the flag is ``--`` + name with dashes).
        default: The value a run gets when nothing is set (None: decided at run time).
        help: What the setting does, in a phrase.
        choices: The allowed values, when the setting is a choice.
        minimum, maximum: The allowed range of a number (None: unbounded on that side).
        kind: ``"str"``, ``"int"``, ``"float"``, ``"bool"`` or ``"list"``.
        exclusive: The range excludes its ends (a learning rate is above 0, below 10).
        allowed: How the allowed values are said in an error, where the range alone says it badly.
        default_text: What a default of None means (e.g. "the backbone's native size").
        group: Where the setting belongs: data, model, training or fine-tuning.
        flag: ``tlcore train`` offers it as a flag.
        metavar: The placeholder of the flag's value in ``--help``.
    """

    name: str
    default: Any
    help: str
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    kind: str = "str"
    exclusive: bool = False
    allowed: str = ""
    default_text: str = ""
    group: str = ""
    flag: bool = True
    metavar: str | None = None

    @property
    def optional(self) -> bool:
        """None is a valid value (it means "decide at run time")."""
        return self.default is None

    def allowed_text(self) -> str:
        """The allowed values in words, for an error message."""
        if self.allowed:
            return self.allowed
        if self.choices:
            quoted = [repr(c) for c in self.choices]
            return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        what = "a whole number" if self.kind == "int" else "a number"
        low, high = (f"{v:g}" if v is not None else None for v in (self.minimum, self.maximum))
        if low is not None and high is not None:
            return f"{what} from {low} to {high}"
        if low is not None:
            return f"{what} of at least {low}"
        if high is not None:
            return f"{what} of at most {high}"
        return what

    def accepts(self, value: Any) -> bool:
        """``value`` is allowed for this setting (only choices and ranges are checked)."""
        if value is None and self.optional:
            return True
        if self.choices:
            return value in self.choices
        if self.minimum is None and self.maximum is None:
            return True
        if self.kind == "int":
            if not isinstance(value, int):
                return False
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                return False
        if self.exclusive:
            return (self.minimum is None or value > self.minimum) and (self.maximum is None or value < self.maximum)
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


def _setting(default: Any, help: str, *, kind: str | None = None, **facts: Any) -> Any:
    """A dataclass field whose metadata holds the facts of its :class:`Setting`.

    A list default is given as its type (``list``): each config gets a fresh one.
    """
    if default is list:
        return field(default_factory=list, metadata={"setting": {"help": help, "kind": "list", **facts}})
    if kind is None:
        kind = type(default).__name__ if default is not None else "str"
    return field(default=default, metadata={"setting": {"help": help, "kind": kind, **facts}})


def _settings_of(cls: type) -> dict[str, Setting]:
    return {f.name: Setting(name=f.name, default=f.default_factory() if f.default is dataclasses.MISSING
                            else f.default, **f.metadata["setting"])
            for f in dataclasses.fields(cls) if "setting" in f.metadata}


@dataclass
class Augmentation:
    """Random augmentations, active only while training (0 turns one off)."""

    flip: str = _setting("horizontal", "which random flips to apply", choices=FLIPS)
    rotation: float = _setting(0.05, "random rotation, as a fraction of a full turn")
    zoom: float = _setting(0.1, "random zoom in or out, as a fraction of the image size")
    translation: float = _setting(0.1, "random shift, as a fraction of the image size")
    contrast: float = _setting(0.1, "random contrast change")
    brightness: float = _setting(0.1, "random brightness change")

    @property
    def enabled(self) -> bool:
        return self.flip != "none" or any(
            v > 0 for v in (self.rotation, self.zoom, self.translation, self.contrast, self.brightness)
        )

    @classmethod
    def off(cls) -> "Augmentation":
        return cls(flip="none", rotation=0.0, zoom=0.0, translation=0.0, contrast=0.0, brightness=0.0)


_M, _T, _F = GROUP_MODEL, GROUP_TRAINING, GROUP_FINE_TUNING


@dataclass
class TrainConfig:
    """Every setting of one run. Defaults give a good run with nothing touched."""

    data: str = _setting("", "dataset folder or .zip", group=GROUP_DATA, flag=False)  # the positional DATA
    data_name: str | None = _setting(None, "the dataset's name as the user gave it (shown in shared files)",
                                     group=GROUP_DATA, flag=False)
    text_column: str | None = _setting(None, "text data: the column holding the texts", group=GROUP_DATA,
                                       metavar="NAME", default_text="found from the file")
    label_column: str | None = _setting(None, "text data: the column holding the labels", group=GROUP_DATA,
                                        metavar="NAME", default_text="found from the file")
    backbone: str = _setting("MobileNetV2", "pretrained backbone (for text data: a text encoder, e.g. MiniLM-L6)",
                             group=_M, metavar="NAME")
    layer: str | None = _setting(None, "bottleneck layer to cut the backbone at", group=_M, metavar="NAME",
                                 default_text="its recommended layer")
    weights: str = _setting("imagenet", "backbone weights: 'imagenet' (downloaded once and cached), 'none' (a random "
                            "start: the whole network is trained from scratch, the no-transfer baseline), or a "
                            "weights file", group=_M, metavar="imagenet|none|FILE")
    backbone_file: str | None = _setting(None, "use your own .keras/.h5 model as the backbone instead of --backbone",
                                         group=_M, metavar="FILE")
    image_size: int | None = _setting(None, "image size in pixels the images are resized to", kind="int",
                                      minimum=32, maximum=1024, allowed="a size in pixels between 32 and 1024",
                                      default_text="the backbone's native size", group=_M, metavar="N")
    sequence_length: int | None = _setting(None, "text data: tokens each text is cut or padded to", kind="int",
                                           minimum=8, maximum=512, allowed="a number of tokens between 8 and 512",
                                           default_text="the encoder's default", group=_M, metavar="N")
    mode: str = _setting("feature-extraction", "feature-extraction trains only a new head on the frozen backbone; "
                         "fine-tune then also unfreezes the top layers", choices=MODES, group=_M)
    pooling: str = _setting("avg", "how the feature map becomes a vector", choices=POOLINGS, group=_M)
    dropout: float = _setting(0.2, "dropout before the output layer", minimum=0, maximum=0.95, group=_M,
                              metavar="F")
    epochs: int = _setting(20, "epochs to train the head", minimum=1, group=_T, metavar="N")
    batch_size: int = _setting(32, "images per batch", minimum=1, group=_T, metavar="N")
    learning_rate: float = _setting(1e-3, "learning rate of the head", minimum=0, maximum=10, exclusive=True,
                                    allowed="a positive number such as 1e-3", group=_T, metavar="F")
    optimizer: str = _setting("adam", "optimizer", choices=OPTIMIZERS, group=_T)
    early_stopping: bool = _setting(True, "stop when val_loss stops improving and restore the best weights",
                                    group=_T)
    patience: int = _setting(5, "early stopping: epochs without a better val_loss before stopping", group=_T,
                             metavar="N")
    class_weight: str = _setting("auto", "'auto' weights classes by their rarity when they are imbalanced",
                                 choices=CLASS_WEIGHTS, group=_T)
    label_smoothing: float = _setting(0.0, "label smoothing, 0 to 0.5", minimum=0, maximum=0.5, group=_T,
                                      metavar="F")
    seed: int = _setting(42, "random seed for the split, weights and shuffling", group=_T, metavar="N")
    val_fraction: float = _setting(0.2, "share of each class held out for validation when there is no val/ folder",
                                   minimum=0, maximum=0.9, group=_T, metavar="F")
    group_by: str = _setting("auto", "keep each subject's images (patient, specimen, session) in one split: found "
                             "from the file names, a regular expression, or a CSV file with columns path,group",
                             group=GROUP_DATA, metavar="auto|none|REGEX|FILE.csv")
    # The user's changes on top of the dataset's files: [{"path", "action", "label"}], see tlcore/data/edits.py.
    edits: list = _setting(list, "your changes to the dataset (relabel, exclude or keep an image), applied "
                           "without touching its files", group=GROUP_DATA, flag=False)
    # The head learns from a table `tlcore featurize` wrote (either engine) instead of computing
    # features; its sidecar gives the extractor and the split (see tlcore/train/from_features.py).
    features: str | None = _setting(None, "train the head on a features table written by 'tlcore featurize' (a "
                                    "Parquet file or Spark folder) instead of computing features; the backbone, "
                                    "layer, size, dataset and split come from the table's .json sidecar",
                                    group=GROUP_DATA, metavar="TABLE", default_text="compute them from the images")
    # Fine-tuning: after the head is trained, unfreeze the top layers and train again.
    # Only layers with weights are counted (BatchNormalization stays frozen and is not counted).
    fine_tune_layers: int = _setting(30, "how many layers with weights at the top of the cut backbone to unfreeze; "
                                     "BatchNorm stays frozen and is not counted", minimum=0, group=_F, metavar="N")
    fine_tune_from: str | None = _setting(None, "or: unfreeze from this layer upwards", group=_F, metavar="NAME")
    fine_tune_learning_rate: float = _setting(1e-4, "learning rate while fine-tuning; keep it low", minimum=0,
                                              maximum=10, exclusive=True, allowed="a positive number such as 1e-3",
                                              group=_F, metavar="F")
    fine_tune_epochs: int = _setting(10, "epochs of fine-tuning", minimum=0, group=_F, metavar="N")
    # Fine-tuning learns from augmented copies of the training images even when `augment`
    # is off: a head that already fits the plain images leaves fine-tuning nothing to learn.
    fine_tune_augment: bool = _setting(True, "fine-tune on augmented copies of the training images even without "
                                       "--augment", group=_F)
    fine_tune_views: int = _setting(3, "augmented copies of each training image cached for fine-tuning; each epoch "
                                    "trains on the next one", minimum=0, maximum=32, group=_F, metavar="N")
    augment: bool = _setting(False, "random flips, rotation, zoom, shifts, contrast and brightness while training",
                             group=_T)
    augmentation: Augmentation = field(default_factory=Augmentation)  # its settings: AUGMENTATION_SETTINGS
    feature_cache: bool = _setting(True, "feature extraction without augmentation computes bottleneck features once "
                                   "and caches them on disk", group=_T)
    # With augmentation on and the cache in use: cache this many augmented views of every
    # training image beside the original, so the head sees augmented data at cache speed.
    feature_views: int = _setting(0, "augmented copies of each training image cached for the head", minimum=0,
                                  maximum=32, group=_T, flag=False)
    # How answers are given, chosen once the model is trained (the Evaluate page and `tlcore threshold` change them).
    threshold_rule: str = _setting("default", "two classes: how the cut-off between them is chosen on the validation "
                                   "pictures: 'default' (0.5), 'balanced', or a target 'sensitivity' or "
                                   "'specificity' (--threshold-target)", choices=tuple(RULES), group=_T)
    threshold_value: float | None = _setting(None, "the threshold itself, with --threshold-rule manual", kind="float",
                                             minimum=0.0, maximum=1.0, exclusive=True,
                                             allowed="a number between 0 and 1", group=_T, metavar="F",
                                             default_text="none")
    threshold_target: float = _setting(0.95, "the sensitivity or specificity the threshold must reach", minimum=0.5,
                                       maximum=0.999, group=_T, metavar="F")
    unknown_strictness: str = _setting(DEFAULT_STRICTNESS, "how readily the model answers \"I don't know\" for "
                                       "pictures unlike its training pictures or between classes",
                                       choices=tuple(STRICTNESS), group=_T)
    mixed_precision: str = _setting("auto", "16-bit mixed precision ('auto': on for GPUs that support it)",
                                    choices=MIXED_PRECISIONS, group=_T)

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
        """Check every setting against its :class:`Setting`, raising TLCoreError that names the
        setting and the allowed values."""
        for setting in SETTINGS.values():
            value = getattr(self, setting.name)
            if not setting.accepts(value):
                raise TLCoreError(f"Setting '{setting.name}' is {value!r}, which is not allowed.",
                                  f"use {setting.allowed_text()}.")
        if not isinstance(self.group_by, str) or not self.group_by.strip():
            raise TLCoreError(f"Setting 'group_by' is {self.group_by!r}, which is not allowed.",
                              "use 'auto', 'none', a regular expression or the path of a .csv file.")
        self.edits = _checked_edits(self.edits)
        return self

    def describe(self, *, num_classes: int | None = None) -> str:
        """The plan of this run in one plain sentence (see :func:`tlcore.plan.describe`)."""
        from .plan import describe  # plan reads configs: importing it at the top would be a cycle

        return describe(self, num_classes=num_classes)

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
        # A config saved before subject splits existed split at random: replayed, it still does.
        values.setdefault("group_by", "none")
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
        if "edits" in values:
            values["edits"] = _checked_edits(values["edits"])
        return cls(**values)


def _checked_edits(values: Any) -> list[dict[str, Any]]:
    """The edits as ``{"path", "action", "label"}`` dicts, checked by the module that owns their format."""
    from .data.edits import check_edits

    return [edit.to_dict() for edit in check_edits(values)]


SETTINGS: dict[str, Setting] = _settings_of(TrainConfig)
AUGMENTATION_SETTINGS: dict[str, Setting] = _settings_of(Augmentation)


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
