"""What the ONNX and web page tests share: a trusted two-class model whose decisions are clear-cut.

Twelve pictures get a fitted two-class head whose probabilities spread over (0, 1); four of
them are the prototypes; the threshold (below 0.5, so it changes answers), the similarity
limit and the confidence limit sit in wide gaps between the pictures' own numbers, so a
runtime that decides differently from Keras shows up and float noise cannot move a decision.
"""

from __future__ import annotations

import numpy as np

from test_trust_graph import _fit_two_class_head as fit_two_class_head
from export_helpers import CONFIG, SIZE, make_images
from tlcore.images import load_image
from tlcore.trust.settings import Trust

TWO_CLASSES = ["healthy", "sick"]  # positive: "sick"
_LOGIT_GAPS = np.array([0.2, -0.3, -0.8, 2.5, -3, -2.2, -1.6, 1.4, 1.9, 2.6, 3.0, -2.6])


def _fit_two_class_head(parts, arrays: np.ndarray) -> None:
    """The graph test's least-squares head, with this module's logit gaps."""
    fit_two_class_head(parts, arrays, _LOGIT_GAPS)


def _cut_in_widest_gap(values: np.ndarray, low: float, high: float) -> float:
    inside = np.sort(values[(values > low) & (values < high)])
    i = int(np.argmax(np.diff(inside)))
    return float((inside[i] + inside[i + 1]) / 2)


def trusted_two_class(folder) -> dict:
    """A two-class classifier with its trust settings and prototypes (not yet wrapped).

    Returns ``{"model", "trust", "prototypes", "images", "arrays"}``: export it with
    ``export_model(model, ..., trust=trust, prototypes=prototypes)``.
    """
    import keras

    from tlcore.model import build_classifier

    images = make_images(folder, len(_LOGIT_GAPS))
    keras.utils.set_random_seed(0)
    parts = build_classifier(CONFIG, num_classes=2)
    arrays = np.stack([load_image(p, SIZE) for p in images])
    _fit_two_class_head(parts, arrays)
    probs = np.asarray(parts.model(arrays, training=False), dtype=np.float64)
    features = np.asarray(parts.extractor(arrays, training=False), dtype=np.float64)
    units = features / np.linalg.norm(features, axis=1, keepdims=True)
    prototypes = units[:4]
    similarity = (units @ prototypes.T).max(axis=1)
    trust = Trust(classes=TWO_CLASSES, temperature=1.0, positive_class="sick",
                  threshold=_cut_in_widest_gap(probs[:, 1], 0.15, 0.45), rule="sensitivity", target=0.9,
                  strictness="normal", similarity_limit=_cut_in_widest_gap(similarity, 0.0, 0.999),
                  confidence_limit=_cut_in_widest_gap(probs.max(axis=1), 0.5, 0.75), num_prototypes=4)
    return {"model": parts.model, "trust": trust, "prototypes": prototypes.astype("float32"), "images": images,
            "arrays": arrays}
