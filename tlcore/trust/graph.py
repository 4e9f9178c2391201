"""The trusted model: the classifier plus its threshold and its "I don't know", in one Keras graph.

:func:`trusted_model` wraps a classifier (``image -> resize -> preprocess -> base -> pool ->
head``) so that every format exported from it, and the app itself, decides the same way::

    "probabilities" (B, C)  the classifier's own (calibrated) output
    "similarity"    (B, 1)  cosine similarity of the pooled features to the nearest prototype
                            (absent with strictness "off": the model then holds no training features)
    "unknown"       (B, 1)  1.0 when similarity < similarity_limit or max probability < confidence_limit
    "positive"      (B, 1)  two classes only: 1.0 when p(positive class) >= threshold

Only built-in layers are used, so the file loads with ``keras.saving.load_model(safe_mode=True)``
and converts to TFLite. A comparison becomes a step: ``Dense`` (slope 1e6) then
``ReLU(max_value=1)``, so the outputs are exactly 0 or 1 except within ~1e-6 of a limit.
The limits live in the step layers' weights; :func:`graph_limits` reads them back.

This module imports Keras; the rest of :mod:`tlcore.trust` does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .operating import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from .settings import Trust

# What each output means, written once for model_info.json and the model card.
OUTPUT_MEANINGS = {
    "probabilities": "(batch, classes) calibrated softmax probabilities, in the order of labels.json",
    "similarity": "(batch, 1) cosine similarity of the image's features to the nearest training picture "
                  "(1 = like a training picture)",
    "unknown": "(batch, 1) 1.0 means \"I don't know\": the image is unlike every training picture "
               "(similarity below the limit) or the model is unsure (top probability below the limit; two "
               "classes: the positive probability too close to the threshold); else 0.0",
    "positive": "(batch, 1) two classes only: 1.0 when the probability of the positive class is at least "
                "the threshold, else 0.0",
}
OUTPUTS = tuple(OUTPUT_MEANINGS)  # "positive": two classes only
SLOPE = 1e6  # steepness of a step: 0/1 except within 1/SLOPE of its limit
NEAR_LIMIT = 1e-4  # a value this close to a limit may fall either side in another runtime

# Names of the step layers, so the limits can be read back from any loaded copy of the graph.
_SIMILARITY_STEP = "unknown_similarity_step"
_CONFIDENCE_STEP = "unknown_confidence_step"
_ABOVE_BAND_START = "unknown_band_above_step"  # two classes: p(positive) above the band's start
_BELOW_BAND_END = "unknown_band_below_step"  # and below its end
_POSITIVE_STEP = "positive_step"


def _base_of(model):
    """The nested backbone: the one sub-model that is neither the head nor the augmentation."""
    for layer in model.layers:
        if getattr(layer, "layers", None) and layer.name not in ("head", "augmentation"):
            return layer
    return None


def _preprocess_of(model):
    for layer in model.layers:
        if layer.name.startswith("preprocess_"):
            return layer
    return None


def _classifier_layers(model) -> tuple:
    """resize, preprocess, base, pool and head of a classifier made by :func:`tlcore.model.build_classifier`."""
    from ..errors import TLCoreError

    names = {layer.name: layer for layer in model.layers}
    found = (names.get("resize"), _preprocess_of(model), _base_of(model), names.get("pool"), names.get("head"))
    if any(part is None for part in found):
        raise TLCoreError(
            "This model is not a Transfer Studio classifier (it lacks the resize, preprocess, backbone, "
            "pool or head layer), so its threshold and 'I don't know' cannot be added.",
            "use the model.keras of a run trained with tlcore.",
        )
    return found


def _inputs_and_features(model) -> tuple:
    """New inputs for ``model``'s own layers, its features on them, and its head.

    A picture classifier takes a ``uint8`` image; a text classifier (its encoder is the layer
    ``text_encoder``) takes the tokenizer's arrays, by name.
    """
    import keras

    from ..text.model import is_text_classifier

    if is_text_classifier(model):
        from ..text.model import features_of, token_inputs

        names = [tensor.name for tensor in model.inputs]
        inputs = token_inputs(names, int(model.inputs[0].shape[1]))
        return inputs, features_of(model, inputs), model.get_layer("head")
    resize, prep, base, pool, head = _classifier_layers(model)
    image = keras.Input((None, None, 3), dtype="uint8", name="image")
    return image, pool(base(prep(resize(image)), training=False)), head


def _step(inputs, kernel: np.ndarray, bias: float, name: str):
    """``clip(inputs @ kernel + bias, 0, 1)`` with frozen weights: a comparison as a steep ramp."""
    import keras

    dense = keras.layers.Dense(1, trainable=False, dtype="float32", name=name)
    dense.build((None, kernel.shape[0]))
    dense.set_weights([kernel.astype("float32").reshape(-1, 1), np.array([bias], dtype="float32")])
    return keras.layers.ReLU(max_value=1.0, dtype="float32", name=f"{name}_clip")(dense(inputs))


def _row_max(values, width: int, name: str):
    """(B, width) -> (B, 1): the largest value of each row."""
    import keras

    column = keras.layers.Reshape((width, 1), name=f"{name}_column")(values)
    return keras.layers.GlobalMaxPooling1D(name=name)(column)


def _similarity(features, prototypes: np.ndarray):
    """(B, D) features -> (B, 1) cosine similarity to the nearest of the (P, D) unit prototypes."""
    import keras

    prototypes = np.asarray(prototypes, dtype="float32")
    unit = keras.layers.UnitNormalization(axis=-1, dtype="float32", name="unit_features")(features)
    dots = keras.layers.Dense(len(prototypes), use_bias=False, trainable=False, dtype="float32",
                              name="prototype_similarity")
    dots.build((None, prototypes.shape[1]))
    dots.set_weights([prototypes.T.copy()])
    return _row_max(dots(unit), len(prototypes), "similarity")


def _check_prototypes(prototypes, feature_dim: int | None) -> np.ndarray:
    from ..errors import TLCoreError

    prototypes = np.asarray(prototypes, dtype="float32") if prototypes is not None else None
    if prototypes is None or prototypes.ndim != 2 or len(prototypes) == 0 or (
            feature_dim is not None and prototypes.shape[1] != feature_dim):
        shape = None if prototypes is None else prototypes.shape
        raise TLCoreError(
            f"The run's prototypes have shape {shape}; expected (number of prototypes, {feature_dim}).",
            "train the run again (it writes prototypes.npy with the model).",
        )
    # unit length, as fit_unknown writes them; normalising again costs nothing and guards old files
    return prototypes / np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-12)


def trusted_model(model, trust: Trust, prototypes) -> Any:
    """The classifier with its decisions built in: dict outputs ``probabilities``, ``similarity``,
    ``unknown`` and, for two classes, ``positive``.

    The classifier's own layers are called again on a new ``uint8`` image input, so the
    weights are shared and the probabilities are exactly the classifier's.

    Args:
        model: A classifier from :func:`tlcore.model.build_classifier` (or its ``model.keras``).
        trust: The run's :class:`tlcore.trust.settings.Trust` (threshold, limits, strictness).
        prototypes: ``(P, D)`` float array of unit feature vectors (``prototypes.npy``).

    Returns:
        A ``keras.Model`` named ``"trusted_classifier"``.
    """
    import keras

    image, features, head = _inputs_and_features(model)
    probabilities = head(features)
    num_classes = int(probabilities.shape[-1])
    off = trust.strictness == "off"
    # With "I don't know" off the model keeps no training features at all (nothing to leak).
    similarity = None if off else _similarity(features, _check_prototypes(prototypes, features.shape[-1]))

    sim_limit = None if off else trust.similarity_limit
    conf_limit = None if off else trust.confidence_limit
    flags = []
    if sim_limit is not None:  # unknown when similarity < limit: 1 at limit - 1/SLOPE, 0 at the limit
        flags.append(_step(similarity, np.array([-SLOPE]), SLOPE * float(sim_limit), _SIMILARITY_STEP))
    band = None if off else trust.unsure_band()
    if band is not None and num_classes == 2:  # unsure inside the band around the threshold
        selector = np.zeros(2)
        selector[trust.positive_index] = 1.0
        above = _step(probabilities, SLOPE * selector, -SLOPE * float(band[0]), _ABOVE_BAND_START)
        below = _step(probabilities, -SLOPE * selector, SLOPE * float(band[1]), _BELOW_BAND_END)
        both = keras.layers.Add(name="unknown_band_sum")([above, below])
        flags.append(_step(both, np.array([1.0]), -1.0, "unknown_band"))
    elif conf_limit is not None:
        top = _row_max(probabilities, num_classes, "top_probability")
        flags.append(_step(top, np.array([-SLOPE]), SLOPE * float(conf_limit), _CONFIDENCE_STEP))
    if not flags:  # strictness "off": never unknown
        unknown = _step(probabilities, np.zeros(num_classes), 0.0, "unknown_never")
    elif len(flags) == 1:
        unknown = flags[0]
    else:
        unknown = keras.layers.Maximum(name="unknown_either")(flags)
    unknown = keras.layers.Identity(name="unknown")(unknown)
    outputs = {"probabilities": probabilities, "unknown": unknown}
    if similarity is not None:
        outputs["similarity"] = similarity

    if num_classes == 2:  # positive when p(positive) >= threshold: 1 at the threshold, 0 below by 1/SLOPE
        threshold = DEFAULT_THRESHOLD if trust.threshold is None else float(trust.threshold)
        selector = np.zeros(2)
        selector[trust.positive_index] = SLOPE
        outputs["positive"] = keras.layers.Identity(name="positive")(
            _step(probabilities, selector, 1.0 - SLOPE * threshold, _POSITIVE_STEP))
    return keras.Model(image, outputs, name="trusted_classifier")


def is_trusted(model) -> bool:
    """True for a model made by :func:`trusted_model` (dict outputs with ``probabilities``)."""
    return "probabilities" in (output_names(model) or [])


def output_names(model) -> list[str] | None:
    """The names of a dict-output model's outputs (None: a plain single-output classifier)."""
    try:
        output = model.output
    except (AttributeError, ValueError):
        return None
    return [str(name) for name in output] if isinstance(output, dict) else None


