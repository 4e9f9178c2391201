"""What a built classifier says about itself: its training size, its cut layer, its outputs.

:func:`tlcore.model.build_classifier` names the layers it adds (``resize``, ``head``,
``augmentation``); these readers find them again in a model built here or loaded back from
a ``.keras`` file. Export and prediction both ask them, so neither has to import the other.
"""

from __future__ import annotations


def model_image_size(model) -> int | None:
    """The training image size, read from the classifier's ``resize`` layer (None if absent)."""
    try:
        layer = model.get_layer("resize")
    except (ValueError, AttributeError):
        return None
    height = getattr(layer, "height", None)
    return int(height) if height else None


def model_bottleneck_layer(model) -> str | None:
    """The name of the layer the backbone was cut at (the last layer of the nested base)."""
    for layer in getattr(model, "layers", []):
        inner = getattr(layer, "layers", None)
        if inner and layer.name not in ("head", "augmentation"):
            return inner[-1].name
    return None


def model_num_outputs(model) -> int | None:
    """The number of classes the model scores (None when its output shape is unknown).

    A trusted model (:mod:`tlcore.trust.graph`) has dict outputs; its classes are scored by
    the ``"probabilities"`` one.
    """
    try:
        output = model.output
        if isinstance(output, dict):
            output = output["probabilities"]
        return int(output.shape[-1])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def model_outputs(model) -> dict[str, list] | None:
    """Each output's name and shape, e.g. ``{"probabilities": [None, 3], "unknown": [None, 1]}``,
    for a dict-output model (None: one unnamed output)."""
    try:
        output = model.output
    except (AttributeError, ValueError):
        return None
    if not isinstance(output, dict):
        return None
    return {str(name): [None if d is None else int(d) for d in tensor.shape] for name, tensor in output.items()}


__all__ = ["model_bottleneck_layer", "model_image_size", "model_num_outputs", "model_outputs"]
