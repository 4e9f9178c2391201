"""The Grad-CAM recipe (Selvaraju et al. 2017, as in keras-io's ``grad_cam`` example) on a tlcore classifier.

The explained feature map is the output of the run's cut backbone: the last convolutional map
before pooling, where each cell still knows where in the picture it looks. A nested model's
``.output`` is not connected to the outer classifier's graph, so the classifier's own layers are
called again in order (resize, preprocess, base, pool, head), which also keeps every weight the
run trained (fine-tuned layers and the calibrated head included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TLCoreError
from .gradients import scores_and_gradients

_LAYOUT = "image -> resize -> preprocess -> backbone -> pool -> head"


@dataclass(frozen=True)
class ClassifierGraph:
    """The pieces of a tlcore classifier, in the order the saved model calls them."""

    resize: Any
    preprocess: Any
    base: Any
    pool: Any
    head_body: tuple  # the head's layers before its last Dense (dropout: identity at inference)
    predictions: Any  # the head's last Dense: its kernel and bias give the pre-softmax logits
    head: Any

    @property
    def image_size(self) -> int:
        return int(self.resize.height)

    def feature_maps(self, images: np.ndarray):
        """The base's output for a batch of uint8 images already at :attr:`image_size`."""
        import keras

        x = keras.ops.convert_to_tensor(np.asarray(images, dtype=np.float32))
        # training=False: BatchNormalization in inference mode, as in prediction
        return self.base(self.preprocess(self.resize(x)), training=False)

    def logits(self, feature_maps):
        """Pre-softmax class scores (B, C) from feature maps: the Grad-CAM class score."""
        import keras

        x = self.pool(feature_maps)
        for layer in self.head_body:
            x = layer(x, training=False)
        return keras.ops.matmul(x, self.predictions.kernel) + self.predictions.bias

    def probabilities(self, feature_maps) -> np.ndarray:
        """The model's own output (B, C) from feature maps."""
        import keras

        return keras.ops.convert_to_numpy(self.head(self.pool(feature_maps), training=False)).astype(np.float32)


def classifier_graph(model) -> ClassifierGraph:
    """Split a tlcore classifier into the layers Grad-CAM calls again.

    Raises:
        TLCoreError: ``model`` is not laid out as a tlcore classifier, or its backbone's output
            is not a spatial (height x width x channels) feature map.
    """
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    names = [layer.name for layer in layers]
    if (len(layers) != 5 or names[0] != "resize" or not names[1].startswith("preprocess_")
            or names[3:] != ["pool", "head"]):
        raise TLCoreError(
            f"The model {getattr(model, 'name', '')!r} is not laid out as a tlcore classifier ({_LAYOUT}), "
            "so Grad-CAM cannot find its feature map.",
            "give a run folder or the model.keras that tlcore trained.",
        )
    resize, preprocess, base, pool, head = layers
    shape = tuple(base.output.shape)
    if len(shape) != 4:
        raise TLCoreError(
            f"Grad-CAM needs a spatial feature map (height x width x channels), but this run's backbone "
            f"{base.name!r} ends in an output of shape {shape[1:]} with no height and width.",
            "train a run whose backbone is cut at a convolutional layer (see `tlcore layers BACKBONE`), "
            "or end your own backbone file at a convolutional layer, before any pooling or flattening.",
        )
    head_layers = [layer for layer in head.layers if not isinstance(layer, keras.layers.InputLayer)]
    predictions = head_layers[-1] if head_layers else None
    if not isinstance(predictions, keras.layers.Dense):
        raise TLCoreError(
            "The classifier's head does not end in a Dense layer, so its class scores cannot be read.",
            "give a run folder or the model.keras that tlcore trained.",
        )
    return ClassifierGraph(resize, preprocess, base, pool, tuple(head_layers[:-1]), predictions, head)


def class_activation_maps(graph: ClassifierGraph, feature_maps, class_indices: np.ndarray) -> np.ndarray:
    """Grad-CAM maps (B, h, w) at the feature map's grid, ReLU applied, not yet normalised.

    Each channel of the feature map is weighted by the mean gradient of the class's logit with
    respect to it; the weighted sum, kept where positive, is where the evidence for the class lies.
    """
    import keras

    ops = keras.ops
    num_classes = int(graph.predictions.units)
    chosen = ops.convert_to_tensor(np.eye(num_classes, dtype=np.float32)[np.asarray(class_indices)])

    def score(maps):
        return ops.sum(graph.logits(maps) * chosen, axis=-1)

    _, grads = scores_and_gradients(score, feature_maps)
    weights = ops.mean(grads, axis=(1, 2))  # (B, channels)
    cams = ops.relu(ops.einsum("bhwk,bk->bhw", feature_maps, weights))
    return ops.convert_to_numpy(cams).astype(np.float32)


def normalise(cams: np.ndarray) -> np.ndarray:
    """Each (h, w) map of ``cams`` (..., h, w) scaled to [0, 1] by its own maximum; a map with
    nothing positive stays all zeros (never NaN)."""
    cams = np.nan_to_num(np.maximum(np.asarray(cams, dtype=np.float32), 0.0))
    top = cams.max(axis=(-2, -1), keepdims=True) if cams.size else np.zeros(cams.shape[:-2] + (1, 1), np.float32)
    return np.divide(cams, top, out=np.zeros_like(cams), where=top > 0)
