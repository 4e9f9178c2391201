"""The data check end to end on generated pictures: features from the cache, planted problems found,
the user's edits applied, and the check folder the app reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from tlcore.checks import CheckFolder, check_dataset
from tlcore.config import TrainConfig
from tlcore.data import Edit, add_edits
from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


@pytest.fixture
def planted(separable_dataset, tmp_path):
    """The separable set with two pictures moved to a wrong class folder and one copy of a
    picture saved, resized, into another class's folder."""
    root = tmp_path / "planted"
    shutil.copytree(separable_dataset, root)
    moved = []
    for src, dst in (("red_stripes/red_stripes_03.png", "blue_checks"), ("green_columns/green_columns_07.png", "red_stripes")):
        target = root / dst / Path(src).name
        shutil.move(root / src, target)
        moved.append(target.relative_to(root).as_posix())
    return root, moved


def _config(data, random_weights, **extra):
    return TrainConfig(data=str(data), weights=random_weights, layer="block_2_add", image_size=32, batch_size=16,
                       **extra)


def test_check_finds_planted_wrong_labels_and_reuses_cached_features(planted, random_weights, ws):
    root, moved = planted
    events = []
    first = check_dataset(_config(root, random_weights), workspace=ws, on_event=events.append).to_dict()
    assert first["num_images"] == 90 and first["classes"] == ["blue_checks", "green_columns", "red_stripes"]
    ranked = [s["path"] for s in first["labels"]["suspects"]]
    assert set(moved) <= set(ranked[:6]), ranked[:6]
    top = next(s for s in first["labels"]["suspects"] if s["path"] == moved[0])
    assert top["given"] == "blue_checks" and top["suggested"] == "red_stripes" and 0 < top["confidence"] <= 1
    assert any("labelled wrong" in f["problem"] for f in first["findings"])
    assert first["features_cached"] is False
    feature_batches = [e for e in events if e["type"] == "batch" and e["stage"] == "features"]
    assert feature_batches and feature_batches[-1]["images_done"] == feature_batches[-1]["images_total"]
    assert len(first["map"]["x"]) == 90 and len(first["curve"]["classes"]) == 3
    again = check_dataset(_config(root, random_weights), workspace=ws, curve=False, embedding=False).to_dict()
    assert again["features_cached"] is True and "curve" not in again and "map" not in again


def test_kept_pictures_leave_the_suspects_and_relabels_change_the_dataset(planted, random_weights, ws):
    root, moved = planted
    add_edits(str(root), [Edit(moved[0], "relabel", "red_stripes"), Edit(moved[1], "keep")], ws)
    from tlcore.data import load_edits

    edits = [e.to_dict() for e in load_edits(str(root), ws)]
    result = check_dataset(_config(root, random_weights, edits=edits), workspace=ws, curve=False,
                           embedding=False).to_dict()
    paths = [s["path"] for s in result["labels"]["suspects"]]
    assert moved[1] not in paths and moved[1] in result["labels"]["kept"]
    sample = next(s for s in result["samples"] if s["path"] == moved[0])
    assert sample["label"] == "red_stripes"  # the relabel applied; the file did not move
    assert (root / moved[0]).is_file()
    assert {e["path"] for e in result["edits"]} >= {moved[0]}


def test_a_class_too_small_for_the_folds_is_refused_with_a_fix(tmp_path, random_weights, ws):
    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i + (100 if name == "a" else 0), 20, 20)).save(tmp_path / "d" / name / f"{i}.png")
    with pytest.raises(TLCoreError) as err:
        check_dataset(_config(tmp_path / "d", random_weights, val_fraction=0.34), workspace=ws, folds=5)
    assert "too few" in str(err.value) and "Fix:" in str(err.value)


def test_check_folder_keeps_the_latest_result_per_dataset(tmp_path, ws):
    folder = CheckFolder(tmp_path / "data", ws)
    assert folder.result() is None
    folder.begin(TrainConfig(data=str(tmp_path / "data")))
    folder.write_result({"num_images": 3})
    assert CheckFolder(str(tmp_path / "data") + "/", ws).result() == {"num_images": 3}
    assert CheckFolder(tmp_path / "other", ws).result() is None
    assert folder.path.is_relative_to(ws.root)
