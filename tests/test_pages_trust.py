"""The pages of "trust your model" as a user meets them (AppTest): figures with intervals, the
calibration, the threshold picker and its "Use this threshold", "I don't know", the Predict page
following the saved threshold, the Runs page comparing runs, and runs trained before all this.

The runs are trained for real (tlcore.train on small generated images and a random MobileNetV2),
once per module, and copied into each test's workspace.
"""

# ruff: noqa: F811  (the tests take the imported `env` fixture as a parameter)
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import _tiny_image, _write_tiny_dataset
from PIL import Image
from test_pages import (  # noqa: F401  (env: a fixture)
    PAGES,
    SESSION,
    assert_clean,
    env,
    open_page,
    select_dataset,
    shown,
    texts,
    write_run,
)

from tlcore.config import TrainConfig
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.workspace import Workspace

TWO = "20250102-090000-two-classes"
THREE = "20250102-100000-three-classes"
OLD = "20250101-120000-mobilenetv2-fe"
EVALUATE, PREDICT, RUNS = PAGES[3], PAGES[4], PAGES[5]


def write_two_class_dataset(root: Path, seed: int = 3) -> Path:
    """healthy / sick with train, val and test folders; one sick picture in four looks healthy,
    so no threshold is perfect and moving it changes the figures."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", 24), ("val", 10), ("test", 10)):
        for label, name in ((0, "healthy"), (2, "sick")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                looks = 0 if label == 2 and i % 4 == 3 else label
                Image.fromarray(_tiny_image(looks, rng)).save(folder / f"{name}_{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory, random_weights) -> dict[str, Path]:
    """A two-class run (with a test split) and a three-class run, trained once for the module."""
    base = tmp_path_factory.mktemp("trust_runs")
    ws = Workspace(base / "ws")
    settings = dict(weights=random_weights, layer="block_2_add", image_size=32, epochs=30, batch_size=8,
                    learning_rate=1e-2)
    two = write_two_class_dataset(base / "two")
    (base / "three").mkdir()
    three = _write_tiny_dataset(base / "three", 12, seed=1234)
    runs = {}
    for run_id, data in ((TWO, two), (THREE, three)):
        result = train(TrainConfig(data=str(data), **settings), base / "runs" / run_id, workspace=ws)
        assert result.status == "finished"
        runs[run_id] = base / "runs" / run_id
    return runs


def add_run(env, trained, run_id: str) -> RunFolder:
    """A trained run copied into this test's session (its evaluation names pictures outside, which stay)."""
    target = env["session_dir"] / "runs" / run_id
    shutil.copytree(trained[run_id], target)
    return RunFolder(target)


def metrics(at) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def headers(at) -> list[str]:
    return [h.value for h in at.header]


