"""The user's edits on top of a dataset (tlcore/data/edits.py and how load_dataset applies them)."""

from __future__ import annotations

import json

import pytest
from data_helpers import _classes, default_limits  # noqa: F401  (autouse fixture)

from tlcore.config import TrainConfig, load_config, save_config
from tlcore.data import (
    Edit,
    add_edits,
    clear_edits,
    edits_file,
    load_dataset,
    load_edits,
    undo_edit,
)
from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


@pytest.fixture
def data(tmp_path):
    return _classes(tmp_path / "pets", {"cats": 6, "dogs": 6, "birds": 4})


# --------------------------------------------------------------------------- the edits file
def test_edits_are_kept_in_the_workspace_per_dataset(data, ws, tmp_path):
    assert load_edits(data, ws) == []
    edits = add_edits(data, [Edit("cats/000.png", "relabel", "dogs"), {"path": "./dogs/001.png", "action": "exclude"}],
                      ws)
    assert edits == [Edit("cats/000.png", "relabel", "dogs"), Edit("dogs/001.png", "exclude")]
    path = edits_file(data, ws)
    assert path.parent == ws.root / "edits" and len(path.stem) == 16
    stored = json.loads(path.read_text())
    assert stored["data"] == str(data.resolve()) and stored["history"] == [[]]
    assert stored["edits"][0] == {"path": "cats/000.png", "action": "relabel", "label": "dogs"}
    assert load_edits(str(data), ws) == edits  # the same dataset however its path is spelled
    assert load_edits(tmp_path / "other", ws) == []


def test_a_later_decision_replaces_the_earlier_and_undo_restores_each_step(data, ws):
    add_edits(data, [Edit("cats/000.png", "relabel", "dogs")], ws)
    add_edits(data, [Edit("cats/000.png", "keep"), Edit("cats/001.png", "exclude"), Edit("cats/002.png", "exclude")], ws)
    assert load_edits(data, ws) == [Edit("cats/000.png", "keep"), Edit("cats/001.png", "exclude"),
                                    Edit("cats/002.png", "exclude")]
    assert undo_edit(data, ws) == [Edit("cats/000.png", "relabel", "dogs")]  # all three at once
    assert undo_edit(data, ws) == [] and undo_edit(data, ws) == []  # nothing left to undo


def test_clear_is_one_undo_step(data, ws):
    add_edits(data, [Edit("cats/000.png", "exclude")], ws)
    assert clear_edits(data, ws) == [] and load_edits(data, ws) == []
    assert undo_edit(data, ws) == [Edit("cats/000.png", "exclude")]


@pytest.mark.parametrize("value,words", [
    ({"path": "cats/000.png", "action": "delete"}, ["'delete'", "relabel", "exclude", "keep"]),
    ({"path": "cats/000.png", "action": "relabel"}, ["names no class"]),
    ({"path": "", "action": "exclude"}, ["no image path"]),
    ("cats/000.png", ["not an edit"]),
    ({"path": "cats/000.png", "action": "exclude", "colour": "red"}, ["not an edit"]),
])
def test_a_bad_edit_is_refused_with_a_fix(data, ws, value, words):
    with pytest.raises(TLCoreError) as err:
        add_edits(data, [value], ws)
    for word in words:
        assert word in str(err.value)
    assert "Fix:" in str(err.value)
    assert load_edits(data, ws) == []


# --------------------------------------------------------------------------- applying them
def test_edits_relabel_exclude_and_keep_without_touching_the_files(data):
    before = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    plain = load_dataset(data, val_fraction=0)
    edits = [Edit("cats/000.png", "relabel", "dogs"), Edit("cats/001.png", "relabel", "birds"),
             Edit("dogs/000.png", "exclude"), Edit("birds/000.png", "keep")]
    dataset = load_dataset(data, val_fraction=0, edits=edits)
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png")) == before
    label = {s.path: dataset.classes[s.label] for s in dataset.samples}
    assert label[str(data / "cats/000.png")] == "dogs" and label[str(data / "cats/001.png")] == "birds"
    assert str(data / "dogs/000.png") not in label and label[str(data / "birds/000.png")] == "birds"
    assert dataset.report.counts["train"] == {"birds": 5, "cats": 4, "dogs": 6}
    assert dataset.report.edits[0] == {"path": "cats/000.png", "action": "relabel", "label": "dogs", "from": "cats"}
    assert len(dataset.report.edits) == 4
    finding = next(w for w in dataset.report.warnings if "of your changes" in w.problem)
    assert finding.problem == "3 of your changes are applied: 2 relabelled, 1 excluded (your files are unchanged)"
    assert dataset.fingerprint() != plain.fingerprint()  # the feature cache sees the new labels
    assert "Your changes applied: 4" in dataset.report.to_text()


def test_a_relabel_to_an_unknown_class_names_it_and_the_known_ones(data):
    with pytest.raises(TLCoreError) as err:
        load_dataset(data, edits=[{"path": "cats/000.png", "action": "relabel", "label": "horses"}])
    message = str(err.value)
    assert "'horses'" in message and "'birds', 'cats', 'dogs'" in message and "Fix:" in message


def test_an_edit_of_a_file_no_longer_there_is_ignored_with_a_finding(data):
    dataset = load_dataset(data, edits=[Edit("cats/gone.png", "exclude")])
    assert dataset.report.edits == [] and dataset.num_classes == 3
    finding = next(w for w in dataset.report.warnings if "no longer in the dataset" in w.problem)
    assert finding.paths == ("cats/gone.png",)


def test_excluding_a_whole_class_is_refused_as_an_empty_class(data):
    edits = [Edit(f"birds/{i:03d}.png", "exclude") for i in range(4)]
    with pytest.raises(TLCoreError, match="'birds' has no usable images"):
        load_dataset(data, edits=edits)


# --------------------------------------------------------------------------- the settings
def test_group_by_and_edits_round_trip_through_config_json(tmp_path):
    config = TrainConfig(data="d", group_by=r"^(patient\d+)_",
                         edits=[{"path": "a/1.png", "action": "relabel", "label": "b"}, {"path": "a/2.png",
                                                                                           "action": "exclude"}])
    save_config(config.validate(), tmp_path / "config.json")
    again = load_config(tmp_path / "config.json")
    assert again == config and again.group_by == r"^(patient\d+)_"
    assert again.edits[1] == {"path": "a/2.png", "action": "exclude", "label": None}
    assert TrainConfig().edits == [] and TrainConfig().edits is not TrainConfig().edits
    assert TrainConfig().group_by == "auto"


@pytest.mark.parametrize("edits", [[{"path": "a/1.png", "action": "rename"}], "a/1.png", [{"action": "keep"}]])
def test_bad_edits_in_a_config_are_refused(tmp_path, edits):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": "d", "edits": edits}))
    with pytest.raises(TLCoreError, match="Fix:"):
        load_config(path)
    with pytest.raises(TLCoreError):
        TrainConfig(edits=edits).validate()