def graph_limits(model) -> dict:
    """The limits built into a trusted model, read back from its step layers.

    Returns ``{"similarity_limit", "confidence_limit", "threshold", "positive_index"}``,
    each None when the model has no such step.
    """
    layers = {layer.name: layer for layer in getattr(model, "layers", [])}

    def limit(name: str) -> float | None:  # the step is relu(-SLOPE * x + SLOPE * limit)
        layer = layers.get(name)
        if layer is None:
            return None
        kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
        return float(-bias[0] / kernel[0, 0])

    def band_edge(name: str) -> float | None:  # relu(±SLOPE * p_pos ∓ SLOPE * edge)
        layer = layers.get(name)
        if layer is None:
            return None
        kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
        return float(-bias[0] / kernel[int(np.argmax(np.abs(kernel[:, 0]))), 0])

    start, end = band_edge(_ABOVE_BAND_START), band_edge(_BELOW_BAND_END)
    limits = {"similarity_limit": limit(_SIMILARITY_STEP), "confidence_limit": limit(_CONFIDENCE_STEP),
              "unsure_band": None if start is None else (start, end), "threshold": None, "positive_index": None}
    if _POSITIVE_STEP in layers:  # relu(SLOPE * p_pos + 1 - SLOPE * threshold)
        kernel, bias = (np.asarray(w, dtype=np.float64) for w in layers[_POSITIVE_STEP].get_weights())
        index = int(np.argmax(kernel[:, 0]))
        limits.update(positive_index=index, threshold=float((1.0 - bias[0]) / kernel[index, 0]))
    return limits