def frame_with(at, column: str):
    """The table (a pandas DataFrame) that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def counts_line(at) -> str:
    """The validation matrix in words (the first one; the test pictures' comes second)."""
    return next(shown(m.value) for m in at.markdown if "it finds" in m.value)


# --------------------------------------------------------------------------- Evaluate
def test_a_two_class_run_shows_intervals_calibration_threshold_and_unknown(env, trained):
    add_run(env, trained, TWO)
    at = open_page(EVALUATE)
    assert_clean(at)
    shown_metrics = metrics(at)
    assert "(" in shown_metrics["Accuracy"] and "–" in shown_metrics["Accuracy"], shown_metrics
    assert "(" in next(v for k, v in shown_metrics.items() if k.startswith("Sensitivity for"))
    assert "95 % interval" in texts(at)
    titles = headers(at)
    for title in ("Can you believe the percentages?", "Where the cut-off goes", "say “I don't know”"):
        assert any(title in t for t in titles), titles
    assert "Calibration error after" in shown_metrics
    charts = [c.proto.id for c in at.get("plotly_chart")]
    for key in ("eval_reliability", "eval_roc", "eval_pr", "eval_op_cm_val", "eval_op_cm_test"):
        assert any(key in c for c in charts), (key, charts)
    assert at.radio(key="eval_op_rule").value == "default"
    assert at.button(key="eval_op_use").disabled  # the saved threshold is the one shown
    assert at.radio(key="eval_op_strictness").value == "normal"
    assert "Test pictures" in texts(at) and "honest" in texts(at)
    assert not any("trained before" in i.value for i in at.info)


def test_the_threshold_picker_changes_the_figures(env, trained):
    add_run(env, trained, TWO)
    at = open_page(EVALUATE)
    at.radio(key="eval_op_rule").set_value("manual").run()
    at.slider(key="eval_op_exact").set_value(0.0).run()
    assert_clean(at)
    everything = counts_line(at)
    assert "finds **10** and misses **0**" in everything and "calls **10** sick" in everything, everything
    at.slider(key="eval_op_exact").set_value(1.0).run()
    nothing = counts_line(at)
    assert "finds **0** and misses **10**" in nothing, nothing
    # A target sensitivity: on the validation pictures it is reached, whatever the test ones say.
    at.radio(key="eval_op_rule").set_value("sensitivity").run()
    at.slider(key="eval_op_target").set_value(99.0).run()
    assert_clean(at)
    assert "misses **0**" in counts_line(at)
    val_table = next(m.value for m in at.markdown if "At this threshold" in m.value)  # validation comes first
    assert "| **Sensitivity** — share of sick pictures found | 100.0 % (" in val_table, val_table
    assert not at.button(key="eval_op_use").disabled


def _choose_and_use(rule: str, slider: str, value: float):
    """On Evaluate: pick ``rule``, set its slider, press "Use this threshold"."""
    at = open_page(EVALUATE)
    at.radio(key="eval_op_rule").set_value(rule).run()
    at.slider(key=slider).set_value(value).run()
    at.button(key="eval_op_use").click().run()
    assert_clean(at)
    return at


def test_use_this_threshold_saves_it_and_predict_follows_it(env, trained):
    run = add_run(env, trained, TWO)
    at = _choose_and_use("sensitivity", "eval_op_target", 99.0)
    trust = run.trust()
    assert trust["rule"] == "sensitivity" and trust["target"] == pytest.approx(0.99)
    assert run.evaluation()["operating_point"]["threshold"] == pytest.approx(trust["threshold"])
    assert run.config().threshold_rule == "sensitivity"
    assert any("Predict page" in s.value and f"{trust['threshold']:.3f}" in s.value for s in at.success)
    assert at.button(key="eval_op_use").disabled  # what is shown is now what is saved

    predict = open_page(PREDICT)
    picture = io.BytesIO()
    Image.fromarray(_tiny_image(2, np.random.default_rng(0))).save(picture, format="PNG")
    predict.file_uploader(key="predict_upload").set_value([("sick.png", picture.getvalue(), "image/png")]).run()
    assert_clean(predict)
    said = "\n".join(i.value for i in predict.info)
    assert f"threshold {trust['threshold']:.3f}" in said and "sensitivity" in said, said
    assert not any("The model is confident" in t for t in texts(predict).splitlines())


def test_an_exact_threshold_is_saved_as_typed(env, trained):
    run = add_run(env, trained, TWO)
    at = _choose_and_use("manual", "eval_op_exact", 0.25)
    assert run.trust()["threshold"] == pytest.approx(0.25)
    assert at.radio(key="eval_op_rule").value == "manual"
    # Away and back: the choices are kept (the exact slider's too, though hidden behind another rule).
    at.radio(key="eval_op_rule").set_value("balanced").run()
    at.switch_page(PREDICT).run()
    at.switch_page(EVALUATE).run()
    assert_clean(at)
    assert at.radio(key="eval_op_rule").value == "balanced"
    assert "Saved with the run now: **0.250**" in texts(at)
    at.radio(key="eval_op_rule").set_value("manual").run()
    assert at.slider(key="eval_op_exact").value == pytest.approx(0.25)


def test_the_strictness_shows_the_share_answered_i_dont_know_and_is_saved(env, trained):
    run = add_run(env, trained, TWO)
    at = open_page(EVALUATE)
    lines = [m.value for m in at.markdown if "answered “I don't know”" in m.value]
    assert len(lines) == 2, lines  # validation and test
    at.radio(key="eval_op_strictness").set_value("off").run()
    assert_clean(at)
    assert all("**0.0 %**" in m.value for m in at.markdown if "answered “I don't know”" in m.value)
    at.button(key="eval_unknown_use").click().run()
    assert_clean(at)
    assert run.trust()["strictness"] == "off"
    assert run.evaluation()["unknown"]["share"] == 0.0


def test_a_three_class_run_has_no_threshold_but_recall_intervals(env, trained):
    add_run(env, trained, THREE)
    at = open_page(EVALUATE)
    assert_clean(at)
    assert not any("cut-off" in t for t in headers(at))
    frame = frame_with(at, "recall interval")
    assert "recall interval" in frame.columns and frame["recall interval"].str.endswith("%").all()
    assert any("say “I don't know”" in t for t in headers(at))


def test_a_run_trained_before_these_figures_still_renders_and_says_so_once(env, trained):
    select_dataset(env)
    write_run(env, OLD)
    at = open_page(EVALUATE)
    assert_clean(at)
    notes = [i.value for i in at.info if "trained before" in i.value]
    assert len(notes) == 1 and "Train it again" in notes[0]
    assert metrics(at)["Accuracy"] == "80.0 %"
    assert not any(w.key == "eval_op_rule" for w in at.radio)
    for page in (PREDICT, RUNS):
        assert_clean(open_page(page))


def test_where_the_model_looks_in_the_mistakes(env, trained):
    add_run(env, trained, TWO)
    at = open_page(EVALUATE)
    before = len(at.image)
    assert before >= 1, "the two-class run gets some pictures wrong"
    at.toggle(key="eval_heatmaps").set_value(True).run()
    assert_clean(at)
    assert len(at.image) == min(before, 12)
    assert "where the model looked" in texts(at)


# --------------------------------------------------------------------------- Predict
def test_predict_answers_i_dont_know_plainly_for_a_picture_unlike_the_training_ones(env, trained):
    run = add_run(env, trained, THREE)
    from tlcore.trust.run import set_operating_point

    set_operating_point(run.path, strictness="strict")
    at = open_page(PREDICT)
    odd = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 255, np.uint8)).save(odd, format="PNG")  # a blank white card
    at.file_uploader(key="predict_upload").set_value([("blank.png", odd.getvalue(), "image/png")]).run()
    assert_clean(at)
    said = texts(at)
    assert "I don't know —" in said and "**Why:**" in said, said
    assert not any(m.value.startswith("### ") and "I don't know" not in m.value for m in at.main.markdown)
    at.selectbox(key="predict_explain").select("answer").run()
    assert_clean(at)
    assert len(at.image) >= 2  # the picture and where the model looks


