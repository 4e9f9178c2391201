"""The Data page's deep check as a user meets it (AppTest): its results, a relabel that the next run
uses, undo, a bad subject pattern, and the Evaluate page's warning beside the scores."""

from __future__ import annotations

import json

import pytest

from test_pages import PAGES, assert_clean, env, open_page, select_dataset, shown, texts, write_run  # noqa: F401  (env: a fixture)
from conftest import _write_tiny_dataset
from tlcore.checks import CheckFolder, check_dataset
from tlcore.config import TrainConfig
from tlcore.data import load_edits
from tlcore.runs import RunFolder
from tlcore.workspace import Workspace

PLANTED = "blue_checks/red_stripes_03.png"  # a red-stripes picture in the blue-checks folder


@pytest.fixture
def checked(env, random_weights):
    """A generated dataset with one picture saved in the wrong class folder, chosen on the Data page,
    and a finished check of it in the session's workspace."""
    (env["data_root"] / "tiny").mkdir(parents=True)
    root = _write_tiny_dataset(env["data_root"] / "tiny", 30, seed=7)
    (root / "red_stripes" / "red_stripes_03.png").rename(root / PLANTED)
    data = str(root.resolve())
    env["session_dir"].mkdir(parents=True, exist_ok=True)
    (env["session_dir"] / "app_state.json").write_text(json.dumps(
        {"dataset": data, "dataset_name": "tiny", "config": {"data": data}}))
    ws = Workspace(env["session_dir"])
    config = TrainConfig(data=data, weights=random_weights, layer="block_2_add", image_size=32)
    result = check_dataset(config, workspace=ws).to_dict()
    folder = CheckFolder(data, ws)
    folder.begin(config)
    folder.write_result(result)
    folder.log_status("finished", "Done.")
    return {"data": data, "ws": ws, "result": result, "folder": folder}


def test_the_check_results_show_in_tabs_with_a_button_for_each_decision(checked):
    at = open_page(PAGES[0])
    assert_clean(at)
    assert at.button(key="check_start").label == "Check again"
    titles = [t.label for t in at.tabs]
    assert any(t.startswith("Wrong labels?") for t in titles) and "Map" in titles
    assert any(m.label == "Pictures checked" and str(m.value) == "90" for m in at.metric)


def test_a_relabel_is_kept_and_the_train_page_says_the_run_uses_it(checked):
    first = next(s for s in checked["result"]["labels"]["suspects"] if s["path"] == PLANTED)
    assert (first["given"], first["suggested"]) == ("blue_checks", "red_stripes")
    at = open_page(PAGES[0])
    button = next(b for b in at.button if b.key == f"sus_relabel_{first['path']}")
    button.click().run()
    assert_clean(at)
    edits = [e.to_dict() for e in load_edits(checked["data"], checked["ws"])]
    assert edits == [{"path": first["path"], "action": "relabel", "label": first["suggested"]}]
    assert "differ from the ones this check saw" in texts(at)
    train = open_page(PAGES[2])
    assert_clean(train)
    assert "1 relabelled" in texts(train)
    back = open_page(PAGES[0])
    back.button(key="edits_undo").click().run()
    assert load_edits(checked["data"], checked["ws"]) == []


def test_the_evaluate_page_warns_beside_the_scores_when_the_check_flagged_a_split(checked, env):
    result = json.loads(json.dumps(checked["result"]))
    result["shift"] = [{"class_name": "blue_checks", "split": "val", "auc": 0.93, "low": 0.9, "high": 0.96,
                        "control_auc": 0.5, "control_low": 0.4, "control_high": 0.6, "n_train": 10, "n_split": 5,
                        "flagged": True, "level": "warning", "examples": [],
                        "message": "Your validation blue_checks images look different from your training ones."}]
    checked["folder"].write_result(result)
    run = RunFolder(write_run(env, "20250101-120000-mobilenetv2-fe"))
    run.write_config(TrainConfig(data=checked["data"], weights="none", image_size=32))  # a run of the checked data
    at = open_page(PAGES[3])
    assert_clean(at)
    assert any("look different" in w.value for w in at.warning)


def test_a_subject_pattern_that_matches_nothing_is_an_error_not_a_crash(env):
    select_dataset(env)
    at = open_page(PAGES[0])
    at.radio(key="data_group_way").set_value("pattern").run()
    at.text_input(key="data_group_pattern").input(r"^(patient\d+)_").run()
    at.button(key="data_group_apply").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("matches none" in e and "Fix" in e for e in errors), errors
    assert any(r"^(patient\d+)_" in shown(e) and r"\_" in e for e in errors), errors  # shown as typed, not italics
    assert not any("No images chosen yet" in i.value for i in at.info)  # they are chosen: the setting is the problem
