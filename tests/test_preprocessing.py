"""One preprocessing everywhere: a photo of any size gets the app's answer from every export.

The app decodes with Pillow and resizes with :func:`tlcore.images.resize_image`; an exported
model is fed the decoded photo at its own size and resizes inside (``keras.layers.Resizing``,
TFLite's ``RESIZE_BILINEAR``). The answers must agree to within rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tlcore.images import load_image, open_image, resize_image

TOLERANCE = 0.005  # half a probability point: what rounding the resized pixels to uint8 can move


def _photos(folder) -> list[str]:
    """Photo-like images of varied sizes and aspect ratios, formats and orientations."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:1, 0:1]
    paths = []
    for i, (w, h, fmt) in enumerate([(640, 480, "JPEG"), (300, 1200, "PNG"), (1600, 900, "JPEG"),
                                     (97, 61, "PNG"), (2000, 2000, "JPEG"), (451, 333, "WEBP")]):
        ys, xs = np.mgrid[0:h, 0:w]
        # fine stripes: what an antialiased and a plain resize render differently
        base = 127 + 100 * np.sin(xs / (1.3 + i)) * np.cos(ys / (2.1 + i))
        pixels = np.stack([base, np.roll(base, 7, axis=1), 255 - base], axis=-1) + rng.normal(0, 10, (h, w, 3))
        img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        path = folder / f"photo_{i}.{fmt.lower()}"
        if i == 2:  # a phone photo stored sideways with an EXIF orientation tag
            exif = Image.Exif()
            exif[0x0112] = 6
            img.save(path, fmt, exif=exif, quality=92)
        else:
            img.save(path, fmt)
        paths.append(str(path))
    return paths


def _peaked(model, paths, size):
    """Scale the head so probabilities react strongly to the input (a trained head does)."""
    dense = model.get_layer("head").get_layer("predictions")
    kernel, bias = dense.get_weights()
    batch = np.stack([load_image(p, size) for p in paths])
    best, best_spread = 1.0, -1.0
    for scale in (1, 3, 10, 30, 100, 300, 1000):
        dense.set_weights([kernel * scale, bias])
        spread = float(np.asarray(model(batch, training=False)).std(axis=0).mean())
        if spread > best_spread:
            best, best_spread = scale, spread
    dense.set_weights([kernel * best, bias])
    assert best_spread > 0.05, "the probabilities must differ between the photos"
    return model


def _compare(model, paths, tmp_path, image_size):
    from tlcore.export import export_model
    from tlcore.predict import load_predictor, predictor_from_model
    from tlcore.tflite import run_tflite, tflite_interpreter

    classes = [f"c{i}" for i in range(int(model.output.shape[-1]))]
    files = export_model(model, tmp_path / "export", classes, formats=("keras", "tflite"))
    app = predictor_from_model(model, classes).predict_proba(paths)
    exported = load_predictor(files["keras"]).model
    interpreter = tflite_interpreter(model_path=files["tflite"])
    keras_probs, tflite_probs = [], []
    for path in paths:
        raw = np.asarray(open_image(path), dtype=np.uint8)[None]  # the photo at its own size
        keras_probs.append(np.asarray(exported(raw, training=False))[0])
        tflite_probs.append(run_tflite(interpreter, raw)[0])
    keras_diff = np.abs(np.array(keras_probs) - app).max()
    tflite_diff = np.abs(np.array(tflite_probs) - app).max()
    # The defect this guards against: the app resizing another way (Pillow's antialiased filter).
    pillow = np.stack([np.asarray(open_image(p).resize((image_size, image_size), Image.Resampling.BILINEAR))
                       for p in paths])
    pillow_diff = np.abs(np.asarray(model(pillow, training=False)) - app).max()
    print(f"max |app - .keras| {keras_diff:.5f}, |app - TFLite| {tflite_diff:.5f}, "
          f"|Pillow-resized - app| {pillow_diff:.5f}")
    return keras_diff, tflite_diff, pillow_diff


def test_resize_image_is_the_models_resize_layer():
    import keras

    rng = np.random.default_rng(0)
    for h, w, size in [(376, 500, 224), (50, 80, 224), (3000, 4000, 96), (224, 224, 160), (7, 1900, 64)]:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        layer = keras.layers.Resizing(size, size, interpolation="bilinear", antialias=False)
        want = np.asarray(layer(img[None].astype("float32")))[0]
        got = resize_image(img, size)
        assert got.shape == (size, size, 3) and got.dtype == np.uint8
        assert np.abs(got.astype(np.float32) - want).max() <= 0.5 + 1e-3  # rounding to uint8 only


def test_load_image_decodes_whole_then_resizes_like_the_model(tmp_path):
    path = _photos(tmp_path)[2]  # a large JPEG: no reduced-scale decoding may sneak in
    np.testing.assert_array_equal(load_image(path, 96), resize_image(np.asarray(open_image(path)), 96))


def _small_backbone(path) -> str:
    """A user's own small convolutional backbone (random MobileNetV2 features are all alike)."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, strides=2, activation="relu")(x)
    keras.Model(inputs, x).save(path)
    return str(path)


def test_app_keras_and_tflite_agree_on_photos_of_any_size(tmp_path):
    from tlcore.config import TrainConfig
    from tlcore.model import build_classifier

    paths = _photos(tmp_path)
    config = TrainConfig(backbone_file=_small_backbone(tmp_path / "small.keras"), image_size=96)
    model = _peaked(build_classifier(config, 3).model, paths, 96)
    keras_diff, tflite_diff, pillow_diff = _compare(model, paths, tmp_path, 96)
    assert keras_diff < TOLERANCE and tflite_diff < TOLERANCE
    assert pillow_diff > 4 * TOLERANCE  # the test can tell the two resizes apart


@pytest.mark.real_data
@pytest.mark.slow
def test_app_keras_and_tflite_agree_on_real_photos(tmp_path, hymenoptera_dir, real_keras_home):
    """Real photos of many sizes (hymenoptera val), real ImageNet weights, 224 px."""
    from tlcore.config import TrainConfig
    from tlcore.model import build_classifier

    photos = sorted((hymenoptera_dir / "val").rglob("*.jpg"))
    by_size = {}
    for path in photos:
        with Image.open(path) as img:
            by_size.setdefault(img.size, str(path))
    paths = list(by_size.values())[:16]
    assert len({Image.open(p).size for p in paths}) >= 8  # varied sizes and aspect ratios
    paths.append(str(hymenoptera_dir / "val" / "bees" / "353266603_d3eac7e9a0.jpg"))  # 30 points off before
    model = _peaked(build_classifier(TrainConfig(), 2).model, paths, 224)
    keras_diff, tflite_diff, _ = _compare(model, paths, tmp_path, 224)
    assert keras_diff < TOLERANCE and tflite_diff < TOLERANCE