def near_limits(outputs: dict, limits: dict, name: str, margin: float = NEAR_LIMIT) -> np.ndarray:
    """Rows whose 0/1 output ``name`` may differ between runtimes: its input lies within ``margin`` of a limit."""
    probs = np.asarray(outputs["probabilities"], dtype=np.float64)
    near = np.zeros(len(probs), dtype=bool)
    if name == "positive" and limits.get("threshold") is not None:
        near |= np.abs(probs[:, limits["positive_index"]] - limits["threshold"]) < margin
    if name == "unknown":
        if limits.get("similarity_limit") is not None:
            similarity = np.asarray(outputs["similarity"], dtype=np.float64).reshape(-1)
            near |= np.abs(similarity - limits["similarity_limit"]) < margin
        if limits.get("confidence_limit") is not None:
            near |= np.abs(probs.max(axis=1) - limits["confidence_limit"]) < margin
        if limits.get("unsure_band") is not None:
            index = 1 if limits.get("positive_index") is None else limits["positive_index"]
            near |= np.min(np.abs(probs[:, [index]] - np.array(limits["unsure_band"])[None, :]), axis=1) < margin
    return near


__all__ = ["OUTPUTS", "OUTPUT_MEANINGS", "SLOPE", "graph_limits", "is_trusted", "near_limits", "output_names",
           "trusted_model"]
