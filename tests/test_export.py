"""Export round-trips: every exported format predicts what the in-memory model predicts."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.evaluate import evaluate_predictions
from tlcore.images import load_image
from tlcore.model import build_classifier

SIZE = 64
CLASSES = ["circle", "café crème", "square"]  # a non-ASCII name checks labels.json round-trips
# A random-init MobileNet's features collapse to ~1e-12 at its default cut, so every image
# would get the same uniform probabilities and an agreement test could not fail. The first
# two VGG16 blocks (no BatchNorm, 4 conv layers) keep a real signal and export in seconds.
CONFIG = TrainConfig(backbone="VGG16", layer="block2_pool", weights="none", image_size=SIZE)


def make_images(folder, n: int = 6) -> list:
    """``n`` distinct PNG/JPEG pictures (shapes, colours, noise) of different sizes."""
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        w, h = [(90, 70), (64, 64), (120, 100), (50, 80), (200, 150), (77, 77)][i % 6]
        noise = rng.normal(0, 25, (h, w, 3))
        base = np.clip(noise + [[[(60 * i) % 256, 255 - 40 * i, (90 + 70 * i) % 256]]], 0, 255).astype(np.uint8)
        img = Image.fromarray(base)
        draw = ImageDraw.Draw(img)
        box = [w * 0.2, h * 0.2, w * (0.5 + 0.08 * i), h * 0.8]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if i % 3 == 0 else draw.rectangle if i % 3 == 1 else draw.polygon)(
            box if i % 3 != 2 else [(w * 0.5, h * 0.1), (w * 0.9, h * 0.9), (w * 0.1, h * 0.9)], fill=colour)
        path = folder / f"img_{i}.{'jpg' if i % 2 else 'png'}"
        img.save(path, quality=92) if i % 2 else img.save(path)
        paths.append(path)
    return paths


def fitted_classifier(images):
    """A tiny classifier whose head is fitted (least squares) to tell the images apart.

    Labels cycle 0, 1, 2, so the in-memory model predicts all three classes with clear
    margins and an exported format that disagrees shows up.
    """
    parts = build_classifier(CONFIG, num_classes=len(CLASSES))
    arrays = np.stack([load_image(p, SIZE) for p in images])
    features = np.asarray(parts.extractor(arrays, training=False), dtype=np.float64)
    targets = 6.0 * (np.eye(len(CLASSES))[np.arange(len(images)) % len(CLASSES)] - 1 / len(CLASSES))
    mean = features.mean(axis=0)
    design = np.hstack([features - mean, np.ones((len(images), 1))])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    kernel, bias = solution[:-1], solution[-1] - mean @ solution[:-1]
    parts.head.get_layer("predictions").set_weights([kernel.astype("float32"), bias.astype("float32")])
    return parts.model, arrays


def write_run(run_dir, model, arrays):
    """A run folder as tlcore.train writes it (model, labels, config, evaluation, data report)."""
    run_dir.mkdir(parents=True)
    model.save(run_dir / "model.keras")
    (run_dir / "labels.json").write_text(json.dumps(CLASSES, ensure_ascii=False), encoding="utf-8")
    (run_dir / "config.json").write_text(json.dumps(CONFIG.to_dict()), encoding="utf-8")
    probs = np.asarray(model(arrays, training=False))
    y_true = np.array([0, 1, 2, 0, 1, 1])  # one deliberate mistake: accuracy 5/6
    evaluation = evaluate_predictions(y_true, probs, CLASSES, [f"val/{i}.png" for i in range(len(y_true))])
    evaluation["split"] = "val"
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    report = {"source": "shapes.zip", "validation": "20% of each class", "classes": CLASSES,
              "counts": {"train": {"circle": 8, "café crème": 9, "square": 7}, "val": {c: 2 for c in CLASSES}},
              "skipped": [{"path": "notes.txt", "reason": "not an image"}], "duplicates": [], "leakage": [],
              "imbalance_ratio": 1.3, "warnings": ["Few images per class. Fix: add more."]}
    (run_dir / "data_report.json").write_text(json.dumps(report), encoding="utf-8")
    return evaluation


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
    assert set(paths) >= {"keras", "savedmodel", "savedmodel-zip", "tflite", "tflite-quant", "labels", "card"}
    export_dir = exported["run"] / "export"
    for key, name in [("keras", "model.keras"), ("tflite", "model.tflite"), ("tflite-quant", "model_quant.tflite"),
                      ("labels", "labels.json"), ("card", "model_card.md"), ("savedmodel-zip", "saved_model.zip")]:
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
    for text in ("VGG16", "block2_pool", "feature-extraction", "uint8", "83.3%", "café crème",
                 "precision", "recall", "Confusion matrix", "learning_rate", "Few images per class",
                 'keras.saving.load_model("model.keras")', 'tf.saved_model.load("saved_model")',
                 "model_quant.tflite", "resize_tensor_input", f"{SIZE} x {SIZE}"):
        assert text in card, text
    # the per-class table holds the sklearn numbers from evaluation.json
    square = exported["evaluation"]["report"]["square"]
    assert f"| square | {square['precision']:.4g} | {square['recall']:.4g} |" in card


def test_export_model_falls_back_to_a_fixed_tflite_input_size(exported, tmp_path, monkeypatch):
    from tlcore import export
    from tlcore.predict import load_predictor

    real_check = export._tflite_check

    def dynamic_fails(content, model, image_size, dynamic, quantized):
        if dynamic:
            raise ValueError("pretend dynamic shapes do not run")
        return real_check(content, model, image_size, dynamic, quantized)

    monkeypatch.setattr(export, "_tflite_check", dynamic_fails)
    paths = export.export_model(exported["model"], tmp_path, CLASSES, formats=["tflite"])
    assert set(paths) == {"tflite", "labels", "info", "card"}
    predictor = load_predictor(paths["tflite"])
    assert predictor.model.get_input_details()[0]["shape_signature"].tolist()[1:] == [SIZE, SIZE, 3]
    probs = predictor.predict_proba(exported["images"])
    np.testing.assert_array_equal(probs.argmax(axis=1), exported["expected"].argmax(axis=1))
    assert "fixed input size 64 x 64" in paths["card"].read_text(encoding="utf-8")


def test_export_refuses_bad_requests(exported, tmp_path, monkeypatch):
    from tlcore.export import export_model, export_run

    with pytest.raises(TLCoreError, match="Unknown export format 'onnx'"):
        export_model(exported["model"], tmp_path, CLASSES, formats=["onnx"])
    with pytest.raises(TLCoreError, match="3 outputs but 2 class names"):
        export_model(exported["model"], tmp_path, CLASSES[:2], formats=["keras"])
    with pytest.raises(TLCoreError, match="no model.keras"):
        (tmp_path / "unfinished").mkdir()
        export_run(tmp_path / "unfinished")

    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(TLCoreError, match="TensorFlow backend"):
        export_model(exported["model"], tmp_path / "jax", CLASSES, formats=["savedmodel"])
