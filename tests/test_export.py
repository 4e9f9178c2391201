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


# ---------------------------------------------------------------- what may be shared (issue 10, items 4 and 9)
@pytest.fixture(scope="module")
def session_run(tmp_path_factory, tiny_dataset):
    """A run trained as the app trains one: a zip uploaded into a session workspace, then exported.

    The dataset is ``my_flowers.zip``; the run's settings point at the folder it was extracted
    to, inside ``<root>/sessions/<code>/datasets/``, as the Data page leaves them.
    """
    import uuid

    from tlcore.data import load_dataset
    from tlcore.export import export_run
    from tlcore.train import train
    from tlcore.workspace import Workspace

    code = "ws" + uuid.uuid4().hex  # a session code that cannot occur by chance
    ws = Workspace.for_session(code, root=tmp_path_factory.mktemp("server"))
    upload = ws.uploads_dir / "my_flowers.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for image in sorted(tiny_dataset.rglob("*.png")):
            zf.write(image, str(image.relative_to(tiny_dataset)))  # no top folder: only the zip has the name
    dataset = load_dataset(upload, workspace=ws)
    upload.unlink()  # the Data page removes the upload once it is extracted
    config = TrainConfig(data=str(dataset.root), data_name="my_flowers", backbone="VGG16", layer="block2_pool",
                         weights="none", image_size=32, epochs=3, batch_size=8)
    run_dir = ws.runs_dir / "20250101-000000-vgg16-fe"
    result = train(config, run_dir, workspace=ws)
    paths = export_run(run_dir)
    return {"code": code, "ws": ws, "run": run_dir, "paths": paths, "result": result, "dataset": dataset}


def _downloadable_files(run_dir):
    """``(name, bytes)`` of everything the Runs page offers for a run, zips also opened member by member."""
    from tlcore.export import shareable_run_config

    files = [("model.keras", (run_dir / "model.keras").read_bytes()),
             ("labels.json", (run_dir / "labels.json").read_bytes()),
             ("config.json (shareable)", shareable_run_config(run_dir))]
    files += [(str(p.relative_to(run_dir)), p.read_bytes()) for p in sorted((run_dir / "export").rglob("*"))
              if p.is_file()]
    opened = []
    for name, data in files:
        if data[:2] == b"PK":
            import io

            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                opened += [(f"{name}!{member}", zf.read(member)) for member in zf.namelist()]
    return files + opened


def test_no_downloadable_file_names_the_workspace_or_a_server_folder(session_run):
    run_dir, code, ws = session_run["run"], session_run["code"], session_run["ws"]
    files = _downloadable_files(run_dir)
    names = {name for name, _ in files}
    assert {"model.keras!config.json", "export/model_card.md", "export/config.json", "export/model_info.json",
            "export/saved_model.zip!saved_model/saved_model.pb", "export/model_quant.tflite"} <= names, names
    secrets = [code, str(ws.root), str(ws.root.parent), str(run_dir.resolve()),
               str(session_run["dataset"].root)]
    for name, data in files:
        for secret in secrets:
            for encoding in ("utf-8", "utf-16-le"):  # also as Windows-style wide text inside binaries
                assert secret.encode(encoding) not in data, f"{name} contains {secret!r}"
        assert b"/sessions/" not in data, name
    # ... while the dataset is named as the user named it
    card = (run_dir / "export" / "model_card.md").read_text(encoding="utf-8")
    assert "my_flowers" in card
    shared = json.loads((run_dir / "export" / "config.json").read_text(encoding="utf-8"))
    assert shared["data"] == "my_flowers" and shared["data_name"] == "my_flowers"
    assert shared["backbone"] == "VGG16" and shared["image_size"] == 32  # the rest of the settings is kept
    assert json.loads((run_dir / "export" / "model_info.json").read_text(encoding="utf-8"))["data"] == "my_flowers"