# --------------------------------------------------------------------------- Runs
def test_the_runs_page_compares_intervals_calibration_threshold_and_unknown(env, trained):
    select_dataset(env)
    add_run(env, trained, TWO)
    add_run(env, trained, THREE)
    write_run(env, OLD)
    at = open_page(RUNS)
    assert_clean(at)
    frame = frame_with(at, "calibration error")
    assert {"accuracy (95 % interval)", "calibration error", "threshold", "“I don't know”"} <= set(frame.columns)
    two = frame[frame["run"] == TWO].iloc[0]
    three = frame[frame["run"] == THREE].iloc[0]
    assert "(" in two["accuracy (95 % interval)"] and two["threshold"].startswith("0.500")
    assert three["threshold"] == "—"  # three classes: no threshold


def test_trust_json_written_by_training_is_what_the_page_starts_from(env, trained):
    """The widgets start at the run's saved choice, not at the page's defaults."""
    run = add_run(env, trained, TWO)
    trust = run.trust()
    trust.update(rule="specificity", target=0.9)
    run.write_trust(trust)
    at = open_page(EVALUATE)
    assert_clean(at)
    assert at.radio(key="eval_op_rule").value == "specificity"
    assert at.slider(key="eval_op_target").value == pytest.approx(90.0)
    assert json.loads(run.trust_path.read_text())["rule"] == "specificity"


# --------------------------------------------------------------------------- words
def test_the_words_follow_the_calibrated_percentage():
    from ui.answer_views import confidence_words
    from ui.trust_views import trust_row

    assert "fewer than 1 in 100" in confidence_words(0.999, calibrated=True)
    assert "about 20 in 100" in confidence_words(0.8, calibrated=True)
    assert "Close to a guess" in confidence_words(0.4, calibrated=True)
    assert "not calibrated" in confidence_words(0.99, calibrated=False)
    assert trust_row({"accuracy": 0.8}) == {}  # a run trained before: nothing to compare
