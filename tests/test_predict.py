"""Prediction: any saved model, any image input, and refusal of unsafe or wrong files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from export_helpers import CLASSES, SIZE, fitted_classifier, make_images, write_run
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.images import open_image
from tlcore.predict import Predictor, load_predictor, predict_images
from tlcore.runs import RunFolder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    images = make_images(root)
    model, arrays = fitted_classifier(images)
    write_run(root / "run", model, arrays)
    return {"dir": root / "run", "images": images, "model": model,
            "expected": np.asarray(model(arrays, training=False))}


def test_run_folder_predicts_with_its_labels_and_training_size(run):
    predictor = load_predictor(run["dir"])
    assert isinstance(predictor, Predictor)
    assert (predictor.kind, predictor.classes, predictor.image_size) == ("keras", CLASSES, SIZE)
    assert predictor.labels_found
    np.testing.assert_allclose(predictor.predict_proba(run["images"]), run["expected"], atol=1e-5)


def test_top_k_is_sorted_and_clipped(run):
    predictor = load_predictor(RunFolder(run["dir"]).model_path)
    results = predictor.predict(run["images"], top_k=2)
    assert len(results) == 6 and all(len(r) == 2 for r in results)
    for row, probs in zip(results, run["expected"]):
        assert row[0] == (CLASSES[int(probs.argmax())], pytest.approx(float(probs.max()), abs=1e-5))
        assert row[0][1] >= row[1][1]
    assert all(len(r) == 3 for r in predictor.predict(run["images"][:2], top_k=10))
    with pytest.raises(TLCoreError, match="top_k"):
        predictor.predict(run["images"], top_k=0)


def test_arrays_pil_images_and_files_give_the_same_answer(run):
    predictor = load_predictor(run["dir"])
    png = run["images"][0]  # PNG: decoded identically by every route
    from_file = predictor.predict_proba([png])
    full_size = np.asarray(open_image(png))
    assert full_size.shape[:2] != (SIZE, SIZE)  # the array is resized like load_image does
    np.testing.assert_allclose(predictor.predict_proba(full_size), from_file, atol=1e-6)
    np.testing.assert_allclose(predictor.predict_proba([Image.open(png)]), from_file, atol=1e-6)
    with open(png, "rb") as fh:
        np.testing.assert_allclose(predictor.predict_proba([fh]), from_file, atol=1e-6)
    batch = np.stack([full_size[:40, :40]] * 2)  # a 4-D array is a batch
    assert predictor.predict_proba(batch).shape == (2, 3)
    assert predictor.predict_proba(full_size[..., 0]).shape == (1, 3)  # grayscale becomes RGB
    with pytest.raises(TLCoreError, match="shape"):
        predictor.predict_proba(np.zeros((5, 5, 7), np.uint8))
    with pytest.raises(TLCoreError, match="0-255"):
        predictor.predict_proba(full_size / 255.0)  # a common mistake: pixels already scaled


def test_predict_images_accepts_paths_predictors_and_models(run):
    expected_top = [CLASSES[i] for i in run["expected"].argmax(axis=1)]
    by_path = predict_images(run["dir"], run["images"], top_k=1)
    assert [r[0][0] for r in by_path] == expected_top
    by_predictor = predict_images(load_predictor(run["dir"]), run["images"][:2], top_k=1)
    assert by_predictor == by_path[:2]
    in_memory = predict_images(run["model"], run["images"], top_k=1)  # no labels: class_<i>
    assert [r[0][0] for r in in_memory] == [f"class_{i}" for i in run["expected"].argmax(axis=1)]


def test_missing_labels_fall_back_to_numbered_classes(run, tmp_path):
    lone = tmp_path / "lone.keras"
    lone.write_bytes(RunFolder(run["dir"]).model_path.read_bytes())
    predictor = load_predictor(lone)
    assert predictor.classes == ["class_0", "class_1", "class_2"] and not predictor.labels_found
    assert predictor.image_size == SIZE  # read from the model's own resize layer


def test_a_bad_image_is_named_in_the_error(run, tmp_path):
    broken = tmp_path / "holiday.jpg"
    broken.write_text("this is not a picture")
    with pytest.raises(TLCoreError, match="holiday.jpg"):
        load_predictor(run["dir"]).predict([run["images"][0], broken])
    with pytest.raises(TLCoreError, match="missing.png"):
        load_predictor(run["dir"]).predict([tmp_path / "missing.png"])


def test_a_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    import keras

    inputs = keras.Input((None, None, 3), dtype="uint8")
    x = keras.layers.Lambda(lambda t: keras.ops.cast(t, "float32") * 2.0)(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    hostile = tmp_path / "hostile.keras"
    keras.Model(inputs, outputs).save(hostile)
    (tmp_path / "labels.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(TLCoreError, match="Lambda"):
        load_predictor(hostile)


def test_files_that_are_not_models_are_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    fake_keras = tmp_path / "fake.keras"
    fake_keras.write_text("not a zip")
    fake_tflite = tmp_path / "fake.tflite"
    fake_tflite.write_bytes(b"\x00" * 64)
    unfinished = tmp_path / "unfinished_run"
    RunFolder(unfinished).write_config(TrainConfig())
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [(notes, "not a model file"), (fake_keras, "not a valid .keras"), (fake_tflite, "TensorFlow Lite"),
             (tmp_path / "nowhere.keras", "does not exist"), (unfinished, "no model.keras yet"),
             (empty, "holds no model")]
    for path, message in cases:
        with pytest.raises(TLCoreError, match=message):
            load_predictor(path)
