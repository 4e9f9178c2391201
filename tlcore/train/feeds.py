"""How training data reaches ``fit``: image batches, in-memory arrays, cycled cached views.

Labels are one-hot everywhere (label smoothing needs them). Cached features or activations
are fed as one repeated ``tf.data`` pipeline when small, and a list of cached augmented views
is fed one view per epoch by :func:`view_cycle`.
"""

from __future__ import annotations

import functools

import numpy as np

CACHE_RAM_BYTES = 2 * 1024**3  # above this, fine-tuning streams images instead of cached activations


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype="float32")[labels]


def image_batches(samples, size: int, batch_size: int, num_classes: int, shuffle: bool = False, seed: int = 0):
    """Image batches with one-hot labels."""
    from ..data import ImageBatches

    class OneHotBatches(ImageBatches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return x, one_hot(y, num_classes)

    return OneHotBatches(samples, size, batch_size=batch_size, shuffle=shuffle, seed=seed, num_classes=num_classes)


def array_feed(x, y, x_val, y_val, batch_size: int, seed: int) -> dict:
    """``fit`` arguments for in-memory arrays (cached features or activations).

    On TensorFlow, ``fit`` on numpy arrays builds new input iterators every epoch, which costs
    more than an epoch of a small head; one repeated ``tf.data`` pipeline (and a cached
    validation one) halves a head's training time. Large arrays stay numpy: the pipeline would
    hold a second copy of them.
    """
    import keras

    if keras.backend.backend() == "tensorflow" and x.nbytes + x_val.nbytes < 256 * 1024**2:
        import tensorflow as tf

        train_ds = (tf.data.Dataset.from_tensor_slices((x, y))
                    .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
                    .batch(batch_size).repeat().prefetch(2))
        val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256).cache()
        return {"x": train_ds, "steps_per_epoch": int(np.ceil(len(x) / batch_size)), "validation_data": val_ds,
                "shuffle": False}  # shuffled in the pipeline; Keras warns otherwise
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "validation_data": (x_val, y_val)}


@functools.cache  # one class, built on first use: importing keras is not free
def _view_cycle_class():
    import keras

    class ViewCycle(keras.utils.PyDataset):
        """Batches of cached outputs where epoch k uses view ``k % len(views)``, reshuffled each epoch."""

        def __init__(self, views: list, labels: np.ndarray, batch_size: int, seed: int):
            super().__init__()
            self.views, self.labels, self.batch_size, self.seed = views, labels, batch_size, seed
            # Counted where Keras begins each epoch (it may also call on_epoch_end when peeking).
            self.epoch = -1
            self.order = np.random.default_rng([seed, 0]).permutation(len(labels))

        def __len__(self) -> int:
            return int(np.ceil(len(self.labels) / self.batch_size))

        def __getitem__(self, index: int):
            picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            return self.views[max(self.epoch, 0) % len(self.views)][picked], self.labels[picked]

        def on_epoch_begin(self) -> None:
            self.epoch += 1
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

        def on_epoch_end(self) -> None:
            pass

    return ViewCycle


def view_cycle(views: list, labels: np.ndarray, batch_size: int, seed: int):
    """A ``keras.utils.PyDataset`` over cached ``views``: each epoch sees every image once, as the next view."""
    return _view_cycle_class()(views, labels, batch_size, seed)


def fits_in_memory(shape: tuple, count: int) -> bool:
    """``count`` float32 arrays of ``shape`` stay under :data:`CACHE_RAM_BYTES`."""
    return int(np.prod(shape)) * 4 * count <= CACHE_RAM_BYTES
