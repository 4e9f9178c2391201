"""tlcore.data.batches: streaming batches to Keras and decoding all at once."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from data_helpers import _image
from tlcore.data import Dataset, decode_all, load_dataset


def _colour_dataset(tmp_path: Path, per_class: int = 7) -> Dataset:
    colours = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
    for name, colour in colours.items():
        for i in range(per_class):
            _image(tmp_path / name / f"{i}.png", colour=colour, size=12 + i)  # sizes differ: unique files
    return load_dataset(tmp_path, val_fraction=0.2)


def test_image_batches_shapes_and_dtypes(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    train = ds.split("train")
    batches = ImageBatches(train, image_size=20, batch_size=4, num_classes=3)
    assert len(batches) == -(-len(train) // 4)
    x, y = batches[0]
    assert x.shape == (4, 20, 20, 3) and x.dtype == np.uint8
    assert y.shape == (4,) and y.dtype == np.int32
    last_x, last_y = batches[len(batches) - 1]
    assert last_x.shape[0] == last_y.shape[0] == len(train) - 4 * (len(batches) - 1)
    # Labels travel with their images: the dominant channel of a red image is 0, etc.
    for xb, yb in batches:
        channel = xb.reshape(len(xb), -1, 3).mean(axis=1).argmax(axis=1)
        assert list(channel) == [{"blue": 2, "green": 1, "red": 0}[ds.classes[label]] for label in yb]


def test_image_batches_shuffle_each_epoch(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path, per_class=10)
    train = ds.split("train")
    plain = ImageBatches(train, image_size=8, batch_size=64)
    assert list(plain[0][1]) == [s.label for s in train]  # no shuffle: the given order
    shuffled = ImageBatches(train, image_size=8, batch_size=64, shuffle=True, seed=3)
    epoch1 = list(shuffled[0][1])
    order1 = shuffled.order.copy()
    shuffled.on_epoch_end()
    assert not np.array_equal(order1, shuffled.order)
    assert sorted(shuffled.order) == list(range(len(train)))
    assert sorted(epoch1) == sorted(s.label for s in train) and epoch1 != [s.label for s in train]
    again = ImageBatches(train, image_size=8, batch_size=64, shuffle=True, seed=3)
    assert np.array_equal(again.order, order1)  # same seed, same order


def test_image_batches_survive_an_image_that_broke(tmp_path, caplog):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    train = ds.split("train")
    Path(train[0].path).write_bytes(b"gone bad")
    with caplog.at_level(logging.WARNING, logger="tlcore.data"):
        x, _ = ImageBatches(train, image_size=8, batch_size=2)[0]
    assert x[0].max() == 0 and x[1].max() > 0
    assert "black image" in caplog.text and train[0].path in caplog.text


@pytest.mark.timeout(120, method="thread")  # a pool copied into forked workers used to hang here forever
@pytest.mark.parametrize("use_multiprocessing", [False, True])
def test_image_batches_work_with_keras_fit(tmp_path, use_multiprocessing):
    import keras

    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    batches = ImageBatches(ds.split("train"), 8, batch_size=4, shuffle=True, workers=2, use_multiprocessing=use_multiprocessing)
    batches[0]  # start the decoding threads in this process before Keras forks
    history = model.fit(batches, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_image_batches_reject_bad_arguments(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    with pytest.raises(ValueError, match="samples"):
        ImageBatches([], image_size=8)
    with pytest.raises(ValueError, match="labels"):
        ImageBatches(ds.split("train"), image_size=8, num_classes=2)


def test_decode_all_keeps_the_order(tmp_path):
    ds = _colour_dataset(tmp_path)
    calls = []
    images = decode_all(ds.split("val"), 10, progress=lambda *a: calls.append(a))
    assert images.shape == (len(ds.split("val")), 10, 10, 3) and images.dtype == np.uint8
    channel = images.reshape(len(images), -1, 3).mean(axis=1).argmax(axis=1)
    assert list(channel) == [{"blue": 2, "green": 1, "red": 0}[ds.classes[s.label]] for s in ds.split("val")]
    assert calls[-1][:2] == (len(images), len(images))
