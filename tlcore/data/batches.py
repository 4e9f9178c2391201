"""Decoding a dataset's images for Keras: all at once (:func:`decode_all`) or streamed in batches.

:class:`ImageBatches` streams ``(uint8 images, int32 labels)`` batches to Keras without ever
holding the whole dataset in memory. It subclasses ``keras.utils.PyDataset``, so the class
is built on first use (:func:`make_image_batches`, called by ``tlcore.data``'s lazy
attribute): importing keras costs seconds that checking a dataset does not need. An image
that broke since it was checked decodes as black, with a warning, rather than stopping a run.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..images import ImageProblem, load_image
from .files import Progress, default_workers
from .split import Sample

log = logging.getLogger(__name__)


def _sample_path(sample: Sample | str | Path) -> str:
    return sample.path if isinstance(sample, Sample) else os.fspath(sample)


def _load_or_black(path: str, image_size: int) -> np.ndarray:
    """Decode one image; an image that broke since inspection becomes black, not a crash."""
    try:
        return load_image(path, image_size)
    except ImageProblem as err:
        log.warning("Using a black image for %s: %s", path, err.reason)
        return np.zeros((image_size, image_size, 3), dtype=np.uint8)


def decode_all(
    samples: Sequence[Sample | str | Path],
    image_size: int,
    progress: Progress | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Decode images in order into one array (parallel); for passes over small datasets.

    Memory is ``len(samples) * image_size**2 * 3`` bytes: stream with
    :class:`ImageBatches` (``shuffle=False``) when that is too much.

    Args:
        samples: Samples or image paths.
        image_size: Output width and height.
        progress: Called as ``progress(done, total, message)``.
        workers: Decoding threads (default: twice the CPU count, at most 16).

    Returns:
        A ``uint8`` array of shape ``(len(samples), image_size, image_size, 3)``.
    """
    paths = [_sample_path(s) for s in samples]
    out = np.zeros((len(paths), image_size, image_size, 3), dtype=np.uint8)
    total = len(paths)
    step = max(1, total // 100)

    def fill(i: int) -> None:
        out[i] = _load_or_black(paths[i], image_size)  # written in place: no second copy

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        for done, _ in enumerate(pool.map(fill, range(total)), start=1):
            if progress and (done % step == 0 or done == total):
                progress(done, total, f"Decoded {done} of {total} images")
    return out


def make_image_batches() -> type:
    """Build the :class:`ImageBatches` class (it subclasses ``keras.utils.PyDataset``)."""
    # Built on first use: importing keras costs seconds, which checking a dataset or
    # rendering its report does not need.
    import keras

    class ImageBatches(keras.utils.PyDataset):
        """Streams ``(x uint8 (b, size, size, 3), y int32 (b,))`` batches from image files.

        Only the current batches are in memory. Each batch is decoded by a pool of
        ``workers`` threads; Keras additionally prefetches up to ``max_queue_size``
        batches when ``workers > 1``.

        Args:
            samples: The samples to stream (e.g. ``dataset.split("train")``).
            image_size: Output width and height in pixels.
            batch_size: Images per batch (the last batch may be smaller).
            shuffle: Shuffle the order, again at the end of every epoch.
            seed: Seed of the shuffling.
            workers: Decoding threads (also Keras's prefetch workers).
            use_multiprocessing: Passed to ``keras.utils.PyDataset``.
            max_queue_size: Batches prefetched by Keras.
            num_classes: When given, labels are checked to be below it.
        """

        def __init__(
            self,
            samples: Sequence[Sample],
            image_size: int,
            batch_size: int = 32,
            shuffle: bool = False,
            seed: int = 0,
            workers: int = 2,
            use_multiprocessing: bool = False,
            max_queue_size: int = 8,
            num_classes: int | None = None,
        ):
            super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
            if not samples:
                raise ValueError("samples is empty: give at least one Sample to stream")
            if not isinstance(batch_size, int) or batch_size < 1:
                raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
            self.paths = [_sample_path(s) for s in samples]
            self.labels = np.array([s.label for s in samples], dtype=np.int32)
            if num_classes is not None and (self.labels.min() < 0 or self.labels.max() >= num_classes):
                raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {self.labels.min()}..{self.labels.max()}")
            self.image_size = int(image_size)
            self.batch_size = batch_size
            self.shuffle = shuffle
            self.seed = seed
            self.num_classes = num_classes
            self._decode_threads = max(1, int(workers))
            self._pool: ThreadPoolExecutor | None = None
            self._pool_pid = 0
            self._decoder()  # now, so Keras's prefetch threads never race to create it
            self._epoch = 0
            self.order = np.arange(len(self.paths))
            if shuffle:
                self._reshuffle()

        def __len__(self) -> int:
            return math.ceil(len(self.paths) / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            if not 0 <= index < len(self):
                raise IndexError(f"batch {index} out of range (0..{len(self) - 1})")
            picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
            images = list(self._decoder().map(lambda i: _load_or_black(self.paths[i], self.image_size), picked))
            return np.stack(images), self.labels[picked]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self._epoch += 1
                self._reshuffle()

        def _reshuffle(self) -> None:
            # A fresh generator per epoch: the order depends only on (seed, epoch).
            self.order = np.random.default_rng([self.seed, self._epoch]).permutation(len(self.paths))

        def __getstate__(self) -> dict[str, Any]:
            state = self.__dict__.copy()
            state["_pool"] = None  # thread pools cannot cross process boundaries
            return state

        def _decoder(self) -> ThreadPoolExecutor:
            # With use_multiprocessing, Keras forks worker processes holding a copy of this
            # object; the parent's pool threads do not exist there, so each process needs
            # its own pool (reusing the copy would wait forever).
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=self._decode_threads)  # threads start on first use
                self._pool_pid = os.getpid()
            return self._pool

    ImageBatches.__module__ = "tlcore.data"  # its public home (see tlcore/data/__init__.py)
    ImageBatches.__qualname__ = "ImageBatches"  # so pickle finds it as tlcore.data.ImageBatches
    return ImageBatches
