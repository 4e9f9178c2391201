"""TFLite conversion (tlcore.export.tflite_convert) and the interpreter helpers (tlcore.tflite)."""

from __future__ import annotations

import numpy as np
import pytest

from export_helpers import CLASSES, SIZE, fitted_classifier, make_images


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    images = make_images(tmp_path_factory.mktemp("tflite"))
    model, arrays = fitted_classifier(images)
    return {"model": model, "images": images, "expected": np.asarray(model(arrays, training=False))}


def test_export_model_falls_back_to_a_fixed_tflite_input_size(classifier, tmp_path, monkeypatch):
    from tlcore.export import export_model, tflite_convert
    from tlcore.predict import load_predictor

    real_check = tflite_convert.check_tflite

    def dynamic_fails(content, model, image_size, dynamic, quantized):
        if dynamic:
            raise ValueError("pretend dynamic shapes do not run")
        return real_check(content, model, image_size, dynamic, quantized)

    monkeypatch.setattr(tflite_convert, "check_tflite", dynamic_fails)
    paths = export_model(classifier["model"], tmp_path, CLASSES, formats=["tflite"])
    assert set(paths) == {"tflite", "labels", "info", "card"}
    predictor = load_predictor(paths["tflite"])
    assert predictor.model.get_input_details()[0]["shape_signature"].tolist()[1:] == [SIZE, SIZE, 3]
    probs = predictor.predict_proba(classifier["images"])
    np.testing.assert_array_equal(probs.argmax(axis=1), classifier["expected"].argmax(axis=1))
    assert "fixed input size 64 x 64" in paths["card"].read_text(encoding="utf-8")


def test_a_dynamic_size_tflite_file_runs_batches_of_any_size_like_keras(classifier, tmp_path):
    from tlcore.export.savedmodel import export_saved_model
    from tlcore.export.tflite_convert import check_tflite, convert_tflite
    from tlcore.tflite import run_tflite, tflite_interpreter

    export_saved_model(classifier["model"], tmp_path / "saved_model")
    content = convert_tflite(tmp_path / "saved_model", quantize=False)
    check_tflite(content, classifier["model"], SIZE, dynamic=True, quantized=False)  # raises when it disagrees
    interpreter = tflite_interpreter(model_content=content)
    for shape in [(1, SIZE, SIZE, 3), (3, SIZE + 5, SIZE - 9, 3)]:
        batch = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
        got = run_tflite(interpreter, batch)
        np.testing.assert_allclose(got, np.asarray(classifier["model"](batch, training=False)), atol=1e-3)
    with pytest.raises(ValueError, match="differs from Keras"):  # the check can fail
        check_tflite(content, _other_classifier(), SIZE, dynamic=True, quantized=False)


def _other_classifier():
    """A classifier that answers differently from the module's (its head is untouched)."""
    from export_helpers import CONFIG
    from tlcore.model import build_classifier

    return build_classifier(CONFIG, num_classes=len(CLASSES)).model
