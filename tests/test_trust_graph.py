"""The trusted model (tlcore.trust.graph): threshold and "I don't know" inside every exported model.

A two-class run is written through :class:`tlcore.runs.RunFolder` with a fitted head whose
probabilities spread over (0, 1), prototypes made of four of the pictures, and a saved
threshold and limits placed in wide gaps between the pictures' own numbers, so every
decision is clear-cut and a format that decides differently shows up. A real tiny training
run checks that what training writes exports and answers the same way.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from export_helpers import CONFIG, SIZE, make_images
from tlcore.images import load_image
from tlcore.runs import RunFolder
from tlcore.trust.settings import Trust

CLASSES = ["healthy", "sick"]  # positive: "sick"


def _fit_two_class_head(parts, arrays: np.ndarray, logit_gaps: np.ndarray) -> None:
    """Least squares: the head gives each picture the logit gap (sick minus healthy) asked for."""
    features = np.asarray(parts.extractor(arrays, training=False), dtype=np.float64)
    targets = np.stack([-logit_gaps / 2, logit_gaps / 2], axis=1)
    mean = features.mean(axis=0)
    design = np.hstack([features - mean, np.ones((len(arrays), 1))])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    kernel, bias = solution[:-1], solution[-1] - mean @ solution[:-1]
    parts.head.get_layer("predictions").set_weights([kernel.astype("float32"), bias.astype("float32")])


def _cut_in_widest_gap(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """The middle of the widest gap between sorted ``values`` inside (low, high), and the gap."""
    inside = np.sort(values[(values > low) & (values < high)])
    gaps = np.diff(inside)
    i = int(np.argmax(gaps))
    return float((inside[i] + inside[i + 1]) / 2), float(gaps[i])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tlcore.evaluate import evaluate_predictions
    from tlcore.export import export_run
    from tlcore.model import build_classifier
    from tlcore.trust.operating import figures_at

    import keras

    root = tmp_path_factory.mktemp("trust_graph")
    images = make_images(root, 12)
    keras.utils.set_random_seed(0)  # the random backbone's features, whatever ran before
    parts = build_classifier(CONFIG, num_classes=2)
    arrays = np.stack([load_image(p, SIZE) for p in images])
    # pictures 0-3 become the prototypes (never unlike): 0 and 1 unsure, 2 "sick" only at the
    # threshold below 0.5; the others confident, some of them unlike the prototypes
    _fit_two_class_head(parts, arrays, np.array([0.2, -0.3, -0.8, 2.5, -3, -2.2, -1.6, 1.4, 1.9, 2.6, 3.0, -2.6]))
    probs = np.asarray(parts.model(arrays, training=False), dtype=np.float64)
    features = np.asarray(parts.extractor(arrays, training=False), dtype=np.float64)
    units = features / np.linalg.norm(features, axis=1, keepdims=True)
    prototypes = units[:4]
    similarity = (units @ prototypes.T).max(axis=1)

    # limits in wide gaps, so float differences between runtimes cannot move a decision
    threshold, t_gap = _cut_in_widest_gap(probs[:, 1], 0.15, 0.45)  # below 0.5: differs from argmax
    sim_limit, s_gap = _cut_in_widest_gap(similarity, 0.0, 0.999)
    conf_limit, c_gap = _cut_in_widest_gap(probs.max(axis=1), 0.5, 0.75)
    assert min(t_gap, s_gap, c_gap) > 1e-3, (t_gap, s_gap, c_gap)
    trust = Trust(classes=CLASSES, temperature=1.25, positive_class="sick", threshold=threshold, rule="sensitivity",
                  target=0.9, strictness="normal", similarity_limit=sim_limit, confidence_limit=conf_limit,
                  num_prototypes=len(prototypes))

    run = root / "run"
    run.mkdir()
    folder = RunFolder(run)
    folder.save_model(parts.model)
    folder.write_labels(CLASSES)
    folder.write_config(CONFIG)
    labels = (probs[:, 1] >= 0.5).astype(int)
    evaluation = evaluate_predictions(labels, probs, CLASSES, [f"val/{i}.png" for i in range(len(images))],
                                      threshold=threshold)
    evaluation.update(split="val", operating_point={"positive_class": "sick", "threshold": threshold,
                                                    "val": figures_at(labels, probs[:, 1], threshold, CLASSES)},
                      calibration={"temperature": 1.25, "ece_before": 0.12, "ece_after": 0.04})
    folder.write_evaluation(evaluation)
    folder.write_trust(trust.to_dict())
    folder.write_prototypes(prototypes)
    paths = export_run(run, ["keras", "savedmodel", "tflite", "tflite-quant"])
    return {"run": run, "images": images, "paths": paths, "trust": trust, "probs": probs,
            "similarity": similarity, "parts": parts, "prototypes": prototypes, "evaluation": evaluation}


def test_the_exported_keras_file_loads_with_safe_mode(world):
    import keras

    from tlcore.safety import load_model_safely

    for model in (keras.saving.load_model(world["paths"]["keras"], safe_mode=True),
                  load_model_safely(world["paths"]["keras"])):
        out = model(np.stack([load_image(p, SIZE) for p in world["images"][:2]]), training=False)
        assert sorted(out) == ["positive", "probabilities", "similarity", "unknown"]
        assert out["probabilities"].shape == (2, 2) and out["unknown"].shape == (2, 1)


def test_the_graph_decides_as_numpy_does_from_the_same_numbers(world):
    from tlcore.predict import load_predictor

    trust, predictor = world["trust"], load_predictor(world["run"])
    assert predictor.trust == trust and predictor.kind == "keras"
    out = predictor.outputs(world["images"])
    probs, similarity = out["probabilities"], out["similarity"][:, 0]
    np.testing.assert_allclose(probs, world["probs"], atol=1e-5)  # the classifier's own probabilities
    np.testing.assert_allclose(similarity, world["similarity"], atol=1e-5)
    band = trust.unsure_band()  # two classes: unsure around the threshold
    unknown = (similarity < trust.similarity_limit) | ((probs[:, 1] > band[0]) & (probs[:, 1] < band[1]))
    positive = probs[:, 1] >= trust.threshold
    near_edge = np.min(np.abs(probs[:, [1]] - np.array(band)[None, :]), axis=1) < 1e-4
    assert near_edge.sum() <= 1
    unknown = np.where(near_edge, out["unknown"][:, 0] > 0.5, unknown)
    np.testing.assert_array_equal(out["unknown"][:, 0], unknown.astype(np.float32))  # exactly 0 or 1
    np.testing.assert_array_equal(out["positive"][:, 0], positive.astype(np.float32))
    decisions = trust.decide(probs, similarity)
    assert [d.unknown for d in decisions] == np.where(near_edge, [d.unknown for d in decisions], unknown).tolist()
    assert [d.guess for d in decisions] == [CLASSES[int(p)] for p in positive]
    # guards: both sides of each limit occur, and the threshold changes some answers
    unlike, unsure = trust.unknown_mask(probs, similarity)
    assert unlike.any() and (unsure & ~unlike).any() and (~unknown).sum() >= 3
    assert positive.any() and (~positive).any() and (positive != (probs.argmax(axis=1) == 1)).any()


def test_strictness_off_never_says_unknown_and_no_threshold_means_one_half(world):
    from tlcore.trust.graph import trusted_model

    parts, arrays = world["parts"], np.stack([load_image(p, SIZE) for p in world["images"]])
    off = Trust(classes=CLASSES, positive_class="sick", strictness="off", similarity_limit=0.99, confidence_limit=0.99)
    model = trusted_model(parts.model, off, world["prototypes"])
    out = model(arrays, training=False)
    np.testing.assert_array_equal(np.asarray(out["unknown"]), np.zeros((len(arrays), 1)))
    # nothing of the training pictures travels in a model that never says "I don't know"
    assert "similarity" not in out and all(layer.name != "prototype_similarity" for layer in model.layers)
    # no threshold saved: positive from 0.5, like argmax
    np.testing.assert_array_equal(np.asarray(out["positive"])[:, 0], (world["probs"][:, 1] >= 0.5).astype(np.float32))


def test_three_classes_have_no_positive_output():
    from tlcore.model import build_classifier
    from tlcore.trust.graph import graph_limits, trusted_model

    model = build_classifier(CONFIG, num_classes=3).model
    arrays = np.random.default_rng(0).integers(0, 256, (4, SIZE, SIZE, 3), dtype=np.uint8)
    trust = Trust(classes=["a", "b", "c"], strictness="lenient", similarity_limit=None, confidence_limit=0.9)
    trusted = trusted_model(model, trust, np.eye(1, 128, dtype=np.float32))  # block2_pool: 128 features
    out = trusted(arrays, training=False)
    assert sorted(out) == ["probabilities", "similarity", "unknown"]
    np.testing.assert_allclose(np.asarray(out["probabilities"]), np.asarray(model(arrays, training=False)))
    np.testing.assert_array_equal(np.asarray(out["unknown"])[:, 0],
                                  (np.asarray(out["probabilities"]).max(axis=1) < 0.9).astype(np.float32))
    assert graph_limits(trusted) == {"similarity_limit": None, "confidence_limit": pytest.approx(0.9),
                                     "unsure_band": None, "threshold": None, "positive_index": None}


@pytest.mark.parametrize("fmt", ["keras", "savedmodel", "tflite"])
def test_every_export_answers_as_the_app_at_the_saved_threshold(world, fmt):
    from tlcore.predict import load_predictor

    app = load_predictor(world["run"]).answer(world["images"])
    exported = load_predictor(world["paths"][fmt])
    assert exported.kind == fmt and exported.trust == world["trust"]
    answers = exported.answer(world["images"])
    assert [(a.label, a.unknown) for a in answers] == [(a.label, a.unknown) for a in app]
    assert [a.reason for a in answers] == [a.reason for a in app]
    np.testing.assert_allclose([a.similarity for a in answers], [a.similarity for a in app], atol=1e-4)
    assert {a.label for a in app} == {None, "healthy", "sick"}  # the guard: all three answers occur
    reasons = [a.reason for a in app if a.unknown]
    assert any("unlike every training picture" in r for r in reasons)
    assert any("unsure between" in r for r in reasons)


def test_the_8bit_model_carries_the_outputs_too(world):
    from tlcore.tflite import run_tflite, tflite_interpreter

    interpreter = tflite_interpreter(model_path=world["paths"]["tflite-quant"])
    out = run_tflite(interpreter, np.stack([load_image(p, SIZE) for p in world["images"]]), named=True)
    assert sorted(out) == ["positive", "probabilities", "similarity", "unknown"]
    assert set(np.unique(out["unknown"])) <= {0.0, 1.0}


def test_model_info_and_card_describe_the_outputs_and_settings(world):
    from tlcore.trust.intervals import with_interval

    info = json.loads(world["paths"]["info"].read_text(encoding="utf-8"))
    assert sorted(info["outputs"]) == ["positive", "probabilities", "similarity", "unknown"]
    assert info["outputs"]["unknown"]["shape"] == [None, 1] and "know" in info["outputs"]["unknown"]["meaning"]
    assert Trust.from_dict(info["trust"]) == world["trust"]
    inside = json.loads((world["paths"]["savedmodel"] / "model_info.json").read_text(encoding="utf-8"))
    assert inside["trust"] == info["trust"]
    card = world["paths"]["card"].read_text(encoding="utf-8")
    trust, figures = world["trust"], world["evaluation"]["operating_point"]["val"]
    for text in ("T = 1.250", "0.120 before, 0.040 after", f"at least {trust.threshold:.3f}", "strictness **normal**",
                 "get_signature_runner", 'out["unknown"][0, 0] > 0.5', "`positive`", "`similarity`",
                 with_interval(figures["sensitivity"], figures["sensitivity_ci"]),
                 with_interval(world["evaluation"]["accuracy"], world["evaluation"]["accuracy_ci"]),
                 "outputs named `probabilities`, `similarity`, `unknown`, `positive`"):
        assert text in card, text


def test_the_cli_prints_the_decision(world, capsys):
    from tlcore import cli
    from tlcore.predict import load_predictor

    images = [str(p) for p in world["images"]]
    assert cli.main(["predict", str(world["run"]), *images, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    app = load_predictor(world["run"]).answer(images)
    assert [r["decision"] for r in results] == [a.label for a in app]
    assert [r["unknown"] for r in results] == [a.unknown for a in app]
    assert all(isinstance(r["similarity"], float) and ("reason" in r) for r in results)
    assert cli.main(["predict", str(world["run"]), *images]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    for line, answer in zip(lines, app):
        assert line.split(": ", 1)[1].startswith("unknown — " if answer.unknown else f"{answer.label} ")


def test_a_plain_model_answers_with_its_top_class(world):
    from tlcore.predict import predictor_from_model

    predictor = predictor_from_model(world["parts"].model, CLASSES)
    assert predictor.trust is None
    answers = predictor.answer(world["images"], top_k=1)
    assert [a.label for a in answers] == [CLASSES[i] for i in world["probs"].argmax(axis=1)]
    assert not any(a.unknown for a in answers) and all(a.similarity is None for a in answers)
    assert [a.top[0][0] for a in answers] == [p[0][0] for p in predictor.predict(world["images"], top_k=1)]


def test_a_trained_run_exports_and_answers_alike(tmp_path, tiny_dataset):
    from tlcore.config import TrainConfig
    from tlcore.export import export_run
    from tlcore.predict import load_predictor
    from tlcore.train import train

    data = tmp_path / "two"
    for name in ("blue_checks", "red_stripes"):
        shutil.copytree(tiny_dataset / name, data / name)
    run = tmp_path / "run"
    train(TrainConfig(data=str(data), backbone="VGG16", layer="block2_pool", weights="none", image_size=32,
                      epochs=2, batch_size=8), run)
    assert RunFolder(run).trust() is not None and RunFolder(run).prototypes() is not None
    paths = export_run(run, ["tflite"])
    images = sorted(data.rglob("*.png"))[::3] + make_images(tmp_path, 3)
    app, lite = load_predictor(run), load_predictor(paths["tflite"])
    assert lite.trust == app.trust
    assert [(a.label, a.unknown) for a in lite.answer(images)] == [(a.label, a.unknown) for a in app.answer(images)]
    card = paths["card"].read_text(encoding="utf-8")
    assert "Expected calibration error on the validation split" in card and " % (" in card