def test_the_dataset_name_comes_from_the_zip_when_no_name_was_given(session_run):
    from tlcore.export import shareable_config

    config = json.loads((session_run["run"] / "config.json").read_text(encoding="utf-8"))
    assert session_run["code"] in config["data"]  # the run's own settings keep the real folder (to reproduce it)
    config["data_name"] = None
    assert shareable_config(config)["data"] == "my_flowers"  # the zip's name, from the extraction marker
    del config["data_name"]  # a run made before data_name existed
    assert shareable_config(config)["data"] == "my_flowers"
    config = TrainConfig(data=f"/srv/app/sessions/{session_run['code']}", backbone_file="/home/me/My Net.keras",
                         weights="/srv/app/sessions/abc/uploads/w.h5")
    shared = shareable_config(config)
    assert shared["data"] == "dataset" and shared["backbone_file"] == "My Net.keras" and shared["weights"] == "w.h5"
    assert shareable_config(TrainConfig(data="/data/xrays.zip"))["data"] == "xrays"
    assert shareable_config(TrainConfig(data="/data/xrays/", weights="imagenet"))["weights"] == "imagenet"


def test_the_8bit_model_is_measured_against_the_float_model(session_run):
    from tlcore.export import export_accuracy

    accuracy = export_accuracy(session_run["run"])
    evaluation = session_run["result"].evaluation
    val = session_run["dataset"].split("val")
    assert accuracy is not None and accuracy["split"] == "val" and accuracy["images"] == len(val) > 0
    # the float model, measured again at export, scores what training's evaluation scored
    assert accuracy["float"] == pytest.approx(evaluation["accuracy"])
    assert 0 <= accuracy["tflite_int8"] <= 1 and 0 <= accuracy["disagree"] <= len(val)
    info = json.loads(session_run["paths"]["info"].read_text(encoding="utf-8"))
    assert info["accuracy"] == accuracy
    card = session_run["paths"]["card"].read_text(encoding="utf-8")
    line = (f"float: {100 * accuracy['float']:.1f} %, 8-bit TFLite: {100 * accuracy['tflite_int8']:.1f} % "
            f"on {len(val)} validation images")
    assert line in card
    assert "nearly as accurate" not in card


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


def test_the_features_table_names_no_server_folder(session_run, tmp_path):
    from tlcore.config import load_config
    from tlcore.features import featurize

    out = featurize(load_config(session_run["run"] / "config.json"), tmp_path / "features.parquet",
                    workspace=session_run["ws"])
    import pandas as pd

    assert session_run["code"].encode() not in out.read_bytes()
    frame = pd.read_parquet(out)  # the bytes may be compressed: the values too
    text_columns = [c for c in frame.columns if frame[c].dtype == object and c != "features"]
    assert not frame[text_columns].map(lambda v: session_run["code"] in str(v)).any().any()


def test_the_cards_data_report_keeps_its_sentences_but_no_server_folder():
    from tlcore.export import _shareable_report

    root = "/srv/app/sessions/Secret123/datasets/0f3a/my_flowers"
    report = {"source": "/srv/app/sessions/Secret123/uploads/my_flowers.zip", "root": root,
              "skipped": [{"path": "cats/notes.txt", "reason": "not an image"},
                          {"path": f"{root}/odd.png", "reason": "not a regular file"}],
              "warnings": ["The val folder has no usable images; add images to val/<class name>/ to choose them.",
                           f"Could not read {root}/dogs/3.png."]}
    shared = _shareable_report(report, None)
    assert shared["source"] == "my_flowers" and "root" not in shared
    assert shared["warnings"][0] == report["warnings"][0]  # a sentence with a slash is kept whole
    assert shared["warnings"][1] == "Could not read dogs/3.png."
    assert [s["path"] for s in shared["skipped"]] == ["cats/notes.txt", "odd.png"]
    assert "Secret123" not in json.dumps(shared) and "/srv" not in json.dumps(shared)


def test_a_workspace_code_left_in_any_setting_is_cut_from_the_shared_files(exported, tmp_path):
    from tlcore.export import export_model

    code = "Qx7secretCode42"
    where = f"/srv/app/sessions/{code}"
    config = dict(CONFIG.to_dict(), data=f"{where}/datasets/0f3a", fine_tune_from=f"layer named after {where}/x")
    report = {"source": f"{where}/uploads/shapes.zip", "root": f"{where}/datasets/0f3a",
              "warnings": [f"A note naming {where}/cache/features (made up)."]}
    paths = export_model(exported["model"], tmp_path, CLASSES, formats=["keras"],
                         card={"config": config, "data_report": report})
    for key in ("card", "info", "config"):
        text = paths[key].read_text(encoding="utf-8")
        assert code not in text and "/sessions/" not in text, (key, text)
    assert "A note naming cache/features (made up)." in paths["card"].read_text(encoding="utf-8")
