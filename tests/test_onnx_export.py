"""ONNX export (tlcore.export.onnx_export): the file answers like the Keras model, or is never written.

Fast tests use the small fitted classifiers of ``export_helpers`` and ``onnx_helpers``; the
``real_data`` test trains a real MobileNetV2 run on hymenoptera and compares ONNX Runtime
with Keras on every validation photo.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from export_helpers import CLASSES, CONFIG, SIZE, fitted_classifier, make_images, write_run
from onnx_helpers import TWO_CLASSES, trusted_two_class
from tlcore.errors import TLCoreError


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    images = make_images(tmp_path_factory.mktemp("onnx"))
    model, arrays = fitted_classifier(images)
    return {"model": model, "images": images, "arrays": arrays,
            "expected": np.asarray(model(arrays, training=False))}


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    from tlcore.export import export_model

    root = tmp_path_factory.mktemp("onnx_trusted")
    world = trusted_two_class(root)
    paths = export_model(world["model"], root / "export", TWO_CLASSES, formats=["keras", "onnx"],
                         trust=world["trust"], prototypes=world["prototypes"])
    return {**world, "paths": paths}


def test_a_dynamic_onnx_file_runs_any_size_like_keras(classifier):
    from tlcore.export.onnx_export import check_onnx, convert_onnx, onnx_session, run_onnx

    content = convert_onnx(classifier["model"])
    assert check_onnx(content, classifier["model"], SIZE, dynamic=True) < 1e-3  # noise at an odd size
    session = onnx_session(content)
    (inp,) = session.get_inputs()
    assert inp.name == "image" and inp.type == "tensor(uint8)" and not isinstance(inp.shape[1], int)
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    for shape in [(1, SIZE, SIZE, 3), (3, SIZE + 5, SIZE - 9, 3), (1, 300, 41, 3)]:
        batch = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
        got = run_onnx(session, batch)["probabilities"]
        # pixel noise resized by ONNX's Resize and TensorFlow's: equal up to float rounding
        np.testing.assert_allclose(got, np.asarray(classifier["model"](batch, training=False)), atol=1e-3)
    # the pictures, at their training size as the app gives them: the same answers
    got = run_onnx(session, classifier["arrays"])["probabilities"]
    np.testing.assert_allclose(got, classifier["expected"], atol=1e-4)
    np.testing.assert_array_equal(got.argmax(axis=1), classifier["expected"].argmax(axis=1))
    assert sorted(set(got.argmax(axis=1).tolist())) == [0, 1, 2]  # guards: agreement on one class proves nothing


def test_the_check_fails_for_a_file_that_answers_differently(classifier):
    from tlcore.export.onnx_export import check_onnx, convert_onnx
    from tlcore.model import build_classifier

    content = convert_onnx(classifier["model"])
    other = build_classifier(CONFIG, num_classes=len(CLASSES)).model  # an untouched head
    with pytest.raises(ValueError, match="differs from Keras"):
        check_onnx(content, other, SIZE, dynamic=True)
    with pytest.raises(Exception):  # not an ONNX file at all
        check_onnx(b"not a model", classifier["model"], SIZE, dynamic=True)


def test_export_writes_model_onnx_and_says_how_to_use_it(classifier, tmp_path):
    from tlcore.export import export_model

    paths = export_model(classifier["model"], tmp_path, CLASSES, formats=["onnx"], card={"name": "shapes-run"})
    assert set(paths) == {"onnx", "labels", "info", "card"} and paths["onnx"] == tmp_path / "model.onnx"
    info = json.loads(paths["info"].read_text(encoding="utf-8"))
    assert info["onnx_input"] == "dynamic"
    card = paths["card"].read_text(encoding="utf-8")
    for text in ('ort.InferenceSession("model.onnx")', "### ONNX (`model.onnx`)", "ONNX: any input size",
                 "`model.onnx`: ONNX model"):
        assert text in card, text
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_export_falls_back_to_the_fixed_training_size(classifier, tmp_path, monkeypatch):
    from tlcore.export import export_model, onnx_export

    real_check = onnx_export.check_onnx

    def dynamic_fails(content, model, image_size, dynamic):
        if dynamic:
            raise ValueError("pretend dynamic shapes do not run")
        return real_check(content, model, image_size, dynamic)

    monkeypatch.setattr(onnx_export, "check_onnx", dynamic_fails)
    paths = export_model(classifier["model"], tmp_path, CLASSES, formats=["onnx"])
    session = onnx_export.onnx_session(paths["onnx"].read_bytes())
    assert session.get_inputs()[0].shape[1:] == [SIZE, SIZE, 3]
    got = onnx_export.run_onnx(session, classifier["arrays"])["probabilities"]
    np.testing.assert_allclose(got, classifier["expected"], atol=1e-4)
    assert json.loads(paths["info"].read_text(encoding="utf-8"))["onnx_input"] == "fixed"
    assert "ONNX: fixed input size 64 x 64" in paths["card"].read_text(encoding="utf-8")


def test_a_conversion_that_never_agrees_is_refused_and_not_written(classifier, tmp_path, monkeypatch):
    from tlcore.export import export_model, onnx_export

    def never(content, model, image_size, dynamic):
        raise ValueError("ONNX output 'probabilities' differs from Keras by 0.5")

    monkeypatch.setattr(onnx_export, "check_onnx", never)
    with pytest.raises(TLCoreError, match="does not answer like the Keras model.*no ONNX file was written"):
        export_model(classifier["model"], tmp_path, CLASSES, formats=["onnx"])
    assert not (tmp_path / "model.onnx").exists()
    with pytest.raises(TLCoreError, match="training size is unknown"):
        onnx_export.export_onnx(classifier["model"], None)


def test_the_trusted_model_decides_in_onnx_as_the_app(trusted):
    from tlcore.export.onnx_export import onnx_session, run_onnx
    from tlcore.predict import load_predictor

    session = onnx_session(trusted["paths"]["onnx"].read_bytes())
    assert sorted(o.name for o in session.get_outputs()) == ["positive", "probabilities", "similarity", "unknown"]
    predictor = load_predictor(trusted["paths"]["keras"])
    want = predictor.outputs(trusted["images"])
    got = run_onnx(session, np.stack([predictor.image_array(p) for p in trusted["images"]]))
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-4)
    np.testing.assert_allclose(got["similarity"], want["similarity"], atol=1e-4)
    np.testing.assert_array_equal(got["unknown"], want["unknown"])  # the limits lie in wide gaps
    np.testing.assert_array_equal(got["positive"], want["positive"])
    # guards: both answers and "I don't know" occur, and the threshold (below 0.5) changes an answer
    assert set(want["unknown"][:, 0].tolist()) == {0.0, 1.0}
    answered = want["unknown"][:, 0] == 0
    assert set(want["positive"][answered, 0].tolist()) == {0.0, 1.0}
    assert np.any((want["positive"][:, 0] == 1) & (want["probabilities"][:, 1] < 0.5))


def test_onnx_is_a_format_of_the_cli(tmp_path, classifier):
    from tlcore.cli import main

    run = tmp_path / "run"
    write_run(run, classifier["model"], classifier["arrays"])
    assert main(["export", str(run), "--format", "onnx"]) == 0
    assert (run / "export" / "model.onnx").is_file() and not (run / "export" / "web").exists()


# ---------------------------------------------------------------------------- real photos


@pytest.fixture(scope="module")
def hymenoptera_run(hymenoptera_dir, real_keras_home, tmp_path_factory):
    from tlcore.config import TrainConfig
    from tlcore.train import train
    from tlcore.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("onnx_hymenoptera_ws"))
    run = ws.runs_dir / "hymenoptera"
    train(TrainConfig(data=str(hymenoptera_dir)), run, workspace=ws)
    return run


@pytest.mark.real_data
@pytest.mark.slow
def test_onnx_answers_like_keras_on_every_hymenoptera_validation_photo(hymenoptera_run):
    from tlcore.export import export_run
    from tlcore.export.accuracy import validation_images
    from tlcore.export.onnx_export import onnx_session, run_onnx
    from tlcore.predict import load_predictor
    from tlcore.runs import RunFolder

    folder = RunFolder(hymenoptera_run)
    paths = export_run(hymenoptera_run, ["onnx"])
    val = validation_images(folder.path, folder.config_dict(), folder.labels(), folder.evaluation())
    assert len(val.get("paths", [])) > 100, val
    predictor = load_predictor(hymenoptera_run)  # the .keras model as the app runs it (trusted when the run is)
    session = onnx_session(paths["onnx"].read_bytes())
    worst, top_keras, top_onnx, unknown_differ = 0.0, [], [], 0
    for start in range(0, len(val["paths"]), 32):
        batch = np.stack([predictor.image_array(p) for p in val["paths"][start:start + 32]])
        want, got = predictor._run(batch), run_onnx(session, batch)
        worst = max(worst, float(np.max(np.abs(got["probabilities"] - want["probabilities"]))))
        top_keras += want["probabilities"].argmax(axis=1).tolist()
        top_onnx += got["probabilities"].argmax(axis=1).tolist()
        if "unknown" in want:
            unknown_differ += int(np.sum((got["unknown"] >= 0.5) != (want["unknown"] >= 0.5)))
    accuracy = float(np.mean(np.array(top_keras) == np.array(val["labels"])))
    print(f"hymenoptera val: {len(top_keras)} photos, ONNX vs Keras max probability difference {worst:.2e}; "
          f"top class equal on all: {top_keras == top_onnx}; accuracy {accuracy:.1%}; "
          f"'I don't know' differs on {unknown_differ}; model.onnx {paths['onnx'].stat().st_size / 1e6:.1f} MB")
    assert top_onnx == top_keras
    assert worst < 1e-3
    assert unknown_differ <= 1  # a photo within float noise of a limit may fall either side
    assert accuracy > 0.8  # guards: a real model, not one that answers one class
