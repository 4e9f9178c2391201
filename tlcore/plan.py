"""The run plan in one sentence: what a TrainConfig will do, as the Model and Train pages say it.

:func:`describe` is the one wording of a run's plan (``TrainConfig.describe()`` delegates
here), so the pages and the command line cannot describe the same settings differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .progress import fine_tune_words

if TYPE_CHECKING:  # annotations only: plan reads a config and never imports the module at run time
    from .config import TrainConfig


def describe(config: "TrainConfig", *, num_classes: int | None = None) -> str:
    """The plan of a run in one plain sentence.

    Args:
        config: The run's settings.
        num_classes: How many classes the dataset has, when known (else "your classes").

    Returns:
        For example "Train a new classifier for 3 classes of “shapes” on top of MobileNetV2,
        cut at the recommended layer, with ImageNet weights, 224 px images, for up to 20 epochs."
    """
    backbone = Path(config.backbone_file).name if config.backbone_file else config.backbone
    classes = f"{num_classes} classes" if num_classes else "your classes"
    data = f" of “{config.data_name}”" if config.data_name else ""
    if _is_text_encoder(config):
        return _describe_text(config, backbone, classes, data)
    layer = config.layer or "the recommended layer"
    size = f"{int(config.image_size)} px images" if config.image_size else "images at the network's own size"
    if config.from_scratch:
        text = (f"Train {backbone} from a random start for {classes}{data}: the whole network learns from scratch "
                f"(no transfer), cut at {layer}, with {size}, for up to {config.epochs} epochs")
    else:
        weights = "ImageNet weights" if config.weights == "imagenet" else "your own weights"
        text = (f"Train a new classifier for {classes}{data} on top of {backbone}, cut at {layer}, "
                f"with {weights}, {size}, for up to {config.epochs} epochs")
    if config.mode == "fine-tune" and not config.from_scratch:
        text += f", then fine-tune {fine_tune_words(config.fine_tune_layers)} for up to {config.fine_tune_epochs} epochs"
    if config.features and not config.from_scratch:
        text += f", on the features already computed in {Path(config.features).name}"
    return text + (", with augmentation." if config.augment else ".")


def _is_text_encoder(config: "TrainConfig") -> bool:
    from .backbones import TEXT_ENCODERS

    return not config.backbone_file and config.backbone in TEXT_ENCODERS


def _describe_text(config: "TrainConfig", encoder: str, classes: str, data: str) -> str:
    from .backbones import TEXT_ENCODERS

    length = config.sequence_length or TEXT_ENCODERS[encoder].native_size
    text = (f"Train a new classifier for {classes}{data} on the sentence features of the pretrained {encoder} text "
            f"encoder, each text cut or padded to {length} tokens, for up to {config.epochs} epochs")
    if config.mode == "fine-tune":
        text += (f", then fine-tune the encoder's top transformer blocks (up to {config.fine_tune_layers} layers "
                 f"with weights) for up to {config.fine_tune_epochs} epochs")
    return text + "."


__all__ = ["describe"]
