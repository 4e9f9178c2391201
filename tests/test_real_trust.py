"""Trust in a model trained with the real ImageNet MobileNetV2 on real photos and X-rays (real_data).

Calibration must lower the expected calibration error on held-out pictures; a threshold
chosen on validation for 95 % sensitivity must hold on the chest X-ray test folder within
reason, and the exported TFLite model must decide as the app does at it; a hymenoptera
model must answer "I don't know" for chest X-rays and generated shapes, and rarely for
its own validation photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tlcore.config import TrainConfig
from tlcore.export import export_run
from tlcore.predict import load_predictor
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.workspace import Workspace

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def _images(folder: Path, limit: int, step: int = 1) -> list[str]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif"))
    return [str(p) for p in files[::step][:limit]]


@pytest.fixture(scope="module")
def hymenoptera_run(hymenoptera_dir, real_keras_home, tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("hymenoptera_ws"))
    train(TrainConfig(data=str(hymenoptera_dir)), ws.runs_dir / "hymenoptera", workspace=ws)
    return ws.runs_dir / "hymenoptera"


@pytest.fixture(scope="module")
def chest_run(chest_xray_dir, real_keras_home, tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("chest_ws"))
    config = TrainConfig(data=str(chest_xray_dir), threshold_rule="sensitivity", threshold_target=0.95)
    train(config, ws.runs_dir / "chest", workspace=ws)
    return ws.runs_dir / "chest"


@pytest.mark.parametrize("which", ["hymenoptera_run", "chest_run"])
def test_calibration_lowers_the_calibration_error(which, request):
    calibration = RunFolder(request.getfixturevalue(which)).evaluation()["calibration"]
    print(f"{which}: T = {calibration['temperature']:.2f}; validation ECE {calibration['ece_before']:.3f} -> "
          f"{calibration['ece_after']:.3f} (cross-fitted)"
          + (f"; test ECE {calibration['test_ece_before']:.3f} -> {calibration['test_ece_after']:.3f}"
             if "test_ece_after" in calibration else ""))
    # The head kept the weights of its lowest validation loss, so on validation it starts near
    # calibrated; the held-out test folder is where temperature scaling has work to do.
    assert calibration["ece_after"] <= calibration["ece_before"] + 0.01
    if "test_ece_after" in calibration:
        assert calibration["test_ece_after"] < calibration["test_ece_before"]


def test_the_chest_operating_point_holds_and_tflite_decides_as_the_app(chest_run, tmp_path):
    evaluation = RunFolder(chest_run).evaluation()
    point = evaluation["operating_point"]
    val, test = point["val"], point["test"]
    print(f"chest_xray threshold {point['threshold']:.3f} (95 % sensitivity on validation; ROC AUC "
          f"{point['roc_auc']:.3f}): validation sensitivity {val['sensitivity']:.1%} specificity "
          f"{val['specificity']:.1%}; test sensitivity {test['sensitivity']:.1%} "
          f"({test['sensitivity_ci'][0]:.1%}–{test['sensitivity_ci'][1]:.1%}) specificity {test['specificity']:.1%}")
    assert val["sensitivity"] >= 0.95 and test["sensitivity"] >= 0.85

    paths = RunFolder(chest_run).predictions()["test"]["paths"][::8]  # 78 test X-rays of both classes
    exported = export_run(chest_run, ["tflite"], out_dir=tmp_path / "export")
    app = load_predictor(chest_run).answer(paths)
    tflite = load_predictor(exported["tflite"]).answer(paths)
    assert [a.label for a in tflite] == [a.label for a in app]
    assert [a.unknown for a in tflite] == [a.unknown for a in app]
    # and the app's answers are the saved evaluation's decisions at the threshold
    saved = RunFolder(chest_run).predictions()["test"]
    index = {p: i for i, p in enumerate(saved["paths"])}
    classes = evaluation["classes"]
    decided = [classes[int(saved["probabilities"][index[p]][1] >= point["threshold"])] for p in paths]
    assert [a.label for a in app if not a.unknown] == [d for d, a in zip(decided, app) if not a.unknown]


def test_the_hymenoptera_model_does_not_know_x_rays_or_shapes(hymenoptera_run, chest_xray_dir, shapes_dir):
    predictor = load_predictor(hymenoptera_run)
    evaluation = RunFolder(hymenoptera_run).evaluation()
    shares = {
        "chest X-rays": np.mean([a.unknown for a in predictor.answer(_images(chest_xray_dir / "test", 100, 6))]),
        "generated shapes": np.mean([a.unknown for a in predictor.answer(_images(shapes_dir, 100))]),
    }
    own = evaluation["unknown"]["share"]
    print(f"hymenoptera model answers \"I don't know\" for {shares['chest X-rays']:.0%} of chest X-rays, "
          f"{shares['generated shapes']:.0%} of generated shapes, {own:.1%} of its own validation photos "
          f"(accuracy on the rest {evaluation['unknown']['accuracy_known']:.1%}, all {evaluation['accuracy']:.1%})")
    assert shares["chest X-rays"] >= 0.9 and shares["generated shapes"] >= 0.8
    assert own <= 0.12
