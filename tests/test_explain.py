"""Grad-CAM (tlcore.explain): where the model looks, on hand-made and tiny trained models, offline."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image

from tlcore import Explanation, explain_images, explain_run
from tlcore.cli import main
from tlcore.config import TrainConfig
from tlcore.errors import TLCoreError
from tlcore.model import build_classifier
from tlcore.predict import load_predictor, predictor_from_model
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.workspace import Workspace

SIZE, CELL = 64, 8  # the hand-made backbone: one 8 x 8 px cell per feature-map position


def _brightness_backbone(path, *, pooled: bool = False) -> str:
    """A user's backbone file whose feature map is each cell's mean brightness (0-1), or its
    average over the picture (``pooled``: no spatial map left)."""
    inputs = keras.Input((SIZE, SIZE, 3))
    conv = keras.layers.Conv2D(1, CELL, strides=CELL, use_bias=False, name="cells")
    x = conv(inputs)
    conv.set_weights([np.full((CELL, CELL, 3, 1), 1 / (CELL * CELL * 3 * 255), "float32")])
    if pooled:
        x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, x).save(path)
    return str(path)


@pytest.fixture(scope="module")
def brightness(tmp_path_factory):
    """A classifier whose class "bright" scores the picture's brightness and "dark" its opposite:
    "bright" wins above a mean brightness of 0.03."""
    path = _brightness_backbone(tmp_path_factory.mktemp("backbone") / "cells.keras")
    model = build_classifier(TrainConfig(backbone_file=path, image_size=SIZE), 2).model
    model.get_layer("head").get_layer("predictions").set_weights(
        [np.array([[-10.0, 10.0]], "float32"), np.array([0.3, -0.3], "float32")])
    return predictor_from_model(model, ["dark", "bright"])


def _spot(row: int, col: int) -> np.ndarray:
    """A dark picture with one bright 8 x 8 px square at cell (row, col)."""
    image = np.full((SIZE, SIZE, 3), 10, np.uint8)
    image[row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL] = 250
    return image


def test_the_heatmap_finds_the_evidence_and_is_a_picture_sized_map_in_0_1(brightness):
    (explanation,) = explain_images(brightness, [_spot(5, 2)])
    assert isinstance(explanation, Explanation)
    assert explanation.class_name == "bright" and explanation.class_index == 1  # the predicted class
    assert explanation.probability == pytest.approx(brightness.predict_proba([_spot(5, 2)])[0, 1], abs=1e-5)
    heatmap = explanation.heatmap
    assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32
    assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0 and heatmap.max() > 0.8
    assert explanation.peak == (44, 20)  # the centre of cell (5, 2), in image pixels
    assert np.unravel_index(np.argmax(heatmap), heatmap.shape) in {(r, c) for r in (43, 44) for c in (19, 20)}
    assert heatmap[:CELL * 4].max() < 0.1  # far from the spot, the map is cold
    overlay = explanation.overlay
    assert overlay.shape == (SIZE, SIZE, 3) and overlay.dtype == np.uint8
    assert overlay[44, 20, 0] > overlay[44, 20, 2]  # red where the evidence is…
    assert overlay[5, 60, 2] > overlay[5, 60, 0]  # …blue where there is none


def test_a_class_with_no_evidence_gets_an_all_zero_map_not_nan(brightness):
    (explanation,) = explain_images(brightness, [_spot(1, 6)], class_name="dark")
    assert explanation.class_name == "dark" and explanation.class_index == 0
    assert not np.isnan(explanation.heatmap).any() and not explanation.heatmap.any()
    assert explanation.peak == (SIZE // 2, SIZE // 2)


def test_the_class_to_explain_can_be_chosen_or_be_the_top_classes(brightness, tmp_path):
    dark_picture = np.full((SIZE, SIZE, 3), 5, np.uint8)
    (predicted,) = explain_images(brightness, dark_picture)
    assert predicted.class_name == "dark"
    (chosen,) = explain_images(brightness, dark_picture, class_name="bright")
    assert chosen.class_name == "bright" and chosen.probability < 0.5
    path = tmp_path / "spot.png"
    Image.fromarray(_spot(2, 3)).save(path)
    first, second, third, fourth = explain_images(brightness, [str(path), dark_picture], top=2)
    assert [e.class_name for e in (first, second, third, fourth)] == ["bright", "dark", "dark", "bright"]
    assert first.probability >= second.probability and first.peak == (20, 28)


def test_an_unknown_class_name_names_the_valid_classes(brightness):
    with pytest.raises(TLCoreError, match=r"'cats' is not a class of this model.*dark, bright"):
        explain_images(brightness, [_spot(0, 0)], class_name="cats")


def test_a_backbone_without_a_spatial_feature_map_is_explained_and_how_to_fix_it(tmp_path):
    path = _brightness_backbone(tmp_path / "pooled.keras", pooled=True)
    model = build_classifier(TrainConfig(backbone_file=path, image_size=SIZE), 2).model
    with pytest.raises(TLCoreError, match=r"needs a spatial feature map.*Fix: .*cut at a convolutional layer"):
        explain_images(model, [_spot(0, 0)])


def test_a_model_that_is_not_a_tlcore_classifier_is_refused():
    inputs = keras.Input((8, 8, 3))
    other = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs)))
    with pytest.raises(TLCoreError, match="not laid out as a tlcore classifier"):
        explain_images(other, [np.zeros((8, 8, 3), np.uint8)])


# ---------------------------------------------------------------- trained runs


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("ws"))


def _run(name, ws, config) -> RunFolder:
    run = RunFolder(ws.runs_dir / name)
    assert train(config, run.path, workspace=ws).status == "finished"
    return run


@pytest.fixture(scope="module")
def feature_run(tiny_dataset, ws, random_weights) -> RunFolder:
    return _run("fe", ws, TrainConfig(data=str(tiny_dataset), weights=random_weights, image_size=48, epochs=1,
                                      batch_size=8))


def _check_run(run: RunFolder, images, size: int):
    explanations = explain_images(run.path, images)
    predictor = load_predictor(run.path)
    probs = predictor.predict_proba(images)
    assert [e.class_name for e in explanations] == [predictor.classes[i] for i in probs.argmax(axis=1)]
    for explanation, row in zip(explanations, probs):
        assert explanation.probability == pytest.approx(float(row.max()), abs=1e-4)
        assert explanation.heatmap.shape == (size, size) and explanation.overlay.shape == (size, size, 3)
        assert np.isfinite(explanation.heatmap).all() and explanation.heatmap.max() <= 1.0
    return explanations


def test_a_feature_extraction_run_is_explained_from_its_folder(feature_run, tiny_dataset):
    images = sorted(str(p) for p in tiny_dataset.rglob("*.png"))[:4]
    _check_run(feature_run, images, 48)


@pytest.mark.slow  # fine-tuning trains the top of the base on images: ~15 s here
def test_a_fine_tuned_run_is_explained(tiny_dataset, ws, random_weights):
    run = _run("ft", ws, TrainConfig(data=str(tiny_dataset), weights=random_weights, image_size=48, epochs=1,
                                     batch_size=8, mode="fine-tune", fine_tune_epochs=1, fine_tune_layers=5))
    assert run.config().mode == "fine-tune" and run.checkpoint_path.is_file()
    _check_run(run, sorted(str(p) for p in tiny_dataset.rglob("*.png"))[:3], 48)


def test_a_run_on_a_users_own_backbone_file_is_explained(tiny_dataset, ws, tmp_path):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv_a")(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv_b")(x)
    keras.Model(inputs, x).save(tmp_path / "mine.keras")
    run = _run("own", ws, TrainConfig(data=str(tiny_dataset), backbone_file=str(tmp_path / "mine.keras"),
                                      weights="none", image_size=32, epochs=1, batch_size=8))
    _check_run(run, sorted(str(p) for p in tiny_dataset.rglob("*.png"))[:3], 32)


# ---------------------------------------------------------------- files and the command line


def test_explain_run_writes_one_png_overlay_per_image(feature_run, tiny_dataset, tmp_path):
    images = sorted(str(p) for p in tiny_dataset.rglob("*.png"))[:2]
    written = explain_run(feature_run.path, images, tmp_path / "out", class_name="blue_checks")
    assert [p.parent for p in written] == [tmp_path / "out"] * 2
    for path in written:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (48, 48) and image.mode == "RGB"


def test_cli_writes_overlays_into_out_reports_bad_files_and_writes_nothing_else(feature_run, tiny_dataset,
                                                                               tmp_path, capsys):
    good = sorted(str(p) for p in (tiny_dataset / "red_stripes").glob("*.png"))[:2]
    bad = tmp_path / "in" / "notes.png"
    bad.parent.mkdir()
    bad.write_text("not a picture")
    out = tmp_path / "nested" / "out"
    status = main(["explain", str(feature_run.path), *good, str(bad), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2  # something failed: the bad file
    assert "notes.png" in captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}_gradcam.png" for name in
                                                           ("red_stripes_00", "red_stripes_01"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "nested"]
    assert sorted(p.name for p in bad.parent.iterdir()) == ["notes.png"]
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2
    classes = feature_run.labels()
    for path, line in zip(good, lines):
        assert line.startswith(f"{path}: ") and "%" in line and str(out) in line
        assert line.split(": ")[1].split()[0] in classes

    assert main(["explain", str(feature_run.path), good[0], "--out", str(out), "--class", "green_columns",
                 "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["class"] == "green_columns" and 0 <= result["probability"] <= 1
    assert result["output"] == str(out / "red_stripes_00_gradcam.png")


def test_cli_wrong_class_is_a_user_error_naming_the_classes(feature_run, tiny_dataset, tmp_path, capsys):
    image = str(next((tiny_dataset / "red_stripes").glob("*.png")))
    assert main(["explain", str(feature_run.path), image, "--out", str(tmp_path / "out"), "--class", "dogs"]) == 2
    err = capsys.readouterr().err
    assert "'dogs' is not a class" in err and "blue_checks, green_columns, red_stripes" in err
    assert not (tmp_path / "out").exists()


def test_the_page_helper_returns_an_overlay_or_none(feature_run, tiny_dataset):
    from ui.explain import heatmap_overlay

    content = next((tiny_dataset / "red_stripes").glob("*.png")).read_bytes()
    stamp = feature_run.model_path.stat().st_mtime
    overlay = heatmap_overlay(str(feature_run.path), stamp, content, "a.png", None)
    assert overlay.shape == (48, 48, 3) and overlay.dtype == np.uint8
    assert heatmap_overlay(str(feature_run.path), stamp, b"not a picture", "b.png", None) is None
