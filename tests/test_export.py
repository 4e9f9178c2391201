"""Export round-trips (tlcore.export.run): every exported format predicts what the in-memory model predicts.

The pictures, the fitted classifier and the run folder come from ``export_helpers``; the
other test_export_* files test the export's modules one by one.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from export_helpers import CLASSES, SIZE, fitted_classifier, make_images, write_run  # noqa: F401 (also imported from here)
from tlcore.errors import TLCoreError
from tlcore.export.formats import FILE_NAMES
from tlcore.runs import RunFolder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tlcore.export import export_run

    root = tmp_path_factory.mktemp("export")
    images = make_images(root)
    model, arrays = fitted_classifier(images)
    evaluation = write_run(root / "run", model, arrays)
    paths = export_run(root / "run")
    expected = np.asarray(model(arrays, training=False))
    return {"paths": paths, "images": images, "expected": expected, "evaluation": evaluation,
            "run": root / "run", "model": model}


def test_export_run_writes_every_format(exported):
    paths = exported["paths"]
    assert set(paths) >= {"keras", "savedmodel", "savedmodel-zip", "tflite", "tflite-quant", "onnx", "web", "web-zip",
                          "labels", "card"}
    export_dir = RunFolder(exported["run"]).export_dir
    assert export_dir == exported["run"] / "export"
    for key, name in [("keras", "model.keras"), ("tflite", "model.tflite"), ("tflite-quant", "model_quant.tflite"),
                      ("labels", "labels.json"), ("card", "model_card.md"), ("savedmodel-zip", "saved_model.zip")]:
        assert FILE_NAMES[key] == name
        assert paths[key] == export_dir / name and paths[key].is_file() and paths[key].stat().st_size > 0
    assert (paths["savedmodel"] / "saved_model.pb").is_file()
    # atomic writes leave no temporary files or folders behind
    assert not [p.name for p in export_dir.iterdir() if p.name.startswith(".")]
    # dynamic-range quantization stores 8-bit weights: clearly smaller than float32
    assert paths["tflite-quant"].stat().st_size < 0.6 * paths["tflite"].stat().st_size
    with zipfile.ZipFile(paths["savedmodel-zip"]) as zf:
        names = zf.namelist()
    assert "saved_model/saved_model.pb" in names and "saved_model/labels.json" in names


def test_in_memory_model_tells_the_images_apart(exported):
    # guards the tests below: agreement on identical predictions would prove nothing
    top = exported["expected"].argmax(axis=1)
    assert sorted(set(top.tolist())) == [0, 1, 2]
    assert exported["expected"].max(axis=1).min() > 0.6


@pytest.mark.parametrize("fmt", ["keras", "savedmodel", "tflite"])
def test_exported_format_predicts_like_the_in_memory_model(exported, fmt):
    from tlcore.predict import load_predictor

    predictor = load_predictor(exported["paths"][fmt])
    assert predictor.classes == CLASSES and predictor.image_size == SIZE
    probs = predictor.predict_proba(exported["images"])
    assert probs.shape == (6, 3)
    np.testing.assert_array_equal(probs.argmax(axis=1), exported["expected"].argmax(axis=1))
    np.testing.assert_allclose(probs, exported["expected"], atol=1e-4)
    top = predictor.predict(exported["images"], top_k=2)
    assert [t[0][0] for t in top] == [CLASSES[i] for i in exported["expected"].argmax(axis=1)]


def test_quantized_tflite_mostly_agrees(exported):
    from tlcore.predict import load_predictor

    probs = load_predictor(exported["paths"]["tflite-quant"]).predict_proba(exported["images"])
    agree = int((probs.argmax(axis=1) == exported["expected"].argmax(axis=1)).sum())
    # 8-bit weights shift the probabilities slightly; a near tie may flip, so allow one of six.
    assert agree >= 5, (probs, exported["expected"])


def test_labels_json_round_trips(exported):
    assert json.loads(exported["paths"]["labels"].read_text(encoding="utf-8")) == CLASSES


def test_model_card_describes_the_model(exported):
    card = exported["paths"]["card"].read_text(encoding="utf-8")
    for text in ("VGG16", "block2_pool", "feature-extraction", "uint8", "83.3 % (", "café crème",
                 "precision", "recall", "Confusion matrix", "learning_rate", "Few images per class",
                 'keras.saving.load_model("model.keras")', 'tf.saved_model.load("saved_model")',
                 "model_quant.tflite", "resize_tensor_input", f"{SIZE} x {SIZE}"):
        assert text in card, text
    # the per-class table holds the sklearn numbers from evaluation.json, each recall with its 95 % interval
    from tlcore.trust.intervals import with_interval

    square = exported["evaluation"]["report"]["square"]
    assert f"| square | {square['precision']:.4g} | {with_interval(square['recall'], square['recall_ci'])} |" in card
    accuracy = exported["evaluation"]
    assert f"- Accuracy: **{with_interval(accuracy['accuracy'], accuracy['accuracy_ci'])}** on 6 images" in card


def test_export_refuses_bad_requests(exported, tmp_path, monkeypatch):
    from tlcore.export import export_model, export_run

    with pytest.raises(TLCoreError, match="Unknown export format 'pdf'"):
        export_model(exported["model"], tmp_path, CLASSES, formats=["pdf"])
    with pytest.raises(TLCoreError, match="3 outputs but 2 class names"):
        export_model(exported["model"], tmp_path, CLASSES[:2], formats=["keras"])
    with pytest.raises(TLCoreError, match="no model.keras"):
        (tmp_path / "unfinished").mkdir()
        export_run(tmp_path / "unfinished")

    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(TLCoreError, match="TensorFlow backend"):
        export_model(exported["model"], tmp_path / "jax", CLASSES, formats=["savedmodel"])


def test_a_damaged_run_file_is_named_in_the_error(exported, tmp_path):
    from tlcore.export import export_run

    run = tmp_path / "run"
    run.mkdir()
    folder = RunFolder(run)
    folder.model_path.write_bytes(RunFolder(exported["run"]).model_path.read_bytes())
    folder.labels_path.write_text("[not json", encoding="utf-8")
    with pytest.raises(TLCoreError, match="run/labels.json is damaged"):
        export_run(run, ["keras"])
    folder.labels_path.unlink()
    with pytest.raises(TLCoreError, match="has no labels.json"):
        export_run(run, ["keras"])


def test_export_accuracy_is_none_without_a_measured_8bit_export(exported, tmp_path):
    from tlcore.export import export_accuracy, export_model

    assert export_accuracy(tmp_path) is None  # never exported
    # the module's run names no dataset, so the 8-bit model could not be measured; the card says why
    assert export_accuracy(exported["run"]) is None
    card = exported["paths"]["card"].read_text(encoding="utf-8")
    assert "8-bit model's accuracy was not measured: the run's settings do not name its dataset" in card
    info = json.loads(exported["paths"]["info"].read_text(encoding="utf-8"))
    assert info["accuracy"]["tflite_int8"] is None
    paths = export_model(exported["model"], tmp_path / "float_only", CLASSES, formats=["tflite"])
    assert "accuracy" not in json.loads(paths["info"].read_text(encoding="utf-8"))
