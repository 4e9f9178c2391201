"""The one backend-specific step of Grad-CAM: the gradient of class scores with respect to a tensor.

Everything else in :mod:`tlcore.explain` is written with ``keras.ops`` and runs on any Keras
backend; only differentiation differs between them, so each backend gets one small helper here,
chosen by ``keras.backend.backend()``.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import TLCoreError

ScoreFn = Callable[[Any], Any]  # feature map (B, h, w, k) -> one score per image (B,)


def _tensorflow(score: ScoreFn, feature_map) -> tuple[Any, Any]:
    import tensorflow as tf

    feature_map = tf.convert_to_tensor(feature_map)
    with tf.GradientTape() as tape:
        tape.watch(feature_map)
        scores = score(feature_map)
        # Images are independent (inference mode, per-image pooling), so the gradient of the
        # batch's sum holds each image's own gradient. (Summed on the tape, or it is not recorded.)
        total = tf.reduce_sum(scores)
    return scores, tape.gradient(total, feature_map)


def _jax(score: ScoreFn, feature_map) -> tuple[Any, Any]:
    import jax
    import jax.numpy as jnp

    scores, pullback = jax.vjp(score, jnp.asarray(feature_map))
    (grads,) = pullback(jnp.ones_like(scores))
    return scores, grads


def _torch(score: ScoreFn, feature_map) -> tuple[Any, Any]:
    import torch

    feature_map = torch.as_tensor(feature_map).detach().requires_grad_(True)
    with torch.enable_grad():
        scores = score(feature_map)
        (grads,) = torch.autograd.grad(scores.sum(), feature_map)
    return scores.detach(), grads


_HELPERS = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}


def scores_and_gradients(score: ScoreFn, feature_map) -> tuple[Any, Any]:
    """``score(feature_map)`` and its gradient with respect to ``feature_map``, on the running backend.

    Raises:
        TLCoreError: The Keras backend has no gradient helper here.
    """
    import keras

    backend = keras.backend.backend()
    helper = _HELPERS.get(backend)
    if helper is None:
        raise TLCoreError(
            f"Grad-CAM cannot compute gradients on the Keras backend {backend!r}.",
            f"set KERAS_BACKEND to one of: {', '.join(_HELPERS)}.",
        )
    return helper(score, feature_map)
