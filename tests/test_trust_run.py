"""A trained run's trust: what training writes, and changing the threshold and strictness afterwards."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tlcore import cli
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.predict import load_predictor
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.trust.run import load_trust, operating_figures, set_operating_point
from tlcore.workspace import Workspace


@pytest.fixture(scope="module")
def two_class_run(separable_dataset, random_weights, tmp_path_factory):
    """A two-class run on early features of a random MobileNetV2 (the classes are told apart by colour)."""
    root = tmp_path_factory.mktemp("two_class")
    data = root / "data"
    for name in sorted(p.name for p in separable_dataset.iterdir())[:2]:
        shutil.copytree(separable_dataset / name, data / name)
    ws = Workspace(root / "ws")
    config = TrainConfig(data=str(data), weights=random_weights, layer="block_2_add", image_size=32, epochs=15,
                         batch_size=8, learning_rate=1e-2, threshold_rule="sensitivity", threshold_target=0.9)
    train(config, ws.runs_dir / "run", workspace=ws)
    return ws.runs_dir / "run"


def test_training_writes_calibration_threshold_and_unknown(two_class_run):
    folder = RunFolder(two_class_run)
    evaluation, trust, predictions = folder.evaluation(), folder.trust(), folder.predictions()
    prototypes = folder.prototypes()
    assert trust["rule"] == "sensitivity" and 0 < trust["threshold"] < 1 and trust["strictness"] == "normal"
    assert prototypes.shape[0] == trust["num_prototypes"] == 48  # every training picture (60 - 12 for validation)
    assert len(predictions["val"]["labels"]) == evaluation["num_images"] == 12
    calibration = evaluation["calibration"]
    assert calibration["temperature"] > 0 and 0 <= calibration["ece_after"] <= 1
    assert evaluation["accuracy_ci"][0] <= evaluation["accuracy"] <= evaluation["accuracy_ci"][1]
    assert evaluation["operating_point"]["val"]["sensitivity"] >= 0.9
    assert evaluation["threshold"] == trust["threshold"] and "unknown" in evaluation
    # the saved model gives the calibrated probabilities that were saved
    paths = predictions["val"]["paths"]
    probs = load_predictor(two_class_run).predict_proba(paths)
    assert np.allclose(probs, predictions["val"]["probabilities"], atol=1e-4)


def test_a_new_threshold_changes_what_predict_the_figures_and_a_replay_use(two_class_run):
    folder = RunFolder(two_class_run)
    paths = folder.predictions()["val"]["paths"]
    probs = np.asarray(folder.predictions()["val"]["probabilities"])
    cut = float(np.median(probs[:, 1]))
    trust = set_operating_point(two_class_run, threshold=cut, strictness="off")
    assert trust.rule == "manual" and trust.threshold == cut and trust.similarity_limit is None
    answers = load_predictor(two_class_run).answer(paths)
    classes = trust.classes
    assert [a.label for a in answers] == [classes[int(p[1] >= cut)] for p in probs]
    assert not any(a.unknown for a in answers)
    evaluation = folder.evaluation()
    assert evaluation["threshold"] == cut and evaluation["operating_point"]["threshold"] == cut
    assert "calibration" in evaluation  # what the threshold does not change is kept
    config = folder.config()
    assert (config.threshold_rule, config.threshold_value, config.unknown_strictness) == ("manual", cut, "off")
    live = operating_figures(two_class_run, "val", threshold=0.5)
    assert live["threshold"] == 0.5 and live["curves"]["roc"]["auc"] >= 0
    trust = set_operating_point(two_class_run, rule="balanced", strictness="strict")
    assert trust.rule == "balanced" and trust.similarity_limit is not None and folder.config().threshold_value is None


def test_a_strictness_preview_saves_nothing(two_class_run):
    from tlcore.trust.run import unknown_preview

    before = RunFolder(two_class_run).trust()
    preview = {name: unknown_preview(two_class_run, name) for name in ("off", "strict")}
    assert RunFolder(two_class_run).trust() == before
    assert preview["off"]["val"]["count"] == 0 and preview["off"]["similarity_limit"] is None
    assert preview["strict"]["val"]["count"] >= preview["off"]["val"]["count"]


def test_bad_operating_points_are_plain_errors(two_class_run, tmp_path, capsys):
    with pytest.raises(TLCoreError, match="between 0 and 1"):
        set_operating_point(two_class_run, threshold=1.5)
    with pytest.raises(TLCoreError, match="Unknown strictness"):
        set_operating_point(two_class_run, strictness="paranoid")
    old = tmp_path / "old"
    shutil.copytree(two_class_run, old)
    RunFolder(old).trust_path.unlink()
    with pytest.raises(TLCoreError, match="trained before"):
        set_operating_point(old, rule="balanced")
    assert load_trust(old) == (None, None)
    assert cli.main(["threshold", str(old)]) == 2
    assert "trained before" in capsys.readouterr().err
    damaged = tmp_path / "damaged"
    shutil.copytree(two_class_run, damaged)
    RunFolder(damaged).prototypes_path.write_bytes(b"\x93NUMPY pickled rubbish")
    with pytest.raises(TLCoreError, match="prototypes.npy is missing or damaged"):
        load_predictor(damaged)


def test_the_threshold_command_shows_and_sets(two_class_run, capsys):
    assert cli.main(["threshold", str(two_class_run), "--rule", "sensitivity", "--target", "0.95"]) == 0
    out = capsys.readouterr().out
    assert "Validation at" in out and "sensitivity" in out and "Saved." in out
    assert cli.main(["threshold", str(two_class_run), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["trust"]["rule"] == "sensitivity" and shown["trust"]["target"] == 0.95
    assert cli.main(["evaluate", str(two_class_run)]) == 0
    assert "Calibration: temperature" in capsys.readouterr().out


@pytest.mark.slow
def test_a_fine_tuned_run_learns_its_prototypes_from_the_fine_tuned_backbone(tiny_dataset, random_weights, tmp_path,
                                                                              monkeypatch):
    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(tiny_dataset), weights=random_weights, image_size=48, epochs=2, batch_size=8,
                         mode="fine-tune", fine_tune_epochs=2, fine_tune_learning_rate=1e-3)
    from tlcore.train import fine_tuning

    real = fine_tuning.fine_tune_verdict
    monkeypatch.setattr(fine_tuning, "fine_tune_verdict", lambda *a: (True, real(*a)[1]))
    train(config, ws.runs_dir / "ft", workspace=ws)
    folder = RunFolder(ws.runs_dir / "ft")
    assert folder.evaluation()["fine_tune"]["kept"] == "fine-tuned"
    predictions = folder.predictions()
    answers = load_predictor(folder.path).answer(predictions["val"]["paths"])
    # similarities measured now, with the fine-tuned backbone, are those training saved
    assert np.allclose([a.similarity for a in answers], predictions["val"]["similarity"], atol=1e-3)
