"""How fast a registry backbone runs on this machine (the Model page's comparison)."""

from __future__ import annotations

from .backbones import build_base, get_backbone
from .errors import TLCoreError


def measure_speed(name: str, image_size: int | None = None, *, batch_size: int = 8, repeats: int = 3) -> float:
    """Images per second through a backbone (cut at its default layer) on this machine.

    Built with random weights: a forward pass costs the same as with pretrained ones, and
    nothing is downloaded. The first batch (graph tracing) is not timed.

    Args:
        name: A registry name (see :data:`BACKBONES`).
        image_size: Input size in pixels; default: the backbone's native size.
        batch_size: Images per timed batch.
        repeats: Timed batches; the result is their average speed.

    Returns:
        Images per second.
    """
    import time

    import numpy as np

    if batch_size < 1 or repeats < 1:
        raise TLCoreError(f"batch_size={batch_size} and repeats={repeats} must both be at least 1.",
                          "use whole numbers of 1 or more.")
    spec = get_backbone(name)
    size = int(image_size or spec.native_size)
    base = build_base(spec.name, weights=None, image_size=size)
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, size, size, 3)).astype("float32")
    base.predict_on_batch(batch)  # warm-up: builds the compiled function
    start = time.perf_counter()
    for _ in range(repeats):
        base.predict_on_batch(batch)
    return batch_size * repeats / max(time.perf_counter() - start, 1e-9)
